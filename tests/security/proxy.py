"""A TCP proxy for fault tests between a Bolt client and a real Neo4j server.

It forwards bytes both ways and can inject two faults: :meth:`CutProxy.cut` drops
every open connection (an RST or an orderly close), and
:meth:`CutProxy.fake_next_commit` makes the next COMMIT a lost one: the message
never reaches the server (which rolls the transaction back when the connection
closes) and the client is answered ``SUCCESS {}``, a success without a bookmark.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading


#: Bolt's COMMIT message (a structure of no fields, signature 0x12) as one chunk.
COMMIT_FRAME = b"\x00\x02\xb0\x12\x00\x00"
#: ``SUCCESS {}`` as one chunk: a success without a bookmark.
SUCCESS_NO_BOOKMARK = b"\x00\x03\xb1\x70\xa0\x00\x00"


class CutProxy:
    """Listen on 127.0.0.1 (a free port), forward to ``target``; :meth:`cut` drops every
    connection open now (new ones are still accepted)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._closed = False
        self._fake_commit = threading.Event()
        self.faked = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
            threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()

    def fake_next_commit(self) -> None:
        """Answer the next COMMIT with ``SUCCESS {}`` and drop it (and its connection)."""
        self._fake_commit.set()

    def _requests(self, client: socket.socket, upstream: socket.socket) -> None:
        """Client -> server; once armed, the COMMIT frame is swallowed and answered."""
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                at = data.find(COMMIT_FRAME) if self._fake_commit.is_set() else -1
                if at < 0:
                    upstream.sendall(data)
                    continue
                self._fake_commit.clear()
                self.faked += 1
                upstream.sendall(data[:at])
                client.sendall(SUCCESS_NO_BOOKMARK)
                break  # both ends closed: the server rolls the open transaction back
        for s in (client, upstream):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self, *, reset: bool = True) -> int:
        """Drop every open connection: with ``reset`` an RST (as a dying host or a
        firewall would), else an orderly close (FIN). Returns how many were open."""
        with self._lock:
            socks, self._open = self._open, []
        for s in socks:
            with contextlib.suppress(OSError):
                if reset:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                else:
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
        return len(socks) // 2

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self.cut()
