"""Which branch of a choice a step took: ``if method == "ewm": … else: …``, or a step skipped under a parameter.

A choice step computes different things depending on its inputs; its variant
should say which path ran, so that variants can be grouped by it and two
variants that differ only in the branch taken compare cleanly.

No per-call tracing hook is affordable on Python 3.10 and 3.11 (see
docs/hashing.md), so the branches are marked instead: while a step runs, its
code is compiled with a call at the start of each branch body of its top-level
choices (``if``/``elif``/``else``, ``match`` cases, conditional expressions
``a if c else b``), which records the branch's id. An ``if`` without ``else`` (a
``match`` without ``case _``) gets one, holding only the call: not taking the
branch is a path too (``skipped``). The calls carry the line numbers of the code
they precede, so tracebacks are unchanged, and the step's key is made from the
code as written, so keys do not change. Choices inside loops, functions and
classes are not marked: they may run many times, or never, per step.

The IPython shell compiles a step through ``shell.ast_transformers``; a replay's
``NamespaceHost`` compiles the code itself and calls ``mark``. Either way the
marks only exist while ``recording`` is active (the runner's miss path).
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

RECORDER_NAME = "__wfnb_branch__"  # a builtin only while a step runs
SKIPPED = "skipped"  # the path of an `if` without `else` that was not taken
NO_CASE = "no case matched"
_LABEL_LIMIT = 60


@dataclass
class Point:
    """One choice in a step's code: its line and the label of each of its paths."""

    line: int
    paths: list[str]


@dataclass
class Recorder:
    """The choices of one run, and which path each one took (the first time it was reached)."""

    points: list[Point] = field(default_factory=list)
    taken: dict[int, int] = field(default_factory=dict)

    def __call__(self, point: int, path: int) -> None:
        self.taken.setdefault(point, path)

    def summary(self) -> list[dict[str, Any]]:
        """The choices reached, in the order of their lines: ``{"line", "taken", "paths"}`` each."""
        reached = sorted(self.taken.items(), key=lambda item: (self.points[item[0]].line, item[0]))
        return [{"line": self.points[p].line, "taken": self.points[p].paths[k], "paths": list(self.points[p].paths)} for p, k in reached]


def describe(branches: Any) -> str:
    """A record's ``branches`` as one short text: ``else``, or ``line 2: else; line 7: skipped``."""
    if not isinstance(branches, list) or not branches:
        return ""
    points = [b for b in branches if isinstance(b, dict) and isinstance(b.get("taken"), str)]
    if len(points) == 1:
        return points[0]["taken"]
    return "; ".join(f"line {b.get('line')}: {b['taken']}" for b in points)


_active: list[Recorder] = []


@contextmanager
def recording() -> Iterator[Recorder]:
    """While the block runs, steps compiled by the hosts are marked, and their branches recorded here."""
    recorder = Recorder()
    previous = getattr(builtins, RECORDER_NAME, None)
    setattr(builtins, RECORDER_NAME, recorder)
    _active.append(recorder)
    try:
        yield recorder
    finally:
        _active.remove(recorder)
        if previous is None:
            delattr(builtins, RECORDER_NAME)
        else:
            setattr(builtins, RECORDER_NAME, previous)


def active() -> Recorder | None:
    return _active[-1] if _active else None


@contextmanager
def marking(shell: Any) -> Iterator[None]:
    """Have ``shell`` mark the cells it compiles in the block, if a recording is active."""
    recorder = active()
    if recorder is None:
        yield
        return
    marker = ShellMarker(recorder)
    shell.ast_transformers.append(marker)
    try:
        yield
    finally:
        if marker in shell.ast_transformers:
            shell.ast_transformers.remove(marker)


def mark(tree: ast.Module) -> ast.Module:
    """``tree`` with its branches marked for the active recording (unchanged if there is none)."""
    recorder = active()
    if recorder is None:
        return tree
    try:
        marked = _Marking(recorder).module(tree)
    except Exception:  # noqa: BLE001 - never break the user's code over a bookkeeping mark
        return tree
    return ast.fix_missing_locations(marked)


class ShellMarker(ast.NodeTransformer):
    """An IPython AST transformer (``shell.ast_transformers``) marking a cell's branches."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def visit(self, node: ast.AST) -> ast.AST:
        if not isinstance(node, ast.Module):
            return node
        try:
            return _Marking(self.recorder).module(node)
        except Exception:  # noqa: BLE001 - never break the user's code over a bookkeeping mark
            return node


class _Marking:
    """One pass over a module's top-level statements, registering each choice with the recorder."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def module(self, tree: ast.Module) -> ast.Module:
        tree.body = self.block(tree.body)
        return tree

    def block(self, body: list[ast.stmt]) -> list[ast.stmt]:
        for stmt in body:
            if isinstance(stmt, ast.If):
                self.choice(stmt)
            elif isinstance(stmt, ast.Match):
                self.match(stmt)
            elif isinstance(stmt, (ast.With, ast.AsyncWith)):
                stmt.body = self.block(stmt.body)
            elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
                stmt.body = self.block(stmt.body)  # type: ignore[attr-defined]  # ast.Try, or 3.11's TryStar
                stmt.orelse = self.block(stmt.orelse)  # type: ignore[attr-defined]  # ast.Try, or 3.11's TryStar
                stmt.finalbody = self.block(stmt.finalbody)  # type: ignore[attr-defined]  # ast.Try, or 3.11's TryStar
            elif isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr)):
                _Expressions(self).visit(stmt)
        return body

    def choice(self, stmt: ast.If) -> None:
        """``if a: … elif b: … else: …`` is one choice with three paths."""
        chain = [stmt]
        while len(chain[-1].orelse) == 1 and isinstance(chain[-1].orelse[0], ast.If):
            chain.append(chain[-1].orelse[0])
        _Expressions(self).visit(stmt.test)
        paths = [("if " if i == 0 else "elif ") + _label(branch.test) for i, branch in enumerate(chain)]
        last = chain[-1]
        paths.append("else" if last.orelse else SKIPPED)
        point = self._register(stmt.lineno, paths)
        for index, branch in enumerate(chain):
            branch.body = [self._call(point, index, branch.body[0]), *self.block(branch.body)]
        if last.orelse:
            last.orelse = [self._call(point, len(chain), last.orelse[0]), *self.block(last.orelse)]
        else:
            last.orelse = [self._call(point, len(chain), last)]

    def match(self, stmt: ast.Match) -> None:
        paths = ["case " + _label(case.pattern) + (f" if {_label(case.guard)}" if case.guard else "") for case in stmt.cases]
        irrefutable = bool(stmt.cases) and _irrefutable(stmt.cases[-1])
        if not irrefutable:
            paths.append(NO_CASE)
        point = self._register(stmt.lineno, paths)
        for index, case in enumerate(stmt.cases):
            case.body = [self._call(point, index, case.body[0]), *self.block(case.body)]
        if not irrefutable:
            wildcard = ast.match_case(pattern=ast.MatchAs(), guard=None, body=[self._call(point, len(stmt.cases), stmt)])
            ast.copy_location(wildcard.pattern, stmt)
            stmt.cases.append(wildcard)

    def conditional(self, node: ast.IfExp) -> ast.expr:
        """``a if c else b``: each side is evaluated after a call that records it."""
        point = self._register(node.lineno, ["if " + _label(node.test), "else"])
        node.body = self._wrapped(point, 0, node.body)
        node.orelse = self._wrapped(point, 1, node.orelse)
        return node

    def _register(self, line: int, paths: list[str]) -> int:
        self.recorder.points.append(Point(line, paths))
        return len(self.recorder.points) - 1

    def _call(self, point: int, path: int, where: ast.AST) -> ast.stmt:
        call = ast.Call(ast.Name(RECORDER_NAME, ast.Load()), [ast.Constant(point), ast.Constant(path)], [])
        statement = ast.Expr(call)
        for node in (statement, call, call.func, *call.args):
            ast.copy_location(node, where)
        return statement

    def _wrapped(self, point: int, path: int, value: ast.expr) -> ast.expr:
        call = self._call(point, path, value).value  # type: ignore[attr-defined]  # _call builds an ast.Expr
        wrapped = ast.BoolOp(ast.Or(), [call, value])  # the call returns None: the value is the side's own
        return ast.copy_location(wrapped, value)


class _Expressions(ast.NodeTransformer):
    """The conditional expressions a statement evaluates once: not those in lambdas or comprehensions."""

    def __init__(self, marking: _Marking) -> None:
        self.marking = marking

    def visit_IfExp(self, node: ast.IfExp) -> ast.expr:
        self.generic_visit(node)
        return self.marking.conditional(node)

    def _skip(self, node: ast.AST) -> ast.AST:
        return node

    visit_Lambda = visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _skip


def _label(node: ast.AST) -> str:
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= _LABEL_LIMIT else text[: _LABEL_LIMIT - 1] + "…"


def _irrefutable(case: ast.match_case) -> bool:
    pattern = case.pattern
    while isinstance(pattern, ast.MatchAs) and pattern.pattern is not None:
        pattern = pattern.pattern
    return case.guard is None and isinstance(pattern, ast.MatchAs) and pattern.pattern is None
