"""The global random generators (``random``'s and numpy's): is their state reproducible, and what is it.

A step that draws from a global generator depends on the state it found, but only
if that state could be had again: after ``np.random.seed(0)`` (in this kernel,
before the step) it can; in a kernel where nothing seeded the generator it was
drawn from the operating system's entropy, so every plain run draws other numbers
and a stored result is as good as any. So the seeding functions are wrapped for
the life of the kernel, to know which generators are *seeded*, and while a step
runs, whether it seeded a generator before drawing from it (then the state it
found does not matter).
"""

from __future__ import annotations

import functools
import random
import sys
from collections.abc import Callable
from typing import Any

ENTROPY = "entropy"  # the state of a generator no code seeded: not reproducible, not a dependency
GENERATORS = ("random", "numpy")
_SEEDERS = {"random": ("random", ("seed", "setstate")), "numpy": ("numpy.random", ("seed", "set_state"))}

_seeded = {"random": False, "numpy": False}  # seeded in this kernel: its state can be had again
_wrapped: dict[str, Any] = {}  # generator → the module whose functions are wrapped
_step: list[dict[str, Any]] = []  # the running step's view: start states, and "seeded before drawing"
_hook: Any = None  # the import hook that wraps numpy's seeders once numpy.random is loaded


def install() -> None:
    """Wrap the seeding functions of the generators loaded so far, and numpy's as soon as it is
    imported (a plain cell's ``import numpy as np; np.random.seed(2)`` makes its generator reproducible)."""
    global _hook
    if _hook is None and "numpy.random" not in sys.modules:
        from wfnb.cache.onimport import LoadedThen

        _hook = LoadedThen(frozenset({"numpy.random"}), lambda _name: install())
        sys.meta_path.insert(0, _hook)
    for generator, (module_name, functions) in _SEEDERS.items():
        module = sys.modules.get(module_name)
        if module is None or _wrapped.get(generator) is module:
            continue
        for name in functions:
            original = getattr(module, name)
            if not getattr(original, "_wfnb", False):
                setattr(module, name, _seeder(generator, original, module_name, name))
        _wrapped[generator] = module


def _seeder(generator: str, original: Callable[..., Any], module: str, name: str) -> Callable[..., Any]:
    @functools.wraps(original)
    def seed(*args: Any, **kwargs: Any) -> Any:
        if _step and generator not in _step[-1]["first_seed"]:
            _step[-1]["first_seed"][generator] = _digest(state(generator)) == _step[-1]["start"][generator]
        result = original(*args, **kwargs)
        _seeded[generator] = True
        return result

    seed._wfnb = True  # type: ignore[attr-defined]  # marks wfnb's own wrapper
    seed.__module__, seed.__qualname__ = module, name  # found by its name: hashed as the library function
    return seed


def state(generator: str) -> Any:
    """The generator's state now (None for numpy's if numpy is not imported)."""
    if generator == "random":
        return random.getstate()
    np_random = sys.modules.get("numpy.random")
    return None if np_random is None else np_random.get_state(legacy=False)


def fingerprint(generator: str) -> str:
    """What a step drawing from ``generator`` depends on: its state if reproducible, else ``entropy``."""
    return _digest(state(generator)) if _seeded[generator] else ENTROPY


def is_seeded(generator: str) -> bool:
    return _seeded[generator]


def restore(generator: str, value: Any, seeded: bool) -> None:
    """Put a generator in the state a step left it in, as reproducible as it was then."""
    if generator == "random":
        random.Random.setstate(random._inst, value)
    else:
        import numpy as np

        np.random.mtrand._rand.set_state(value)
    _seeded[generator] = seeded


class StepDraws:
    """While a step runs: which generators it seeded before drawing from them."""

    def __enter__(self) -> StepDraws:
        install()
        self.start = {generator: _digest(state(generator)) for generator in GENERATORS}
        self.first_seed: dict[str, bool] = {}
        self.seeded_at_start = dict(_seeded)
        _step.append({"start": self.start, "first_seed": self.first_seed})
        return self

    def __exit__(self, *exc: Any) -> None:
        _step.pop()

    def depended_on(self, generator: str, after: Any) -> bool:
        """Whether the step drew from ``generator`` before (or without) seeding it."""
        return _digest(after) != self.start[generator] and not self.first_seed.get(generator, False)

    def found(self, generator: str) -> str:
        """The probe value of the state the step found (``entropy`` if it was not reproducible)."""
        return self.start[generator] if self.seeded_at_start[generator] else ENTROPY


def _digest(value: Any) -> str:
    if value is None:
        return "unloaded"
    from wfnb.cache.hashing import hash_value

    return hash_value(value)
