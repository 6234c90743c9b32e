"""The search index's database objects, which live outside the SQLModel metadata.

SQLite keeps an FTS5 table (`search_fts`, and the shadow tables FTS5 makes beside it) and
PostgreSQL a `tsvector` table (`search_doc`, GIN-indexed); triggers written by migration 0008
keep either current as messages arrive (since 0010 a new message once it is on a case, the only
messages search shows). Neither is a model: SQLAlchemy cannot describe a virtual table, and
the app only reaches them through `desk/search.py`. So the comparison of migrations with
models (and autogenerate) is told to look past them here.

A later migration that rebuilds `message`, `contact` or `channel_identity` on SQLite
(`batch_alter_table` copies the table) drops their triggers and must create them again.
"""

from __future__ import annotations

from typing import Any

PREFIXES = ("search_",)  # search_fts (and its shadow tables), search_doc, search_source


def is_search_object(name: str | None) -> bool:
    return bool(name) and name.startswith(PREFIXES)  # type: ignore[union-attr]


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's filter: the index's tables (and their indexes) are not the models' business."""
    table = getattr(obj, "table", None)
    return not (is_search_object(name) or (table is not None and is_search_object(table.name)))
