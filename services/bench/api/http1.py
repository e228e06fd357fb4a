"""A minimal HTTP/1.1 keep-alive client for the read bench (plain TCP, GET only).

The bench's clients share the machine's cores with the API and Postgres, so
the client's own work per request counts against the server's figures.  This
client does only what a read needs: one request line and headers written,
the status line and headers read, the body read to its ``Content-Length`` (or
its chunks).  It keeps its connection open and opens a new one when the
server closed it.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit


class HttpError(RuntimeError):
    """The server answered in a way the bench cannot use."""


class Http1Client:
    """One keep-alive connection to ``base_url`` (``http://host:port``)."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._prefix = f"Host: {parts.netloc}\r\n".encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def get(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        """Status and full body of ``GET path``."""
        if self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        assert self._reader is not None
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self._writer.write(
            f"GET {path} HTTP/1.1\r\n".encode() + self._prefix + lines.encode() + b"\r\n"
        )
        head = await self._reader.readuntil(b"\r\n\r\n")
        status, length, chunked, close = _parse_head(head)
        if chunked:
            body = await _read_chunks(self._reader)
        else:
            body = await self._reader.readexactly(length)
        if close:
            await self.close()
        return status, body

    async def close(self) -> None:
        """Close the connection (the next ``get`` opens a new one)."""
        if self._writer is not None:
            self._writer.close()
            await self._writer.wait_closed()
            self._writer = None


def _parse_head(head: bytes) -> tuple[int, int, bool, bool]:
    """Status, Content-Length, chunked, connection close, from the response head."""
    status_line, *fields = head[:-4].split(b"\r\n")
    version, _, rest = status_line.partition(b" ")
    if not version.startswith(b"HTTP/1."):
        raise HttpError("not an HTTP/1.x response")
    length, chunked, close = 0, False, False
    for field in fields:
        name, _, value = field.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            close = b"close" in value.lower()
    return int(rest[:3]), length, chunked, close


async def _read_chunks(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass  # trailer fields, if any
            return bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)
