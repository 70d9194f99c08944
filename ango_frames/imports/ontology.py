"""A project's ontology (``categorySchema``): classes, tools, options and tree paths by id or title.

The payload builders use it to turn titles into schemaIds, to learn each class's tool (so a frame
needs no ``tool`` column) and to check answers against the options before anything is sent. A title
shared by two classes is an error here, never a guess: the real hub picks one of them at random.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ango_frames.errors import ConfigError

__all__ = [
    "LIST_TYPES",
    "RELATION_KINDS",
    "ClassificationClass",
    "Ontology",
    "RelationClass",
    "ToolClass",
]

#: Classification types whose answer is a list (docs/format.md §3.2); the others take a string.
LIST_TYPES = frozenset({"checkbox", "multi-dropdown", "tree-dropdown"})

#: Relation tool -> relation kind in the tidy ``relations`` table.
RELATION_KINDS = {"one-to-one": "single", "one-to-many": "single", "group": "group"}

TREE_SEPARATOR = " / "


@dataclass(frozen=True)
class ClassificationClass:
    """One classification of the ontology (global, nested in a tool, or nested in a classification).

    ``parent`` is the schemaId of the owning tool or classification (``None`` for a global one);
    ``options`` maps option value -> option schemaId; ``tree_paths`` holds every valid
    tree-dropdown answer (`` / ``-joined titles, and the flattened option values).
    """

    schema_id: str
    title: str
    type: str
    parent: str | None = None
    parent_option_id: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    tree_paths: frozenset[str] = frozenset()
    children: tuple[str, ...] = ()

    @property
    def is_list(self) -> bool:
        """Whether the answer is a list (checkbox, multi-dropdown, tree-dropdown)."""
        return self.type in LIST_TYPES

    @property
    def valid_answers(self) -> frozenset[str] | None:
        """The answers the hub accepts, or ``None`` when any string goes (text, unknown types)."""
        if self.type == "tree-dropdown":
            return self.tree_paths | frozenset(self.options)
        if self.options:
            return frozenset(self.options)
        return None


@dataclass(frozen=True)
class ToolClass:
    """One object class: its schemaId, title, ``tool`` type and nested classification ids."""

    schema_id: str
    title: str
    tool: str
    children: tuple[str, ...] = ()


@dataclass(frozen=True)
class RelationClass:
    """One relation class; ``kind`` is ``single`` (one-to-one, one-to-many) or ``group``."""

    schema_id: str
    title: str
    tool: str

    @property
    def kind(self) -> str:
        return RELATION_KINDS.get(self.tool, "single")


def _tree_paths(nodes: Iterable[Mapping[str, Any]], prefix: str = "") -> set[str]:
    """Every node of a ``treeOptions`` tree as a " / "-joined title path (docs/format.md §3.2)."""
    paths: set[str] = set()
    for node in nodes or ():
        title = str(node.get("title", node.get("value", "")))
        path = f"{prefix}{TREE_SEPARATOR}{title}" if prefix else title
        paths.add(path)
        paths |= _tree_paths(node.get("children") or (), path)
    return paths


class Ontology:
    """Lookups over a project's ``categorySchema``.

    Build it with :meth:`from_project`. Lookups by schemaId are exact; lookups by title raise a
    :class:`~ango_frames.errors.ConfigError` when no class or more than one class has that title.
    """

    def __init__(self, category_schema: Mapping[str, Any]) -> None:
        self.tools: dict[str, ToolClass] = {}
        self.classifications: dict[str, ClassificationClass] = {}
        self.relations: dict[str, RelationClass] = {}
        for entry in category_schema.get("tools") or ():
            sid = self._sid(entry, "tools")
            kids = self._walk(entry.get("classifications") or (), parent=sid)
            self.tools[sid] = ToolClass(sid, str(entry.get("title", "")), str(entry["tool"]), kids)
        self.global_classifications = self._walk(category_schema.get("classifications") or (), None)
        for entry in category_schema.get("relations") or ():
            sid = self._sid(entry, "relations")
            tool = str(entry.get("tool", "one-to-one"))
            self.relations[sid] = RelationClass(sid, str(entry.get("title", "")), tool)

    @staticmethod
    def _sid(entry: Mapping[str, Any], where: str) -> str:
        if not isinstance(entry, Mapping) or entry.get("schemaId") is None:
            raise ConfigError(f"categorySchema.{where}: an entry has no schemaId: {entry!r:.200}")
        if where == "tools" and not entry.get("tool"):
            raise ConfigError(f"categorySchema.tools: {entry['schemaId']!r} has no 'tool' type")
        return str(entry["schemaId"])

    def _walk(self, entries: Iterable[Mapping[str, Any]], parent: str | None) -> tuple[str, ...]:
        """Register classifications (recursively) and return the direct children's schemaIds."""
        ids = []
        for entry in entries:
            sid = self._sid(entry, "classifications")
            options = {
                str(o["value"]): str(o.get("schemaId", ""))
                for o in entry.get("options") or ()
                if isinstance(o, Mapping) and "value" in o
            }
            kids = self._walk(entry.get("classifications") or (), parent=sid)
            self.classifications[sid] = ClassificationClass(
                schema_id=sid,
                title=str(entry.get("title", "")),
                type=str(entry.get("tool", entry.get("type", ""))),
                parent=parent,
                parent_option_id=entry.get("parentOptionId"),
                options=options,
                tree_paths=frozenset(_tree_paths(entry.get("treeOptions") or ())),
                children=kids,
            )
            ids.append(sid)
        return tuple(ids)

    @classmethod
    def from_project(cls, obj: Mapping[str, Any] | Ontology) -> Ontology:
        """Build from a ``GET /project`` response, its ``data.project``, or a ``categorySchema``.

        Raises
        ------
        ConfigError
            When no ``categorySchema`` can be found in ``obj`` or an entry lacks its schemaId.
        """
        if isinstance(obj, Ontology):
            return obj
        if not isinstance(obj, Mapping):
            raise ConfigError(f"an ontology must be a dict, not {type(obj).__name__}")
        node: Any = obj
        for key in ("data", "project", "categorySchema"):
            if isinstance(node, Mapping) and isinstance(node.get(key), Mapping):
                node = node[key]
        if not any(k in node for k in ("tools", "classifications", "relations")):
            raise ConfigError(
                "no categorySchema found: expected a GET /project response, its data.project, "
                "or a dict with tools / classifications / relations"
            )
        return cls(node)

    # ---- lookups -------------------------------------------------------------------------
    @staticmethod
    def _find(
        classes: Mapping[str, Any],
        schema_id: str | None,
        title: str | None,
        candidates: Callable[[], Iterable[Any]],
        what: str,
    ) -> Any:
        """``classes[schema_id]``, or the one of ``candidates()`` titled ``title``."""
        if schema_id is not None:
            try:
                return classes[schema_id]
            except KeyError:
                raise ConfigError(f"no {what} with schemaId {schema_id!r}") from None
        text = str(title)
        found = [c for c in candidates() if c.title == text]
        if not found:
            raise ConfigError(f"no {what} titled {text!r}")
        if len(found) > 1:
            ids = ", ".join(c.schema_id for c in found)
            raise ConfigError(
                f"{len(found)} {what}s are titled {text!r} (schemaIds {ids}); "
                "use schema_id: the hub would pick one at random"
            )
        return found[0]

    def tool(self, schema_id: str | None = None, *, title: str | None = None) -> ToolClass:
        """The object class with this schemaId, or with this (unique) title."""
        return self._find(self.tools, schema_id, title, self.tools.values, "tool")

    def classification(
        self, schema_id: str | None = None, *, title: str | None = None, parent: str | None = None
    ) -> ClassificationClass:
        """A classification by schemaId, or by title among the children of ``parent``.

        ``parent`` is the schemaId of a tool or a classification; ``None`` means the global
        classifications (title lookups only; schemaId lookups are global).
        """
        children = partial(self.children, parent)  # called for a title lookup only
        return self._find(self.classifications, schema_id, title, children, "classification")

    def children(self, parent: str | None) -> list[ClassificationClass]:
        """The classifications directly under a tool or classification (``None``: global ones)."""
        if parent is None:
            ids: tuple[str, ...] = self.global_classifications
        elif parent in self.tools:
            ids = self.tools[parent].children
        elif parent in self.classifications:
            ids = self.classifications[parent].children
        else:
            raise ConfigError(f"no tool or classification with schemaId {parent!r}")
        return [self.classifications[i] for i in ids]

    def relation(self, schema_id: str | None = None, *, title: str | None = None) -> RelationClass:
        """The relation class with this schemaId, or with this (unique) title."""
        return self._find(self.relations, schema_id, title, self.relations.values, "relation")

    def tool_type(self, schema_id: str) -> str | None:
        """The ``tool`` of an object class (``bounding-box``, ``polygon``, ...), or ``None``."""
        entry = self.tools.get(schema_id)
        return entry.tool if entry else None

    def option_values(self, schema_id: str) -> frozenset[str]:
        """The option values of a classification (what imports send as answers)."""
        return frozenset(self.classification(schema_id).options)

    def option_schema_ids(self, schema_id: str) -> dict[str, str]:
        """Option value -> option schemaId (what the hub stores internally)."""
        return dict(self.classification(schema_id).options)

    def tree_paths(self, schema_id: str) -> frozenset[str]:
        """Every valid answer of a tree-dropdown: " / " paths and flattened option values."""
        entry = self.classification(schema_id)
        return entry.tree_paths | frozenset(entry.options)

    def titles(self, kind: str) -> dict[str, list[str]]:
        """Title -> schemaIds for ``tools``, ``relations`` or ``classifications`` (all levels)."""
        table: Mapping[str, Any] = getattr(self, kind)
        out: dict[str, list[str]] = {}
        for sid, entry in table.items():
            out.setdefault(entry.title, []).append(sid)
        return out

    def __repr__(self) -> str:
        return (
            f"Ontology({len(self.tools)} tools, {len(self.classifications)} classifications, "
            f"{len(self.relations)} relations)"
        )
