"""A fake Telegram Bot API server (aiohttp, on loopback) for end-to-end tests of the bot.

It answers /bot<token>/<method> as Telegram does (`{"ok": true, "result": ...}`), serves
getUpdates from a queue the test fills, records every call, serves files, and can answer
403 for a chat that blocked the bot.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-token-for-the-fake-bot-api"
BOT_ID = 123456


@dataclass
class Call:
    method: str
    params: dict[str, Any]


@dataclass
class FakeBotAPI:
    updates: list[dict[str, Any]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    failing_sends: int = 0  # the next this many sendMessage calls get a 500 and are not delivered
    url: str = ""
    only_token: str | None = None  # when set, any other token is refused with 401, as Telegram does
    _ids: Any = field(default_factory=lambda: itertools.count(1000))
    _update_ids: Any = field(default_factory=lambda: itertools.count(1))
    _message_ids: Any = field(default_factory=lambda: itertools.count(1))
    _arrived: asyncio.Event | None = None
    _runner: web.AppRunner | None = None

    async def start(self, port: int) -> None:
        self._arrived = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    # --- what the test does ------------------------------------------------------------------

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        update.setdefault("update_id", next(self._update_ids))
        self.updates.append(update)
        assert self._arrived is not None
        self._arrived.set()
        return update

    def text(self, chat_id: int, text: str, *, chat_type: str = "private", update_id: int | None = None) -> dict[str, Any]:
        message_id = next(self._message_ids)
        update: dict[str, Any] = {"message": {
            "message_id": message_id, "date": int(time.time()), "text": text,
            "chat": {"id": chat_id, "type": chat_type, **({"first_name": "Sam"} if chat_type == "private" else {"title": "A group"})},
            "from": {"id": chat_id if chat_type == "private" else 777, "is_bot": False, "first_name": "Sam"},
        }}
        if text.startswith("/"):
            update["message"]["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if update_id is not None:
            update["update_id"] = update_id
        return self.push(update)

    def sticker(self, chat_id: int, emoji: str = "😀") -> dict[str, Any]:
        """A sticker and nothing else, as a phone sends it."""
        return self.push({"message": {
            "message_id": next(self._message_ids), "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Sam"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Sam"},
            "sticker": {"file_id": "sticker-1", "file_unique_id": "s1", "type": "regular", "width": 512, "height": 512,
                        "is_animated": False, "is_video": False, "emoji": emoji},
        }})

    def press(self, chat_id: int, data: str) -> dict[str, Any]:
        """A button press on the last message the bot sent to this chat that had buttons."""
        sent = [c for c in self.calls if c.method == "sendMessage" and int(c.params["chat_id"]) == chat_id
                and c.params.get("reply_markup")]
        markup = json.loads(sent[-1].params["reply_markup"]) if sent else None
        return self.push({"callback_query": {
            "id": str(next(self._ids)), "chat_instance": "ci", "data": data,
            "from": {"id": chat_id, "is_bot": False, "first_name": "Sam"},
            "message": {"message_id": 1, "date": int(time.time()), "chat": {"id": chat_id, "type": "private"},
                        "text": "…", **({"reply_markup": markup} if markup else {})},
        }})

    def sent_to(self, chat_id: int) -> list[Call]:
        return [c for c in self.calls if c.method == "sendMessage" and int(c.params["chat_id"]) == chat_id]

    def texts_to(self, chat_id: int) -> list[str]:
        return [c.params["text"] for c in self.sent_to(chat_id)]

    def button_labels(self, call: Call) -> list[str]:
        markup = json.loads(call.params.get("reply_markup") or "null") or {}
        return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]

    async def wait_for(self, check, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls so far: {[(c.method, c.params.get('text', '')[:40]) for c in self.calls]}")
            await asyncio.sleep(0.02)

    # --- the Bot API -------------------------------------------------------------------------

    async def _method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if self.only_token is not None and request.match_info["token"] != self.only_token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        params = dict(await request.post()) if request.can_read_body else {}
        params = {k: (v if isinstance(v, str) else str(v)) for k, v in params.items()}
        if method != "getUpdates":
            self.calls.append(Call(method, params))
        if method == "getMe":
            return _ok({"id": BOT_ID, "is_bot": True, "first_name": "Heard", "username": "heard_test_bot"})
        if method == "getUpdates":
            return _ok(await self._get_updates(params))
        if method in ("deleteWebhook", "setWebhook", "answerCallbackQuery"):
            return _ok(True)
        if method == "sendMessage" and self.failing_sends > 0:
            self.failing_sends -= 1
            self.calls.pop()
            return web.json_response({"ok": False, "error_code": 500, "description": "Internal Server Error"}, status=500)
        if method == "sendMessage":
            chat_id = int(params["chat_id"])
            if chat_id in self.blocked:
                return web.json_response({"ok": False, "error_code": 403,
                                          "description": "Forbidden: bot was blocked by the user"}, status=403)
            return _ok({"message_id": next(self._message_ids), "date": int(time.time()), "text": params["text"],
                        "chat": {"id": chat_id, "type": "private"}})
        if method == "getFile":
            file_id = params["file_id"]
            return _ok({"file_id": file_id, "file_unique_id": f"u{file_id}", "file_path": f"files/{file_id}",
                        "file_size": len(self.files.get(file_id, b""))})
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

    async def _get_updates(self, params: dict[str, str]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates:
            assert self._arrived is not None
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), min(float(params.get("timeout") or 0), 0.5))
            except TimeoutError:
                return []
        return self.updates[:100]

    async def _file(self, request: web.Request) -> web.Response:
        file_id = request.match_info["path"].removeprefix("files/")
        if file_id not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[file_id])


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})
