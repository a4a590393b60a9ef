"""The table's filter, read the way an analyst writes it: ``accuracy > 0.99 and C == 10``, ``tag:baseline``.

A filter is terms combined with ``and`` (also a comma or a plain space), ``or``,
``not`` and parentheses. A term is

- a comparison ``NAME OP VALUE`` with ``OP`` one of ``== = != > >= < <=`` and
  ``~`` (contains): ``NAME`` is a parameter or a metric (``params.C`` or
  ``metrics.C`` when both exist), or ``variant`` (its number). Numbers compare
  as numbers, so ``C == 10`` matches 10 and 10.0 but never 100;
- ``tag:NAME``, ``step:NAME`` (a step that changed), ``status:stale``,
  ``workflow:NAME``, with ``tagged`` for any tag;
- a plain word: the variant (``v3``, exactly), or part of a tag, a note, a
  changed step's name, the status or the workflow.

A filter that cannot be read raises ``QueryError``, whose message says where
and shows how to write it: never a silent "matches nothing".
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from wfnb.errors import BadArgument
from wfnb.frontends.browser.table import Row, is_number

__all__ = ["QueryError", "compile_query"]

Predicate = Callable[[Row], bool]
HELP = (
    "Write comparisons such as accuracy > 0.99, C == 10 or kernel = rbf; tag:baseline, step:train, "
    "status:stale; combine them with and, or, not and parentheses."
)
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"[^"]*"|'[^']*')
      | (?P<op>==|!=|>=|<=|=|>|<|~)
      | (?P<paren>[()])
      | (?P<comma>,)
      | (?P<word>[^\s()<>=!~,"']+)
    )""",
    re.VERBOSE,
)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "=": operator.eq, "!=": operator.ne,
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
}
_FIELDS = ("tag", "step", "status", "workflow")
_KEYWORDS = {"and", "or", "not"}


class QueryError(BadArgument):
    """A filter the table cannot read; its message says where, and how to write one."""


@dataclass(frozen=True)
class _Token:
    kind: str  # string, op, paren, comma, word
    text: str
    at: int


def compile_query(text: str, params: Sequence[str], metrics: Sequence[str]) -> Predicate | None:
    """A predicate over rows for ``text`` (None: no filter), knowing the table's parameter and metric names."""
    tokens = _tokens(text)
    if not tokens:
        return None
    parser = _Parser(text, tokens, list(params), list(metrics))
    predicate = parser.expression()
    if parser.pos < len(tokens):
        parser.fail(f"'{tokens[parser.pos].text}' is not expected here")
    return predicate


def _tokens(text: str) -> list[_Token]:
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            if text[pos:].strip():
                unclosed = text[pos:].lstrip()[:1] in "\"'"
                what = "a quote is not closed" if unclosed else f"'{text[pos:].strip()[:12]}' cannot be read"
                raise QueryError(f"Cannot read the filter {text!r}: {what}. {HELP}")
            break
        kind = match.lastgroup or ""
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    return tokens


class _Parser:
    """Recursive descent over the tokens: or → and → not → term."""

    def __init__(self, text: str, tokens: list[_Token], params: list[str], metrics: list[str]) -> None:
        self.text, self.tokens, self.pos = text, tokens, 0
        self.params, self.metrics = params, metrics

    def fail(self, why: str) -> None:
        raise QueryError(f"Cannot read the filter {self.text!r}: {why}. {HELP}")

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text.lower() == word:
            self.pos += 1
            return True
        return False

    def expression(self) -> Predicate:
        terms = [self.conjunction()]
        while self.keyword("or"):
            terms.append(self.conjunction())
        return terms[0] if len(terms) == 1 else (lambda row: any(term(row) for term in terms))

    def conjunction(self) -> Predicate:
        terms = [self.negation()]
        while True:
            token = self.peek()
            if token is None or (token.kind == "paren" and token.text == ")") or (token.kind == "word" and token.text.lower() == "or"):
                break
            if token.kind == "comma" or self.keyword("and"):
                if token.kind == "comma":
                    self.pos += 1
                if self.peek() is None:
                    self.fail(f"'{token.text}' needs a term after it")
            terms.append(self.negation())
        return terms[0] if len(terms) == 1 else (lambda row: all(term(row) for term in terms))

    def negation(self) -> Predicate:
        if self.keyword("not"):
            inner = self.negation()
            return lambda row: not inner(row)
        token = self.peek()
        if token is not None and token.kind == "paren" and token.text == "(":
            self.pos += 1
            inner = self.expression()
            closing = self.peek()
            if closing is None or closing.text != ")":
                self.fail("a '(' is not closed")
            self.pos += 1
            return inner
        return self.term()

    def term(self) -> Predicate:
        token = self.peek()
        if token is None:
            self.fail("a term is missing at the end")
        assert token is not None
        if token.kind not in ("word", "string"):
            self.fail(f"'{token.text}' cannot start a term")
        if token.kind == "word" and token.text.lower() in _KEYWORDS:
            self.fail(f"'{token.text}' needs a term before it")
        self.pos += 1
        following = self.peek()
        if following is not None and following.kind == "op":
            self.pos += 1
            value = self.peek()
            if value is None or value.kind not in ("word", "string"):
                self.fail(f"'{token.text} {following.text}' needs a value after it")
            assert value is not None
            self.pos += 1
            return self.comparison(token.text, following.text, _value(value))
        if token.kind == "word" and ":" in token.text:
            field, _, wanted = token.text.partition(":")
            if field.lower() in _FIELDS:
                return _field(field.lower(), wanted)
        return _word(_unquote(token.text).lower())

    def comparison(self, name: str, op: str, wanted: Any) -> Predicate:
        source, key = self.resolve(name)
        if source == "variant":
            if not is_number(wanted):
                self.fail(f"variant is a number, e.g. variant >= 10, not {wanted!r}")
            return _compare(lambda row: row.number, op, wanted)
        return _compare((lambda row: row.params.get(key)) if source == "params" else (lambda row: row.metrics.get(key)), op, wanted)

    def resolve(self, name: str) -> tuple[str, str]:
        prefix, dot, rest = name.partition(".")
        if dot and prefix.lower() in ("params", "param", "metrics", "metric"):
            source = "params" if prefix.lower().startswith("param") else "metrics"
            if rest in (self.params if source == "params" else self.metrics):
                return source, rest
            name = rest
        elif name in self.params:
            return "params", name
        elif name in self.metrics:
            return "metrics", name
        elif name.lower() in ("variant", "number"):
            return "variant", ""
        known = f"parameters: {', '.join(self.params) or 'none'}; metrics: {', '.join(self.metrics) or 'none'}"
        close = [n for n in [*self.params, *self.metrics] if n.lower() == name.lower()]
        hint = f" (names are case-sensitive: {close[0]}?)" if close else ""
        self.fail(f"no parameter or metric is named {name!r}{hint} ({known})")
        raise AssertionError  # fail raised


def _value(token: _Token) -> Any:
    """A comparison's value: a number, true/false/none, else the text (quotes removed)."""
    if token.kind == "string":
        return token.text[1:-1]
    lowered = token.text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    try:
        number = json.loads(token.text)
    except ValueError:
        try:
            number = float(token.text)
        except ValueError:
            return token.text
    return number if is_number(number) else token.text


def _compare(read: Callable[[Row], Any], op: str, wanted: Any) -> Predicate:
    """Rows whose value stands in ``op`` to ``wanted``; a row without the value never matches."""
    if op == "~":
        needle = str(wanted).lower()
        return lambda row: (value := read(row)) is not None and needle in _text(value).lower()
    test = _COMPARE[op]

    def match(row: Row) -> bool:
        value = read(row)
        if value is None or wanted is None:
            return test(value, wanted) if op in ("==", "=", "!=") else False
        if is_number(value) and is_number(wanted):
            return not (isinstance(value, float) and math.isnan(value)) and test(value, wanted)
        if isinstance(value, bool) or isinstance(wanted, bool):
            return op in ("==", "=", "!=") and test(value, wanted)
        if is_number(value) != is_number(wanted):
            return op == "!="  # a number is never equal to, nor ordered with, a text
        return test(_text(value).lower(), _text(wanted).lower())

    return match


def _field(field: str, wanted: str) -> Predicate:
    wanted = _unquote(wanted).lower()
    if field == "tag":
        return lambda row: any(tag.lower() == wanted for tag in row.tags) if wanted not in ("", "*") else bool(row.tags)
    if field == "step":
        return lambda row: any(step.lower() == wanted for step in row.changed)
    if field == "status":
        return lambda row: row.status == wanted
    return lambda row: row.workflow.lower() == wanted


def _word(word: str) -> Predicate:
    """A plain word: the variant by name (exactly), 'tagged', or part of the row's text."""
    if re.fullmatch(r"(?:[\w.\-]+/)?v\d+", word):
        return lambda row: word in (row.name, row.ref.lower())
    if word == "tagged":
        return lambda row: bool(row.tags)
    return lambda row: word in row.text


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'" else text


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value) if isinstance(value, (list, dict)) else str(value)
