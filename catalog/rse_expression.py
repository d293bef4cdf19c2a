"""Rucio-style RSE expressions: which storage endpoints does ``type=GROUPDISK&physgroup=phys-susy`` mean?

Grammar (after Rucio's ``rse_expression_parser``)::

    expression := term (operator term)*      operator: '&' intersection, '|' union, '\\' difference
    term       := '(' expression ')' | '*' | key | key '=' value | key '<' number | key '>' number

Operators have NO precedence over one another: they apply left to right, and only parentheses group, so
``a|b&c`` means ``(a|b)&c`` (Rucio's rule; ``type=SCRATCHDISK&cloud=IT|cloud=FR`` is not
``type=SCRATCHDISK&(cloud=IT|cloud=FR)``). Spaces between tokens are ignored.

A bare term matches an endpoint whose name it is, or whose attribute of that key is true (Rucio gives every
RSE a true attribute named after itself), or whose token ``type`` it is, so ``GROUPDISK`` means all group
disks without every endpoint having to carry a ``GROUPDISK: True`` attribute. Keys and values compare
case-insensitively (Rucio's physgroup values are lower case, RSE names upper case); ``<``/``>`` compare
numbers, and an endpoint without a numeric value for the key does not match.

Endpoints are mappings ``{"name": ..., "type": ..., "site": ..., ...}`` or objects with a
``rse_attributes() -> dict`` method (which includes ``name``). Pure Python: no Django here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

OPERATORS = "&|\\"
_WORD_CHARS = re.compile(r"[A-Za-z0-9._-]+", re.ASCII)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?", re.ASCII)


class RSEExpressionError(ValueError):
    """A malformed expression; ``position`` is the 1-based character where the problem is (0 if none)."""

    def __init__(self, message: str, position: int = 0):
        super().__init__(message)
        self.position = position


@dataclass(frozen=True)
class Term:
    """One primitive: ``*``, a bare key, or ``key=value`` / ``key<number`` / ``key>number``."""

    key: str  # lower case; '*' for all endpoints
    comparison: str | None = None  # None for a bare key or '*'
    value: str | None = None

    def matches(self, attrs: Mapping[str, Any]) -> bool:
        if self.key == "*":
            return True
        if self.comparison is None:
            return (
                str(attrs.get("name", "")).lower() == self.key
                or _is_true(attrs.get(self.key))
                or str(attrs.get("type", "")).lower() == self.key
            )
        if self.comparison == "=":
            return _equals(attrs.get(self.key), self.value)
        number = _number(attrs.get(self.key))
        if number is None:
            return False
        limit = float(self.value)
        return number < limit if self.comparison == "<" else number > limit

    def __str__(self) -> str:
        return self.key if self.comparison is None else f"{self.key}{self.comparison}{self.value}"


@dataclass(frozen=True)
class Combination:
    operator: str  # one of OPERATORS
    left: Expr
    right: Expr

    def matches(self, attrs: Mapping[str, Any]) -> bool:
        # Set algebra over one universe reduces to booleans per endpoint.
        left = self.left.matches(attrs)
        if self.operator == "&":
            return left and self.right.matches(attrs)
        if self.operator == "|":
            return left or self.right.matches(attrs)
        return left and not self.right.matches(attrs)

    def __str__(self) -> str:
        """Fully parenthesised, so the grouping is explicit."""
        return f"({self.left}{self.operator}{self.right})"


Expr = Term | Combination


def parse(expression: str) -> Expr:
    """Parse an expression; raise RSEExpressionError naming the position and what was expected."""
    if not isinstance(expression, str):
        raise RSEExpressionError(f"an RSE expression must be text, got {type(expression).__name__}")
    return _Parser(expression).parse()


def evaluate(expression: str | Expr, endpoints: Iterable[Any]) -> list:
    """The endpoints the expression selects, in input order; maybe none (the caller decides if that's bad)."""
    expr = _as_expr(expression)
    return [endpoint for endpoint in endpoints if expr.matches(endpoint_attributes(endpoint))]


def choose_endpoint(expression: str | Expr, endpoints: Sequence[Any], *, needed_bytes: int) -> Any | None:
    """The best destination for ``needed_bytes``: among the available matches with enough free space
    (attribute ``free_bytes``, missing = 0), the one with the most free space; ties go to the name that sorts
    first. None if no endpoint qualifies. Deterministic, unlike Rucio's weighted random draw, so that a
    request's destination can be previewed and tested.
    """
    expr = _as_expr(expression)
    candidates = []
    for endpoint in endpoints:
        attrs = endpoint_attributes(endpoint)
        free = _number(attrs.get("free_bytes")) or 0
        if expr.matches(attrs) and _is_available(attrs) and free >= needed_bytes:
            candidates.append(((-free, str(attrs.get("name", ""))), endpoint))
    if not candidates:
        return None
    return min(candidates, key=lambda candidate: candidate[0])[1]


def endpoint_attributes(endpoint: Any) -> dict[str, Any]:
    """An endpoint's attributes with lower-case keys, from a mapping or from ``rse_attributes()``."""
    if callable(getattr(endpoint, "rse_attributes", None)):
        raw = endpoint.rse_attributes()
    elif isinstance(endpoint, Mapping):
        raw = endpoint
    else:
        raise TypeError(f"an endpoint must be a mapping or have rse_attributes(), not {type(endpoint).__name__}")
    return {str(key).lower(): value for key, value in raw.items()}


def _as_expr(expression: str | Expr) -> Expr:
    return expression if isinstance(expression, Term | Combination) else parse(expression)


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _is_available(attrs: Mapping[str, Any]) -> bool:
    value = attrs.get("available", True)
    return not (value is False or (isinstance(value, str) and value.lower() in ("false", "no", "0")))


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value  # ints stay exact: byte counts exceed a float's 53 bits
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return float(value)
    return None


def _equals(actual: Any, wanted: str) -> bool:
    if actual is None:
        return False
    if isinstance(actual, bool):
        return str(actual).lower() == wanted.lower()
    if isinstance(actual, int | float) and _NUMBER.fullmatch(wanted):
        return actual == float(wanted)
    return str(actual).lower() == wanted.lower()


@dataclass(frozen=True)
class _Token:
    kind: str  # 'word', 'op', 'cmp', '(', ')', '*'
    text: str
    position: int  # 1-based


def _tokenize(text: str) -> list[_Token]:
    tokens, i = [], 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
            continue
        word = _WORD_CHARS.match(text, i)
        if word:
            tokens.append(_Token("word", word.group(), i + 1))
            i = word.end()
            continue
        kind = {"&": "op", "|": "op", "\\": "op", "=": "cmp", "<": "cmp", ">": "cmp"}.get(char, char)
        if kind not in ("op", "cmp", "(", ")", "*"):
            raise RSEExpressionError(f"unexpected character {char!r} at position {i + 1}", i + 1)
        tokens.append(_Token(kind, char, i + 1))
        i += 1
    return tokens


class _Parser:
    """Recursive descent over the tokens; every error names a position."""

    def __init__(self, text: str):
        self.tokens = _tokenize(text)
        self.index = 0
        self.end = len(text) + 1

    def parse(self) -> Expr:
        if not self.tokens:
            raise RSEExpressionError("empty expression: expected an RSE name or attribute", 1)
        expr = self._sequence()
        token = self._peek()
        if token is not None:  # _sequence stops only at ')' or the end
            raise RSEExpressionError(
                f"unbalanced parenthesis: ')' at position {token.position} has no matching '('",
                token.position,
            )
        return expr

    def _peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _next(self) -> _Token | None:
        token = self._peek()
        self.index += token is not None
        return token

    def _sequence(self) -> Expr:
        expr = self._term(after=None)
        while (token := self._peek()) is not None and token.kind != ")":
            if token.kind != "op":
                raise RSEExpressionError(
                    f"expected an operator (& | \\) or ')' at position {token.position}, got {token.text!r}",
                    token.position,
                )
            self._next()
            expr = Combination(token.text, expr, self._term(after=token))
        return expr

    def _term(self, after: _Token | None) -> Expr:
        token = self._next()
        if token is None or token.kind in ("op", ")"):
            raise self._missing_term(token, after)
        if token.kind == "(":
            return self._group(token)
        if token.kind == "*":
            return Term("*")
        if token.kind == "cmp":
            raise RSEExpressionError(
                f"expected an attribute name before {token.text!r} at position {token.position}",
                token.position,
            )
        return self._primitive(token)

    def _missing_term(self, token: _Token | None, after: _Token | None) -> RSEExpressionError:
        position = token.position if token else self.end
        if after is not None:
            what = "end of expression" if token is None else repr(token.text)
            return RSEExpressionError(
                f"dangling operator {after.text!r} at position {after.position}: expected a term after it,"
                f" got {what} at position {position}",
                after.position,
            )
        if token is None:
            return RSEExpressionError(f"empty term: expected a term at position {position}", position)
        if token.kind == ")":  # only reachable at the very start: '(' checks for ')' itself
            return RSEExpressionError(
                f"unbalanced parenthesis: ')' at position {position} has no matching '('", position
            )
        return RSEExpressionError(f"empty term: expected a term at position {position}, got {token.text!r}", position)

    def _group(self, opening: _Token) -> Expr:
        token = self._peek()
        if token is not None and token.kind == ")":
            raise RSEExpressionError(f"empty parentheses at position {opening.position}", opening.position)
        inner = self._sequence()
        if self._next() is None:
            raise RSEExpressionError(
                f"unbalanced parenthesis: '(' at position {opening.position} is never closed",
                opening.position,
            )
        return inner

    def _primitive(self, word: _Token) -> Term:
        comparison = self._peek()
        if comparison is None or comparison.kind != "cmp":
            return Term(word.text.lower())
        self._next()
        value = self._next()
        if value is None or value.kind != "word":
            raise RSEExpressionError(
                f"expected a value after {comparison.text!r} at position {comparison.position}",
                comparison.position,
            )
        if comparison.text != "=" and not _NUMBER.fullmatch(value.text):
            raise RSEExpressionError(
                f"expected a number after {comparison.text!r} at position {comparison.position}, got {value.text!r}",
                value.position,
            )
        return Term(word.text.lower(), comparison.text, value.text)
