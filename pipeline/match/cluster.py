"""Clustering with constraints: union-find over records.

Unconstrained, it computes connected components (tests check it against networkx). With
constraints, an edge is refused when it would put two different usable IDs in one person (unless
a reviewer said they are one person), join records a reviewer said are different people, or put
in one person records whose birth windows lie further apart than a person's one birth date allows
(also when they meet only through a third record that says nothing about birth).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


class UnionFind:
    """Disjoint sets over 0..n-1. ``idents[i]`` is node i's usable ID (or None); a set holds at most
    one unless a forced union (a reviewer's must-link) joined two."""

    def __init__(
        self,
        n: int,
        idents: np.ndarray | None = None,
        births: tuple[np.ndarray, np.ndarray] | None = None,
        slack: float = 0.0,
    ) -> None:
        """``births``: per node, the earliest and latest possible birth date (days; NaN unknown);
        a set's window is its members' intersection, and a union whose window would be empty by
        more than ``slack`` days is refused."""
        self.parent = np.arange(n)
        self.size = np.ones(n, dtype=np.int64)
        self.ident: np.ndarray = (
            idents.astype(object).copy() if idents is not None else np.full(n, None, object)
        )
        self.members: dict[int, list[int]] = {}  # kept only while cannot-links exist
        self.cannot: dict[int, set[int]] = {}
        self.lo: np.ndarray | None = None
        self.hi: np.ndarray | None = None
        if births is not None:
            self.lo = np.asarray(births[0], dtype="float64").copy()
            self.hi = np.asarray(births[1], dtype="float64").copy()
        self.slack = slack
        self.refused_births = 0  # refusals because the person would have two birth dates

    def find(self, x: int) -> int:
        root = x
        while self.parent[root] != root:
            root = int(self.parent[root])
        while self.parent[x] != root:  # path compression
            nxt = int(self.parent[x])
            self.parent[x] = root
            x = nxt
        return root

    def add_cannot(self, a: int, b: int) -> None:
        self.cannot.setdefault(a, set()).add(b)
        self.cannot.setdefault(b, set()).add(a)

    def _members(self, root: int) -> list[int]:
        return self.members.get(root, [root])

    def allowed(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        ia, ib = self.ident[ra], self.ident[rb]
        if ia is not None and ib is not None and ia != ib:
            return False
        if self.births_conflict(ra, rb):
            self.refused_births += 1
            return False
        if self.cannot:
            small, big = sorted((ra, rb), key=lambda r: self.size[r])
            big_members = set(self._members(big))
            for x in self._members(small):
                if self.cannot.get(x, set()) & big_members:
                    return False
        return True

    def _joint_window(self, ra: int, rb: int) -> tuple[float, float]:
        """The birth window of the sets rooted at ra and rb together (NaN where neither says)."""
        assert self.lo is not None and self.hi is not None
        # fmax/fmin skip NaN: a set that says nothing about birth constrains nothing.
        return float(np.fmax(self.lo[ra], self.lo[rb])), float(np.fmin(self.hi[ra], self.hi[rb]))

    def births_conflict(self, ra: int, rb: int) -> bool:
        """Whether the sets rooted at ra and rb allow no common birth date (beyond the slack)."""
        if self.lo is None:
            return False
        lo, hi = self._joint_window(ra, rb)
        return lo - hi > self.slack

    def union(self, a: int, b: int, force: bool = False) -> bool:
        """Join a's and b's sets; refused (False) when a constraint forbids it and not forced."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if not force and not self.allowed(a, b):
            return False
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        if self.lo is not None and self.hi is not None:
            lo, hi = self._joint_window(ra, rb)
            if lo - hi > self.slack:
                # Only a reviewer's forced union gets here: their records' birth dates are not to
                # be trusted, and an empty window would refuse every later link to the person.
                lo = hi = np.nan
            self.lo[ra], self.hi[ra] = lo, hi
        if self.cannot:
            self.members[ra] = self._members(ra) + self._members(rb)
            self.members.pop(rb, None)
        ia, ib = self.ident[ra], self.ident[rb]
        if ia is None:
            self.ident[ra] = ib
        elif ib is not None and ib != ia:
            self.ident[ra] = frozenset(_as_set(ia) | _as_set(ib))
        return True

    def labels(self) -> np.ndarray:
        """The root of every node, by pointer jumping over the whole array (no Python loop)."""
        parent = self.parent.copy()
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                return parent
            parent = grand


def _as_set(x: object) -> frozenset[object]:
    return x if isinstance(x, frozenset) else frozenset([x])


def connected_components(n: int, edges: Iterable[tuple[int, int]]) -> np.ndarray:
    """Component label (the smallest member) of each node."""
    uf = UnionFind(n)
    for a, b in edges:
        uf.union(int(a), int(b))
    roots = uf.labels()
    smallest: dict[int, int] = {}
    for i, root in enumerate(roots):
        smallest.setdefault(int(root), i)
    return np.array([smallest[int(root)] for root in roots])
