"""An aiogram FSM storage on the case record's own table (models.audit.ConversationState).

Plain JSON, no pickle. The key is the one the chat conversation uses (`telegram:<chat>:<user>`),
so aiogram's FSMContext and the conversation read and write the same row, and a restart
carries on where the conversation was.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models import ConversationState


def chat_key(chat_id: int | str, user_id: int | str, thread_id: int | None = None) -> str:
    return f"telegram:{chat_id}:{thread_id}:{user_id}" if thread_id else f"telegram:{chat_id}:{user_id}"


def storage_key(key: StorageKey) -> str:
    return chat_key(key.chat_id, key.user_id, key.thread_id)


class SQLStorage(BaseStorage):
    def __init__(self, engine: Engine, executor: Executor | None = None) -> None:
        self.engine, self.executor = engine, executor

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._run(self._write, storage_key(key), {"state": value})

    async def get_state(self, key: StorageKey) -> str | None:
        # aiogram asks for every update. One primary-key read (never blocked by a writer on
        # SQLite in WAL mode) costs less on the loop than a hop to a thread and back.
        row = self._read(storage_key(key))
        return row.state if row else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._run(self._write, storage_key(key), {"data": dict(data)})

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        row = await self._run(self._read, storage_key(key))
        return dict(row.data or {}) if row else {}

    async def close(self) -> None:
        return None

    def _read(self, key: str) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(_READ, {"k": key}).first()

    def _write(self, key: str, values: dict[str, Any]) -> None:
        with Session(self.engine) as session:
            row = session.get(ConversationState, key) or ConversationState(key=key)
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = max(datetime.now(UTC), row.updated_at + timedelta(microseconds=1)) if row.updated_at else datetime.now(UTC)
            session.add(row)
            session.commit()


_TABLE = ConversationState.__table__  # type: ignore[attr-defined]
_READ = sa.select(_TABLE.c.state, _TABLE.c.data).where(_TABLE.c.key == sa.bindparam("k"))
