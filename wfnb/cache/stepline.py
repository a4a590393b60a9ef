"""The ``%%step`` line: its arguments, and the checked options they give a step.

The magic, the notebook reader (``Workflow.from_notebook``) and the search for a
notebook's step names all read this line; they share one grammar so that a line
means the same everywhere, and ``%%step?`` lists it.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from wfnb.cache.saving import SaveTarget
from wfnb.errors import BadArgument, check_name

USAGE = "%%step NAME [--force] [--no-cache] [--deps PATH ...] [--save NAME=PATH ...]"

_ARGUMENTS = (  # in the order the help lists them
    argument("name", help="the step's name: letters, digits, '_', '-', '.'"),
    argument("--force", action="store_true", help="run even if a cached result exists, and replace it"),
    argument("--no-cache", action="store_true", help="always run (the run is still recorded)"),
    argument("--deps", nargs="+", default=[], metavar="PATH", help="files, directories or globs the step reads"),
    argument(
        "--save",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="also write output NAME to PATH (.csv .parquet .json .pkl); {param} placeholders allowed",
    ),
)

Magic = TypeVar("Magic", bound=Callable[..., object])


def step_arguments(magic: Magic) -> Magic:
    """Give ``magic`` the arguments of a ``%%step`` line (as stacked ``@argument`` decorators would)."""
    for add in reversed(_ARGUMENTS):
        magic = add(magic)
    return magic_arguments()(magic)


@step_arguments
def step(line: str, cell: str) -> None:
    """The grammar alone, for readers of a ``%%step`` line outside the magic."""


@dataclass(frozen=True)
class StepOptions:
    """What ``%%step`` was asked to do, checked."""

    name: str
    force: bool = False
    no_cache: bool = False
    deps: tuple[str, ...] = ()
    saves: tuple[SaveTarget, ...] = ()


def parse_step_line(line: str) -> argparse.Namespace:
    """The arguments of a ``%%step`` line, unchecked; BadArgument if they do not parse."""
    try:
        return parse_argstring(step, line)
    except (UsageError, SystemExit) as error:
        raise BadArgument(f"%%step {line.strip()}: {error}. Usage: {USAGE}") from None


@functools.lru_cache(maxsize=256)
def step_options(line: str) -> StepOptions:
    """The checked options of a ``%%step`` line (kept: the same line gives the same options)."""
    args = parse_step_line(line)
    return StepOptions(
        name=check_name("step", args.name),
        force=args.force,
        no_cache=args.no_cache,
        deps=tuple(args.deps),
        saves=tuple(SaveTarget.parse(text) for text in args.save),
    )
