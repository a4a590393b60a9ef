"""Write data/prices.csv: synthetic daily prices (seeded), with a few gaps to clean.

Run once to regenerate the checked-in file; the demo notebooks read it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def make_prices(days: int = 750, seed: int = 7) -> pd.DataFrame:
    """A geometric random walk with volume, and about 2 % of closes missing."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2022-01-03", periods=days)
    returns = rng.normal(0.0004, 0.012, size=days)
    close = 100 * np.exp(np.cumsum(returns))
    volume = rng.integers(50_000, 150_000, size=days)
    frame = pd.DataFrame({"date": dates, "close": close.round(2), "volume": volume})
    frame.loc[rng.choice(days, size=days // 50, replace=False), "close"] = np.nan
    return frame


if __name__ == "__main__":
    target = Path(__file__).parent / "data" / "prices.csv"
    make_prices().to_csv(target, index=False)
    print(f"wrote {target}")
