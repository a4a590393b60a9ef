"""IPython syntax in a cell (``%time``, ``!ls``, ``x = !cmd``) turned into plain Python, or into a comment.

An exported script must run with ``python script.py``, and a replay runs a
step's code in a fresh namespace: in neither is there a ``get_ipython()``
that would act on that namespace. IPython itself decides which lines are
magics (its transformer turns them into ``get_ipython()`` calls and leaves
strings and comments alone); this module only rewrites those calls, line by
line, so that every other line stays exactly as the user wrote it.

For a script, a magic with no plain equivalent becomes a comment. For running
(``strict``), only magics that change nothing a step computes may be left out
(``%matplotlib``, ``%timeit``, ``%load_ext``, …); any other is an error, not a
silently different run.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from wfnb.errors import BadArgument

# `%time x = f()` is `x = f()`: the timing is dropped, the statement kept.
_RUN_ARGUMENT = frozenset({"time", "prun"})
# Magics that only set up the display, time, or look things up: leaving them out changes no value.
_HARMLESS = frozenset(
    {"matplotlib", "config", "load_ext", "reload_ext", "autoreload", "aimport", "precision", "xmode", "timeit",
     "pinfo", "pinfo2", "psearch", "pdoc", "pdef", "psource", "pfile", "who", "whos", "history", "lsmagic"}
)
_CALL = re.compile(r"^(?P<indent>\s*)(?P<target>[^=]+=\s*)?get_ipython\(\)\.(?P<method>\w+)\((?P<args>.*)\)\s*$")
_DOLLAR_NAME = re.compile(r"(?<!\$)\$([A-Za-z_]\w*)")


@dataclass
class PlainCode:
    """A cell as plain Python, and the modules its rewritten lines need (``os``, ``subprocess``)."""

    code: str
    needs: set[str] = field(default_factory=set)


def to_plain_python(source: str, *, strict: bool = False) -> PlainCode:
    """Rewrite the IPython syntax of ``source`` as plain Python; lines without any are kept as they are.

    With ``strict`` (code about to run), the rewritten lines bind no new name
    (``__import__("os")`` instead of ``import os``), and a magic that cannot be
    rewritten or safely left out raises ``BadArgument``.
    """
    from IPython.core.inputtransformer2 import TransformerManager

    transformed = TransformerManager().transform_cell(source)
    if "get_ipython()" not in transformed:
        return PlainCode(source)
    rewriter = _Rewriter(strict)
    lines = [rewriter.rewrite(line) for line in transformed.splitlines()]
    return PlainCode("\n".join(lines) + "\n", rewriter.needs)


class _Rewriter:
    """Rewrites one ``get_ipython()`` line at a time; collects the modules the result needs."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.needs: set[str] = set()

    def module(self, name: str) -> str:
        if self.strict:
            return f"__import__({name!r})"
        self.needs.add(name)
        return name

    def rewrite(self, line: str) -> str:
        match = _CALL.match(line)
        if match is None:
            return line
        indent, target, method = match["indent"], match["target"] or "", match["method"]
        try:
            args = ast.literal_eval(f"({match['args']},)")
        except (ValueError, SyntaxError):
            return self.left_out(indent, target, line.strip(), "")
        if method == "run_line_magic" and len(args) == 2:
            return self.line_magic(indent, target, *args)
        if method == "run_cell_magic" and len(args) == 3:
            return self.cell_magic(indent, *args)
        if method == "system" and len(args) == 1:
            return f"{indent}{target}{self.module('subprocess')}.run({_command(args[0])}, shell=True)"
        if method == "getoutput" and len(args) == 1:
            run = f"{self.module('subprocess')}.run({_command(args[0])}, shell=True, capture_output=True, text=True)"
            return f"{indent}{target}{run}.stdout.splitlines()"
        return self.left_out(indent, target, line.strip(), "")

    def line_magic(self, indent: str, target: str, name: str, argument: str) -> str:
        if name in _RUN_ARGUMENT and argument.strip():
            return f"{indent}{target}{argument.strip()}  # was: %{name}"
        if name == "cd" and argument.strip():
            return f"{indent}{target}{self.module('os')}.chdir({argument.strip()!r})"
        if name == "pwd":
            return f"{indent}{target}{self.module('os')}.getcwd()"
        if name == "env" and "=" in argument:
            key, _, value = argument.partition("=")
            return f"{indent}{self.module('os')}.environ[{key.strip()!r}] = {value.strip()!r}"
        return self.left_out(indent, target, f"%{name} {argument}".strip(), name)

    def cell_magic(self, indent: str, name: str, line: str, body: str) -> str:
        if name in _RUN_ARGUMENT | {"capture"}:
            kept = [f"{indent}# was: %%{name} {line}".rstrip()] + [f"{indent}{text}" for text in body.splitlines()]
            return "\n".join(kept)
        if self.strict:
            self.refuse(f"%%{name}")
        commented = "\n".join(f"{indent}# {text}" for text in body.splitlines())
        return f"{indent}# IPython cell magic %%{name} {line}: not available in a plain script; its body was:\n{commented}"

    def left_out(self, indent: str, target: str, what: str, magic: str) -> str:
        if self.strict and magic not in _HARMLESS:
            self.refuse(what)
        return _left_out(indent, target, what)

    @staticmethod
    def refuse(what: str) -> None:
        raise BadArgument(
            f"This step uses the IPython command {what!r}, which cannot run outside the notebook's own namespace, "
            "so a replay or a workflow run would not compute what the notebook did. Write it as plain Python "
            "in the step (e.g. os.chdir(...), subprocess.run(...))."
        )


def _left_out(indent: str, target: str, what: str) -> str:
    if target:
        return f"{indent}{target}None  # IPython only, not available in a plain script: {what}"
    return f"{indent}pass  # IPython only, not available in a plain script: {what}"


def _command(command: str) -> str:
    """A shell command as a Python expression: IPython's ``{expr}`` and ``$name`` become an f-string."""
    if "{" not in command and "$" not in command:
        return repr(command)
    text = _DOLLAR_NAME.sub(r"{\1}", command).replace("$$", "$")
    return "f" + repr(text)
