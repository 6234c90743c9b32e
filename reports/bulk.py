"""Bulk inserts for the import: one INSERT statement, many rows, one `executemany` (COPY on PostgreSQL).

`conn.execute(insert(table), dicts)` spends most of its time on per-row bookkeeping; this does
the same conversions (each column type's own bind processor, for the connection's dialect)
column by column on plain tuples, remembering converted values (an import repeats the same
dates, kinds and outcomes millions of times), then hands the rows to the driver in one call
on the caller's connection, inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

MEMO_LIMIT = 200_000
PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s"}


class BulkInsert:
    def __init__(self, conn: Connection, table: sa.Table, columns: Sequence[str]) -> None:
        dialect = conn.dialect
        if dialect.paramstyle not in PLACEHOLDER:
            raise NotImplementedError(f"bulk insert needs a positional paramstyle, not {dialect.paramstyle}")
        quote = dialect.identifier_preparer
        # Columns the caller leaves out get their Python-side default, as an ORM insert would
        # (a column added to the schema later with a default keeps the import working).
        extras = [c for c in table.columns if c.name not in columns and not c.primary_key and c.default is not None and not c.default.is_sequence]
        self.extra = tuple(_default_value(c, dialect) for c in extras)
        names = ", ".join(quote.quote(c) for c in [*columns, *(c.name for c in extras)])
        marks = ", ".join(PLACEHOLDER[dialect.paramstyle] for _ in range(len(columns) + len(extras)))
        self.conn = conn
        self.sql = f"INSERT INTO {quote.format_table(table)} ({names}) VALUES ({marks})"
        # PostgreSQL with psycopg: COPY is several times faster than an executemany of INSERTs,
        # and runs on the same connection, so inside the same transaction.
        self.copy = f"COPY {quote.format_table(table)} ({names}) FROM STDIN" if (dialect.name, dialect.driver) == ("postgresql", "psycopg") else None
        self.processors: list[tuple[int, Callable[[Any], Any], dict[Any, Any]]] = []
        for i, name in enumerate(columns):
            process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self.processors.append((i, process, {}))

    def __call__(self, rows: list[tuple[Any, ...]]) -> None:
        """Insert `rows`: tuples in the order of the columns given."""
        if not rows:
            return
        if self.processors:
            columns = list(zip(*rows, strict=True))
            for i, process, memo in self.processors:
                columns[i] = _convert(columns[i], process, memo)
            rows = list(zip(*columns, strict=True))
        if self.extra:
            extra = self.extra
            rows = [(*row, *extra) for row in rows]
        if self.copy is None:
            self.conn.exec_driver_sql(self.sql, rows)
            return
        driver_connection = self.conn.connection.dbapi_connection
        with driver_connection.cursor() as cursor, cursor.copy(self.copy) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)


def _convert(values: Sequence[Any], process: Callable[[Any], Any], memo: dict[Any, Any]) -> list[Any]:
    if len(memo) > MEMO_LIMIT:
        memo.clear()
    try:
        for value in set(values) - memo.keys():
            memo[value] = process(value)
    except TypeError:  # unhashable values (a list for a JSON column): convert one by one
        return [process(v) for v in values]
    return [memo[v] for v in values]


def _default_value(column: sa.Column, dialect: sa.Dialect) -> Any:  # type: ignore[type-arg]
    default = column.default
    value = default.arg(None) if default.is_callable else default.arg  # type: ignore[union-attr,operator]
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process(value) if process else value
