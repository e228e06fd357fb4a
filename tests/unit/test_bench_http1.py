"""The read bench's HTTP/1.1 client against a loopback server that answers by the book."""

from __future__ import annotations

import asyncio

import pytest

from services.bench.api.http1 import Http1Client, HttpError

RESPONSES = {
    b"/length": b'HTTP/1.1 200 OK\r\nContent-Length: 7\r\ncontent-type: x\r\n\r\n{"a":1}',
    b"/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nTrailer: t\r\n\r\n",
    b"/close": b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno",
    b"/bad": b"SSH-2.0-nope\r\n\r\n",
}


async def _exchange(paths: list[str]) -> tuple[list[tuple[int, bytes]], list[bytes], int]:
    """Each path fetched in turn; the answers, the requests seen and connections opened."""
    seen: list[bytes] = []
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break  # the client closed its connection
            seen.append(head)
            path = head.split(b" ")[1]
            writer.write(RESPONSES[path])
            await writer.drain()
            if path == b"/close":
                break
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = Http1Client(f"http://127.0.0.1:{port}")
    try:
        answers = [await client.get(path, {"Authorization": "Bearer t"}) for path in paths]
    finally:
        await client.close()
        server.close()
    return answers, seen, connections


def test_bodies_by_length_and_by_chunks_on_one_kept_connection() -> None:
    answers, seen, connections = asyncio.run(_exchange(["/length", "/chunked", "/length"]))
    assert answers == [(200, b'{"a":1}'), (200, b"abcdefg"), (200, b'{"a":1}')]
    assert connections == 1, "keep-alive"
    port_host = seen[0].split(b"\r\n")[1]
    assert port_host.startswith(b"Host: 127.0.0.1:")
    assert b"Authorization: Bearer t\r\n" in seen[0]


def test_a_closed_connection_is_opened_again() -> None:
    answers, _, connections = asyncio.run(_exchange(["/close", "/length"]))
    assert answers == [(404, b"no"), (200, b'{"a":1}')]
    assert connections == 2


def test_a_response_that_is_not_http_is_refused() -> None:
    with pytest.raises(HttpError):
        asyncio.run(_exchange(["/bad"]))
