"""YAML read safely, with the line and column of every value kept for error messages.

Only plain data is built (``yaml.SafeLoader``); anchors are allowed but the number
of nodes built is capped, so an alias bomb is an error rather than an outage.
Merge keys (``<<: *base``) follow YAML: the mapping's own keys override merged
ones, so only an own key given twice is a duplicate.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from monitor.core.errors import ConfigError
from monitor.core.files import read_capped

MAX_BYTES = 1_000_000
MAX_NODES = 100_000
MAX_DEPTH = 100  # nesting of sequences and mappings; a watchlist needs five
PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class Document:
    source: str
    data: Any
    marks: dict[PathKey, tuple[int, int]]

    def where(self, path: PathKey) -> str:
        """``file:line:col`` of the deepest known node on ``path``."""
        for end in range(len(path), -1, -1):
            mark = self.marks.get(tuple(path[:end]))
            if mark:
                return f"{self.source}:{mark[0]}:{mark[1]}"
        # Nothing known (an empty file): its start, so every message has a place.
        return f"{self.source}:1:1"


def load_file(path: Path) -> Document:
    raw = read_capped(path, MAX_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 (byte {exc.start})") from exc
    return load_text(text, str(path))


def load_text(text: str, source: str) -> Document:
    try:
        # The reader checks every character when it is made: inside the try, so
        # a control character is a ConfigError, not a crash (found by fuzzing).
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        where = _position(text, source, exc.position)
        raise ConfigError(f"{where}: invalid YAML: {_reader_problem(exc)}") from exc
    try:
        node = loader.get_single_node()
        builder = _Builder(loader, source)
        data = builder.build(node, ()) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise ConfigError(f"{where}: invalid YAML: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: invalid YAML: {exc}") from exc
    finally:
        loader.dispose()
    return Document(source, data, builder.marks if node is not None else {})


class _Loader(yaml.SafeLoader):
    """SafeLoader with a nesting limit: PyYAML composes nodes recursively, and a few
    hundred ``[`` ran it out of stack (RecursionError, found by fuzzing)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                problem = f"nested more than {MAX_DEPTH} levels deep"
                raise yaml.composer.ComposerError(None, None, problem, self.get_mark())
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _position(text: str, source: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - text.rfind("\n", 0, offset)
    return f"{source}:{line}:{column}"


def _reader_problem(exc: yaml.reader.ReaderError) -> str:
    return f"character {exc.character:#06x} is not allowed in YAML"


_MERGE = "tag:yaml.org,2002:merge"
# Mappings and sequences are built here, not by the SafeLoader, so their tags are
# checked here: `!!python/object/apply:os.system [x]` must be refused, not read
# as the list [x] (the SafeLoader refuses such tags on plain values itself).
_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:omap"}


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, source: str) -> None:
        self.loader = loader
        self.source = source
        self.marks: dict[PathKey, tuple[int, int]] = {}
        self.nodes = 0
        self.open: set[int] = set()  # ids of the nodes being built, to catch a cycle

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ConfigError(f"{self._at(node)}: more than {MAX_NODES} values (alias bomb?)")
        if id(node) in self.open:
            raise ConfigError(f"{self._at(node)}: an alias refers to a value that contains it")
        self.marks.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.CollectionNode) and node.tag not in _PLAIN_TAGS:
            raise ConfigError(f"{self._at(node)}: unsupported YAML tag {node.tag!r}")
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            return self._scalar(node)
        finally:
            self.open.discard(id(node))

    def _scalar(self, node: yaml.Node) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, IndexError, TypeError) as exc:
            # PyYAML's constructors raise these for a tagged value they cannot read
            # (`!!float rules`, `!!float ''`; found by fuzzing).
            raise ConfigError(f"{self._at(node)}: invalid YAML: {node.tag} {exc}") from exc

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[Any, Any]:
        """Own keys override what ``<<`` merges in; only an own key given twice is a duplicate."""
        merges = [(k, v) for k, v in node.value if k.tag == _MERGE]
        if len(merges) > 1:  # PyYAML lets the last win, the YAML spec forbids it: be clear
            raise ConfigError(f"{self._at(merges[1][0])}: duplicate key '<<'")
        merged, merged_marks = self._merged([v for _, v in merges], path)
        own = self._own(node, path)
        names = {str(key) for key in own}
        for place, mark in merged_marks.items():
            if place[len(path)] not in names:
                self.marks.setdefault(place, mark)
        return merged | own

    def _own(self, node: yaml.MappingNode, path: PathKey) -> dict[Any, Any]:
        own: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                continue
            key = self._scalar(key_node)
            if not isinstance(key, str | int | float | bool):
                raise ConfigError(f"{self._at(key_node)}: a key must be a plain value")
            if key in own:
                raise ConfigError(f"{self._at(key_node)}: duplicate key {key!r}")
            child = (*path, str(key))
            self.marks[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            own[key] = self.build(value_node, child)
        return own

    def _merged(
        self, values: list[yaml.Node], path: PathKey
    ) -> tuple[dict[Any, Any], dict[PathKey, tuple[int, int]]]:
        """What ``<<`` brings in, and its marks: of several mappings, the first wins a key."""
        merged: dict[Any, Any] = {}
        marks: dict[PathKey, tuple[int, int]] = {}
        for source in self._merge_sources(values):
            data, source_marks = self._isolated(source, path)
            for key, item in data.items():
                merged.setdefault(key, item)
            for place, mark in source_marks.items():
                marks.setdefault(place, mark)
        return merged, marks

    def _merge_sources(self, values: list[yaml.Node]) -> Iterator[yaml.MappingNode]:
        for value in values:
            for source in value.value if isinstance(value, yaml.SequenceNode) else [value]:
                if not isinstance(source, yaml.MappingNode):
                    raise ConfigError(f"{self._at(source)}: '<<' merges only mappings")
                yield source

    def _isolated(
        self, node: yaml.MappingNode, path: PathKey
    ) -> tuple[dict[Any, Any], dict[PathKey, tuple[int, int]]]:
        """``node`` built at ``path``, with the marks of its children kept apart."""
        outer, self.marks = self.marks, {}
        try:
            data = self.build(node, path)
            return data, {k: v for k, v in self.marks.items() if len(k) > len(path)}
        finally:
            self.marks = outer

    def _at(self, node: yaml.Node) -> str:
        return f"{self.source}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"


def expected(error: Any, unknown: str = "unknown setting") -> str:
    """What a pydantic error says was expected, in words for the person editing the file."""
    if error["type"] == "extra_forbidden":
        return unknown
    if error["type"] == "missing":
        return "this setting is required"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{message}, got {error.get('input')!r}"
