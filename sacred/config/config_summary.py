"""What changed in a configuration compared to its defaults, and the docs of entries."""

from __future__ import annotations

from typing import Any

__all__ = ["ConfigSummary"]


class ConfigSummary:
    """added/modified: dotted paths; typechanged: path -> (old type, new type);
    docs: path -> comment; docstrings: the config scopes' docstrings, in order.

    A plain class rather than a dataclass: dataclasses imports inspect, which every
    run would pay for at start-up."""

    def __init__(
        self,
        added: set[str] | None = None,
        modified: set[str] | None = None,
        typechanged: dict[str, tuple[str, str]] | None = None,
        docs: dict[str, str] | None = None,
        docstrings: list[str] | None = None,
        doc_sources: list | None = None,
    ) -> None:
        self.added: set[str] = set(added or ())
        self.modified: set[str] = set(modified or ())
        self.typechanged: dict[str, tuple[str, str]] = dict(typechanged or {})
        self.docs: dict[str, str] = dict(docs or {})
        self.docstrings: list[str] = list(docstrings or [])
        # (path prefix, config) pairs whose comments are read into docs on first use:
        # reading comments means reading source lines, which a plain run never needs.
        self.doc_sources: list = list(doc_sources or [])

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, ConfigSummary):
            return NotImplemented
        fields = ("added", "modified", "typechanged", "docs", "docstrings")
        return all(getattr(self, f) == getattr(other, f) for f in fields)

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass was

    def __repr__(self) -> str:
        return (
            f"ConfigSummary(added={self.added!r}, modified={self.modified!r}, "
            f"typechanged={self.typechanged!r}, docs={self.docs!r}, "
            f"docstrings={self.docstrings!r})"
        )

    def __getattribute__(self, name: str):
        if name == "docs":
            sources = object.__getattribute__(self, "doc_sources")
            if sources:
                docs = object.__getattribute__(self, "docs")
                explicit = dict(docs)
                docs.clear()
                for prefix, conf in sources:
                    for key, doc in getattr(conf, "docs", {}).items():
                        docs.setdefault(f"{prefix}.{key}" if prefix else key, doc)
                docs.update(explicit)
                sources.clear()
        return object.__getattribute__(self, name)

    def ensure_coherence(self) -> None:
        """Parents of modified, added or typechanged entries count as modified."""
        for path in list(self.added) + list(self.modified) + list(self.typechanged):
            parts = path.split(".")
            for i in range(1, len(parts)):
                parent = ".".join(parts[:i])
                if parent not in self.added:
                    self.modified.add(parent)
