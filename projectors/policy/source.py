"""YAML with positions: compose once, build the data, find the node of any path.

PyYAML keeps the last value of a duplicated key without a word; the composed
node tree still has both, so :func:`duplicate_keys` can report them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

DataPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    """A 1-based line and column in the source text."""

    line: int
    column: int


class YamlSyntaxError(Exception):
    """The text is not well-formed YAML."""

    def __init__(self, message: str, position: Position) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


DuplicateKey = tuple[DataPath, yaml.Node, yaml.Node]


@dataclass(frozen=True)
class Document:
    """A composed YAML document: its nodes, the data built from them, repeated keys."""

    root: yaml.Node | None
    data: Any
    duplicates: tuple[DuplicateKey, ...]


def compose(text: str) -> Document:
    """Parse ``text`` (one document, safe tags only) keeping every node's position."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        # Before construction, which inlines merge keys (``<<``) into the nodes.
        duplicates = tuple(duplicate_keys(root))
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)
        problem = error.problem or error.context or "malformed YAML"
        if error.context and error.problem and error.context_mark:
            problem += f" ({error.context} at line {error.context_mark.line + 1})"
        raise YamlSyntaxError(f"YAML syntax error: {problem}", where) from None
    except yaml.YAMLError as error:
        raise YamlSyntaxError(f"YAML syntax error: {error}", Position(1, 1)) from None
    finally:
        loader.dispose()
    return Document(root, data, duplicates)


def position_of(node: yaml.Node) -> Position:
    """Where ``node`` starts."""
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def _matches(key: yaml.Node, part: str | int) -> bool:
    return isinstance(key, yaml.ScalarNode) and key.value == str(part)


def _child(node: yaml.Node, part: str | int, *, key: bool) -> yaml.Node | None:
    children: list[tuple[yaml.Node, yaml.Node]] = (
        node.value if isinstance(node, yaml.MappingNode) else []
    )
    for key_node, value_node in reversed(children):  # the last one wins, as in the data
        if _matches(key_node, part):
            return key_node if key else value_node
    items: list[yaml.Node] = node.value if isinstance(node, yaml.SequenceNode) else []
    if isinstance(part, int) and 0 <= part < len(items):
        return items[part]
    return None


def locate(root: yaml.Node | None, path: DataPath, *, key: bool = False) -> Position:
    """Where the value at ``path`` is (its key with ``key=True``).

    A path that does not exist (a missing key) falls back to the nearest
    existing parent.
    """
    if root is None:
        return Position(1, 1)
    node = root
    for index, part in enumerate(path):
        last = index == len(path) - 1
        child = _child(node, part, key=key and last)
        if child is None:
            break
        node = child
    return position_of(node)


def format_path(path: DataPath) -> str:
    """``agency_types.police.access[0].fields[2]`` style."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def duplicate_keys(root: yaml.Node | None) -> Iterator[DuplicateKey]:
    """Every repeated mapping key: (path of the repeat, repeated key, first key)."""
    seen: set[int] = set()

    def walk(node: yaml.Node, path: DataPath) -> Iterator[DuplicateKey]:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[str, yaml.Node] = {}
            for key_node, value_node in node.value:
                name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                if name is not None and name in first:
                    yield (*path, name), key_node, first[name]
                elif name is not None:
                    first[name] = key_node
                yield from walk(value_node, (*path, name) if name is not None else path)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                yield from walk(item, (*path, index))

    if root is not None:
        yield from walk(root, ())
