"""A small, safe condition language for eligibility rules (no Python eval).

    disability_grade in ['一级', '二级'] and age >= 18 and not active_assistance
    income_per_capita < 1.5 * 12 * $dibao_standard

Names are facts (columns of a facts frame); ``$name`` is a parameter from rules/params.yaml.
Operators: ``or``, ``and``, ``not``, comparisons ``== != < <= > >=``, ``in [...]``, ``not in [...]``,
arithmetic ``+ - * /`` and parentheses. Literals: numbers, quoted strings, ``true``, ``false``.

Unknown is never a reason to warn: a comparison with a missing value is false, and ``not`` of a
missing fact is false too (three-valued logic, collapsed to false at the end).

Conditions are evaluated over whole columns at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Union

import numpy as np
import pandas as pd

from pipeline.errors import ConfigError

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>'[^']*'|\"[^\"]*\")|(?P<param>\$[A-Za-z_]\w*)"
    r"|(?P<op><=|>=|==|!=|<|>|[-+*/()\[\],])|(?P<name>[A-Za-z_]\w*))"
)
_KEYWORDS = {"and", "or", "not", "in", "true", "false"}


@dataclass(frozen=True)
class Lit:
    value: Any


@dataclass(frozen=True)
class Fact:
    name: str


@dataclass(frozen=True)
class Param:
    name: str


@dataclass(frozen=True)
class Unary:
    op: str
    arg: Node


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Member:
    arg: Node
    values: tuple[Any, ...]
    negate: bool


Node = Union[Lit, Fact, Param, Unary, Binary, Member]  # noqa: UP007 (a type alias needs Union at runtime)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot read the condition at «{text[pos : pos + 12]}»")
        kind = m.lastgroup or ""
        value = m.group(kind)
        if kind == "name" and value in _KEYWORDS:
            kind = value
        out.append((kind, value))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str]:
        return self.toks[self.i] if self.i < len(self.toks) else ("end", "")

    def take(self, kind: str, value: str | None = None) -> str:
        k, v = self.peek()
        if k != kind or (value is not None and v != value):
            raise ValueError(f"expected {value or kind}, found «{v or 'end of condition'}»")
        self.i += 1
        return v

    def parse(self) -> Node:
        node = self.or_()
        if self.peek()[0] != "end":
            raise ValueError(f"unexpected «{self.peek()[1]}»")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.peek()[0] == "or":
            self.i += 1
            node = Binary("or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.peek()[0] == "and":
            self.i += 1
            node = Binary("and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.peek()[0] == "not":
            self.i += 1
            return Unary("not", self.not_())
        return self.comparison()

    def comparison(self) -> Node:
        left = self.sum_()
        k, v = self.peek()
        if k == "op" and v in ("==", "!=", "<", "<=", ">", ">="):
            self.i += 1
            return Binary(v, left, self.sum_())
        if k == "in" or (k == "not" and self.i + 1 < len(self.toks) and self.toks[self.i + 1][0] == "in"):
            negate = k == "not"
            self.i += 2 if negate else 1
            return Member(left, self.literal_list(), negate)
        return left

    def literal_list(self) -> tuple[Any, ...]:
        self.take("op", "[")
        values: list[Any] = []
        while self.peek() != ("op", "]"):
            node = self.atom()
            if not isinstance(node, Lit):
                raise ValueError("a list after 'in' holds literals only")
            values.append(node.value)
            if self.peek() == ("op", ","):
                self.i += 1
        self.take("op", "]")
        return tuple(values)

    def sum_(self) -> Node:
        node = self.product()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take("op")
            node = Binary(op, node, self.product())
        return node

    def product(self) -> Node:
        node = self.atom()
        while self.peek() in (("op", "*"), ("op", "/")):
            op = self.take("op")
            node = Binary(op, node, self.atom())
        return node

    def atom(self) -> Node:
        k, v = self.peek()
        self.i += 1
        if k == "num":
            return Lit(float(v) if "." in v else int(v))
        if k == "str":
            return Lit(v[1:-1])
        if k in ("true", "false"):
            return Lit(k == "true")
        if k == "param":
            return Param(v[1:])
        if k == "name":
            return Fact(v)
        if (k, v) == ("op", "("):
            node = self.or_()
            self.take("op", ")")
            return node
        raise ValueError(f"unexpected «{v or 'end of condition'}»")


def names(node: Node) -> tuple[set[str], set[str]]:
    """(facts, parameters) a condition refers to."""
    facts: set[str] = set()
    params: set[str] = set()

    def walk(n: Node) -> None:
        if isinstance(n, Fact):
            facts.add(n.name)
        elif isinstance(n, Param):
            params.add(n.name)
        elif isinstance(n, Unary):
            walk(n.arg)
        elif isinstance(n, Binary):
            walk(n.left)
            walk(n.right)
        elif isinstance(n, Member):
            walk(n.arg)

    walk(node)
    return facts, params


@dataclass(frozen=True)
class Condition:
    text: str
    tree: Node

    def evaluate(self, facts: pd.DataFrame, params: dict[str, Any]) -> pd.Series:
        """True where the condition holds; unknown (missing) counts as false."""
        value, known = _eval(self.tree, facts, params)
        return pd.Series(np.asarray(value, dtype=bool) & known, index=facts.index)


def compile_condition(text: str, facts: set[str], params: set[str], where: str) -> Condition:
    """Parse and check a condition; ConfigError names ``where`` (file and rule) and the problem."""
    try:
        tree = _Parser(text).parse()
    except ValueError as e:
        raise ConfigError(f"{where}: {e} in condition «{text}»") from None
    used_facts, used_params = names(tree)
    problems = [f"unknown fact '{f}'" for f in sorted(used_facts - facts)]
    problems += [f"unknown parameter '${p}'" for p in sorted(used_params - params)]
    if problems:
        raise ConfigError(f"{where}: {'; '.join(problems)} in condition «{text}»")
    return Condition(text, tree)


def _eval(node: Node, facts: pd.DataFrame, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(values, known) arrays over the rows of ``facts``."""
    n = len(facts)
    if isinstance(node, Lit):
        return np.full(n, node.value, dtype=object), np.ones(n, dtype=bool)
    if isinstance(node, Param):
        return np.full(n, params[node.name], dtype=object), np.ones(n, dtype=bool)
    if isinstance(node, Fact):
        col = facts[node.name]
        return col.to_numpy(dtype=object), col.notna().to_numpy()
    if isinstance(node, Unary):
        v, k = _eval(node.arg, facts, params)
        return ~v.astype(bool), k
    if isinstance(node, Member):
        v, k = _eval(node.arg, facts, params)
        inside = np.isin(v, np.array(node.values, dtype=object))
        return (~inside if node.negate else inside), k
    lv, lk = _eval(node.left, facts, params)
    rv, rk = _eval(node.right, facts, params)
    if node.op == "and":
        # False and unknown is false (known); true and unknown is unknown.
        lb, rb = lv.astype(bool) & lk, rv.astype(bool) & rk
        known = (lk & rk) | (lk & ~lv.astype(bool)) | (rk & ~rv.astype(bool))
        return lb & rb, known
    if node.op == "or":
        lb, rb = lv.astype(bool) & lk, rv.astype(bool) & rk
        return lb | rb, (lk & rk) | lb | rb
    known = lk & rk
    ops = {
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "/": lambda a, b: a / b,
        "==": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    out = np.zeros(n, dtype=object)
    if known.any():  # only where both sides are known: unknown rows never reach the operator
        try:
            out[known] = ops[node.op](lv[known], rv[known])
        except TypeError as e:
            raise ConfigError(f"cannot apply '{node.op}' to these values ({e})") from None
    return out, known
