"""The README's examples as code: the ```python blocks of one of its sections, one cell each."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks(section: str) -> list[str]:
    """The ```python blocks of the README's ``## {section}``, in order."""
    text = README.read_text()
    marker = f"\n## {section}\n"
    assert marker in text, f"README.md has no section '## {section}'"
    body = text.split(marker, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, flags=re.S)
