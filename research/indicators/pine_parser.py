"""A parser for Pine expressions: calls (``ta.macd(close, 12, 26, 9)``), keyword
arguments (``useTrueRange=false``), tuple fields (``.signal``), history (``close[1]``),
arithmetic, comparisons, ``and``/``or``/``not`` and the ternary ``?:``.

It parses expressions only — no assignments, declarations or statements — into a small
immutable AST that :mod:`.pine` evaluates on a bars frame.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import TypeAlias

__all__ = [
    "Binary",
    "Call",
    "Field",
    "History",
    "Literal",
    "Name",
    "Node",
    "PineSyntaxError",
    "Ternary",
    "Unary",
    "parse",
]


class PineSyntaxError(ValueError):
    """The text is not a Pine expression this parser understands."""


@dataclass(frozen=True)
class Literal:
    value: float | int | bool | str | None  # None is Pine's ``na``


@dataclass(frozen=True)
class Name:
    path: str  # dotted: ``close``, ``ta.tr``, ``bar_index``


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]
    kwargs: tuple[tuple[str, Node], ...]


@dataclass(frozen=True)
class Field:
    target: Node
    name: str


@dataclass(frozen=True)
class History:
    target: Node
    offset: Node


@dataclass(frozen=True)
class Unary:
    op: str  # "-", "+", "not"
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Ternary:
    condition: Node
    then: Node
    otherwise: Node


Node: TypeAlias = Literal | Name | Call | Field | History | Unary | Binary | Ternary

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>\d+\.\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|\d+(?:[eE][-+]?\d+)?)
      | (?P<string>"[^"]*"|'[^']*')
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>==|!=|<=|>=|[-+*/%<>?:()\[\],.=])
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"true": True, "false": False}
_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


@dataclass(frozen=True)
class _Token:
    kind: str  # number | string | name | op | end
    text: str
    at: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            if text[position:].strip():
                raise PineSyntaxError(f"unexpected character {text[position]!r} at {position} in {text!r}")
            break
        kind = match.lastgroup or "end"
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
        position = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.position = 0

    # --- token helpers -------------------------------------------------------------

    @property
    def current(self) -> _Token:
        return self.tokens[self.position]

    def accept(self, *texts: str) -> str | None:
        token = self.current
        if token.kind in ("op", "name") and token.text in texts:
            self.position += 1
            return token.text
        return None

    def expect(self, text: str) -> None:
        if self.accept(text) is None:
            raise self.error(f"expected {text!r}")

    def error(self, message: str) -> PineSyntaxError:
        token = self.current
        found = repr(token.text) if token.kind != "end" else "the end"
        return PineSyntaxError(f"{message} at {token.at}, found {found}, in {self.text!r}")

    # --- grammar (lowest precedence first) ------------------------------------------

    def expression(self) -> Node:
        condition = self.logical_or()
        if self.accept("?") is None:
            return condition
        then = self.expression()
        self.expect(":")
        return Ternary(condition, then, self.expression())

    def logical_or(self) -> Node:
        node = self.logical_and()
        while self.accept("or"):
            node = Binary("or", node, self.logical_and())
        return node

    def logical_and(self) -> Node:
        node = self.logical_not()
        while self.accept("and"):
            node = Binary("and", node, self.logical_not())
        return node

    def logical_not(self) -> Node:
        if self.accept("not"):
            return Unary("not", self.logical_not())
        return self.comparison()

    def comparison(self) -> Node:
        node = self.additive()
        op = self.accept(*_COMPARISONS)
        return Binary(op, node, self.additive()) if op else node

    def additive(self) -> Node:
        node = self.multiplicative()
        while op := self.accept("+", "-"):
            node = Binary(op, node, self.multiplicative())
        return node

    def multiplicative(self) -> Node:
        node = self.unary()
        while op := self.accept("*", "/", "%"):
            node = Binary(op, node, self.unary())
        return node

    def unary(self) -> Node:
        if op := self.accept("-", "+"):
            return Unary(op, self.unary())
        return self.postfix(self.primary())

    def postfix(self, node: Node) -> Node:
        while True:
            if self.accept("("):
                node = self.call(node)
            elif self.accept("["):
                node = History(node, self.expression())
                self.expect("]")
            elif self.accept("."):
                node = self.dotted(node)
            else:
                return node

    def dotted(self, node: Node) -> Node:
        token = self.current
        if token.kind != "name":
            raise self.error("expected a name after '.'")
        self.position += 1
        if isinstance(node, Name):
            return Name(f"{node.path}.{token.text}")
        return Field(node, token.text)

    def call(self, callee: Node) -> Call:
        if not isinstance(callee, Name):
            raise self.error("only named functions can be called")
        args: list[Node] = []
        kwargs: list[tuple[str, Node]] = []
        while self.accept(")") is None:
            if args or kwargs:
                self.expect(",")
            keyword = self.keyword()
            if keyword is not None:
                kwargs.append((keyword, self.expression()))
            elif kwargs:
                raise self.error("positional argument after a keyword argument")
            else:
                args.append(self.expression())
        return Call(callee.path, tuple(args), tuple(kwargs))

    def keyword(self) -> str | None:
        token, following = self.current, self.tokens[self.position + 1]
        if token.kind == "name" and following.kind == "op" and following.text == "=":
            self.position += 2
            return token.text
        return None

    def primary(self) -> Node:
        token = self.current
        self.position += 1
        if token.kind == "number":
            number = float(token.text)
            is_int = re.fullmatch(r"\d+", token.text) is not None
            return Literal(int(number) if is_int else number)
        if token.kind == "string":
            return Literal(token.text[1:-1])
        if token.kind == "name":
            calls_na = token.text == "na" and self.current.text == "("
            return Name("na") if calls_na else _name(token.text)
        if token.kind == "op" and token.text == "(":
            node = self.expression()
            self.expect(")")
            return node
        self.position -= 1
        raise self.error("expected a value")


def _name(text: str) -> Node:
    if text in _KEYWORDS:
        return Literal(_KEYWORDS[text])
    if text == "na":
        return Literal(None)
    return Name(text)


def parse(text: str) -> Node:
    """Parse one Pine expression. HTML entities (``&quot;`` in exported column titles)
    are decoded first."""
    parser = _Parser(html.unescape(text))
    node = parser.expression()
    if parser.current.kind != "end":
        raise parser.error("unexpected trailing input")
    return node
