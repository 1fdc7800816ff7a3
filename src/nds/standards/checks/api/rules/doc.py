"""An OpenAPI document with local ``$ref`` resolution and Spectral-compatible paths.

Spectral lints the *resolved* document and reports each finding at the real location of the
node (a schema reached through ``$ref`` is reported under ``components``). We do the same for
local references (``#/...``). Remote references are never fetched: they are recorded and the
node is treated as opaque (a self-check must not make the server fetch arbitrary URLs).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

Path = tuple[str | int, ...]

#: At most this many nodes are visited by one recursive walk (guards against reference bombs).
WALK_BUDGET = 200_000


class DocumentTooComplex(Exception):
    """The document expands to more nodes than ``WALK_BUDGET`` (e.g. a reference bomb)."""


def format_path(path: Path) -> str:
    """Spectral's dotted path: ``paths./x.get.responses[200].content``."""
    out = ""
    for i, seg in enumerate(path):
        if isinstance(seg, int) or (isinstance(seg, str) and seg.isdigit()):
            out += f"[{seg}]"
        else:
            out += ("." if i else "") + str(seg)
    return out


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


@dataclass
class Oas:
    doc: Any
    remote_refs: set[str] = field(default_factory=set)
    broken_refs: set[str] = field(default_factory=set)
    _root_walk: list[tuple[str | int | None, Any, Path]] | None = field(default=None, repr=False)
    _by_key: dict[str | int | None, list[tuple[Any, Path]]] | None = field(default=None, repr=False)

    # -- references -------------------------------------------------------------------------
    def pointer(self, ref: str) -> tuple[Any, Path] | None:
        """Resolve a local JSON pointer ``#/a/b``; None when it does not exist."""
        if ref == "#":
            return self.doc, ()
        if not ref.startswith("#/"):
            return None
        node: Any = self.doc
        path: list[str | int] = []
        for raw in ref[2:].split("/"):
            tok = _unescape(raw)
            if isinstance(node, dict) and tok in node:
                node = node[tok]
                path.append(tok)
            elif isinstance(node, list) and tok.isdigit() and int(tok) < len(node):
                node = node[int(tok)]
                path.append(int(tok))
            else:
                return None
        return node, tuple(path)

    def resolve(self, node: Any, path: Path) -> tuple[Any, Path]:
        """Follow ``$ref`` chains to the real node and its real path (cycles and misses stop)."""
        seen: set[str] = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if not ref.startswith("#"):
                self.remote_refs.add(ref)
                return node, path
            if ref in seen:
                return node, path
            seen.add(ref)
            target = self.pointer(ref)
            if target is None:
                self.broken_refs.add(ref)
                return node, path
            node, path = target
        return node, path

    def get(self, node: Any, path: Path, key: str | int) -> tuple[Any, Path] | None:
        """Child ``key`` of a (resolved) node, itself resolved; None when absent."""
        node, path = self.resolve(node, path)
        if isinstance(node, dict) and isinstance(key, str) and key in node:
            return self.resolve(node[key], (*path, key))
        if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            return self.resolve(node[key], (*path, key))
        return None

    def children(self, node: Any, path: Path) -> Iterator[tuple[str | int, Any, Path]]:
        """(key, resolved child, real path) for every child of a resolved node."""
        node, path = self.resolve(node, path)
        if isinstance(node, dict):
            for k, v in node.items():
                child, cpath = self.resolve(v, (*path, k))
                yield k, child, cpath
        elif isinstance(node, list):
            for i, v in enumerate(node):
                child, cpath = self.resolve(v, (*path, i))
                yield i, child, cpath

    def walk(self, node: Any = None, path: Path = ()) -> Iterator[tuple[str | int | None, Any, Path]]:
        """Depth-first (key, node, real path) over the resolved tree, like JSONPath ``$..``.

        A node reached again through a reference cycle on the current branch is not re-entered.
        """
        if node is None and path == ():
            if self._root_walk is None:  # every rule walks the whole document: do it once
                self._root_walk = list(self._walk(self.doc, ()))
            yield from self._root_walk
            return
        yield from self._walk(node, path)

    def _walk(self, node: Any, path: Path) -> Iterator[tuple[str | int | None, Any, Path]]:
        budget = [WALK_BUDGET]
        stack: set[Path] = set()

        def rec(key: str | int | None, n: Any, p: Path) -> Iterator[tuple[str | int | None, Any, Path]]:
            budget[0] -= 1
            if budget[0] < 0:
                raise DocumentTooComplex(f"the document expands to more than {WALK_BUDGET} nodes")
            yield key, n, p
            if isinstance(n, dict | list) and p not in stack:
                stack.add(p)
                try:
                    for k, child, cp in self.children(n, p):
                        yield from rec(k, child, cp)
                finally:
                    stack.discard(p)

        n, p = self.resolve(node, path)
        yield from rec(None, n, p)

    def by_key(self, name: str) -> Iterator[tuple[Any, Path]]:
        """``$..[name]``: every node stored under key ``name`` anywhere in the resolved tree."""
        if self._by_key is None:
            index: dict[str | int | None, list[tuple[Any, Path]]] = {}
            for key, node, path in self.walk():
                index.setdefault(key, []).append((node, path))
            self._by_key = index
        yield from self._by_key.get(name, [])
