"""PostgreSQL going away under the SMTP intake: 451 while it is down, everything kept once back."""

from __future__ import annotations

import socket
import threading

import pytest
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from models import Message, make_engine
from models.enums import MessageState
from models.migrate import upgrade
from tests.helpers import free_port
from tests.mailserver import MailServer
from tests.test_email_intake import email


class Proxy:
    """A TCP forwarder on loopback standing between Heard and PostgreSQL; `down()` cuts it."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.port = target, free_port()
        self.listener: socket.socket | None = None
        self.links: list[socket.socket] = []

    def up(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.accepting = threading.Thread(target=self._accept, args=(self.listener,), daemon=True)
        self.accepting.start()

    def down(self) -> None:
        assert self.listener is not None
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone does not
        except OSError:
            pass
        self.listener.close()
        self.accepting.join(5)  # no link may be added once we start cutting them
        for link in self.links:
            try:
                link.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            link.close()
        self.links.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.links += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass


@pytest.mark.postgres
def test_postgres_down_means_451_and_nothing_lost_once_it_is_back(postgres_url: str) -> None:
    upgrade(postgres_url)
    real = make_url(postgres_url)
    proxy = Proxy((real.host or "127.0.0.1", real.port or 5432))
    proxy.up()
    engine = make_engine(real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
    server = MailServer(engine).start()
    raw = email("the contact centre cancelled again and nobody told us")
    try:
        assert server.send(email("a first message while all is well"))[0] == 250
        proxy.down()
        code, reply = server.send(raw)
        assert (code, reply[:5]) == (451, b"4.3.0")
        proxy.up()
        assert server.send(raw)[0] == 250  # the sender's retry
        server.settle()
    finally:
        server.stop()
        engine.dispose()
        proxy.down()
    check = make_engine(postgres_url)
    with Session(check) as session:
        stored = list(session.exec(select(Message).order_by(Message.id)))
    check.dispose()
    assert len(stored) == 2
    assert stored[1].raw_bytes == raw and stored[1].state is MessageState.processed
