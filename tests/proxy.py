"""A small HTTP proxy on loopback that records what passes through it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import attrs


@attrs.define
class CountingProxy:
    """An HTTP proxy on loopback: absolute-form requests and CONNECT tunnels.

    It records the head of the first request on each connection it accepts.
    """

    heads: list[str] = attrs.field(factory=list)
    server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    @property
    def request_lines(self) -> list[str]:
        return [head.split("\r\n", 1)[0] for head in self.heads]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        self.heads.append(head)
        method, target, _ = head.split(" ", 2)
        hostport = target if method == "CONNECT" else target.split("/", 3)[2]
        host, port = hostport.rsplit(":", 1)
        try:
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
        except OSError:  # as a real proxy answers when the server is unreachable
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            writer.close()
            return
        if method == "CONNECT":
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:  # absolute form, which an HTTP/1.1 server must accept as it is
            # As a real proxy does: its own credentials stop here.
            kept = [h for h in head.split("\r\n") if not h.lower().startswith("proxy-")]
            up_writer.write("\r\n".join(kept).encode("latin-1"))
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def counting_proxy() -> AsyncIterator[CountingProxy]:
    counting = CountingProxy()
    counting.server = await asyncio.start_server(counting.handle, "127.0.0.1", 0)
    try:
        yield counting
    finally:
        counting.server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(counting.server.wait_closed(), 2)
