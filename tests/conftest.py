"""Shared fixtures: a migrated database on SQLite and (when HEARD_TEST_POSTGRES_URL is set) on
PostgreSQL, each test on a database of its own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from models import make_engine
from models.migrate import upgrade

POSTGRES_URL = os.environ.get("HEARD_TEST_POSTGRES_URL", "")


def _postgres_database() -> Iterator[str]:
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"heard_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database of this test's own (skipped without a server)."""
    if not POSTGRES_URL:
        pytest.skip("set HEARD_TEST_POSTGRES_URL to run the PostgreSQL tests")
    yield from _postgres_database()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=[pytest.mark.postgres]),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """An empty database: a fresh SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'heard.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("set HEARD_TEST_POSTGRES_URL to run the PostgreSQL tests")
    yield from _postgres_database()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A database migrated to the head revision."""
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'heard.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()
