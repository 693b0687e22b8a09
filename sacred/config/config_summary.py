"""What changed in a configuration compared to its defaults, and the docs of entries."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ConfigSummary"]


@dataclass
class ConfigSummary:
    """added/modified: dotted paths; typechanged: path -> (old type, new type);
    docs: path -> comment; docstrings: the config scopes' docstrings, in order."""

    added: set[str] = field(default_factory=set)
    modified: set[str] = field(default_factory=set)
    typechanged: dict[str, tuple[str, str]] = field(default_factory=dict)
    docs: dict[str, str] = field(default_factory=dict)
    docstrings: list[str] = field(default_factory=list)
    # (path prefix, config) pairs whose comments are read into docs on first use:
    # reading comments means reading source lines, which a plain run never needs.
    doc_sources: list = field(default_factory=list, repr=False, compare=False)

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
