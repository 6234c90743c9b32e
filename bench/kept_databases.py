"""What the large benchmarks share: databases built once and kept between runs (a SQLite file
under var/bench/, or a database of its own on PostgreSQL), and the percentile they report.
Imported by the bench scripts after they put the project root on sys.path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from models import make_engine
from models.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]


def kept_databases(kind: str, size: int, backend: str, postgres_url: str, rebuild: bool) -> list[tuple[str, str]]:
    """(label, URL) of each database to measure, for `backend` "sqlite", "postgresql" or "both";
    `rebuild` drops one kept from an earlier run."""
    targets = []
    if backend in ("sqlite", "both"):
        path = ROOT / "var" / "bench" / f"{kind}-{size}.db"
        if rebuild and path.exists():
            path.unlink()
        targets.append(("SQLite", f"sqlite:///{path}"))
    if backend in ("postgresql", "both"):
        name = f"heard_bench_{kind}_{size}"
        admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            if exists and rebuild:
                conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
                exists = None
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        targets.append(("PostgreSQL", make_url(postgres_url).set(database=name).render_as_string(hide_password=False)))
    return targets


def ready(url: str, table: str, size: int, build: Callable[[str, int], None]) -> None:
    """Build the database unless it already holds `size` rows of `table` (building takes minutes at
    a million); then bring a kept one up to the newest migration."""
    if _rows(url, table) != size:
        if url.startswith("sqlite"):
            Path(make_url(url).database).unlink(missing_ok=True)  # type: ignore[arg-type]
        build(url, size)
    upgrade(url)


def _rows(url: str, table: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar_one()
    except sa.exc.SQLAlchemyError:
        return -1
    finally:
        engine.dispose()


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]
