"""Transports that break op batches the way networks and servers do, forwarding everything else."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

Failure = Callable[[httpx.AsyncBaseTransport, httpx.Request], Awaitable[httpx.Response]]


class FailingBatches(httpx.AsyncBaseTransport):
    """Records every op batch sent; the first ones fail, one per entry of `failures`, in order."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *failures: Failure) -> None:
        self.inner = inner
        self.failures = list(failures)
        self.batches: list[dict[str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or not request.url.path.endswith("/ops"):
            return await self.inner.handle_async_request(request)
        self.batches.append(json.loads(request.content))
        if self.failures:
            return await self.failures.pop(0)(self.inner, request)
        return await self.inner.handle_async_request(request)

    def op_ids(self) -> list[list[str]]:
        return [[op["op_id"] for op in batch["ops"]] for batch in self.batches]


async def answer_lost(inner: httpx.AsyncBaseTransport, request: httpx.Request) -> httpx.Response:
    """The server commits the batch, and the connection drops before its answer arrives."""
    response = await inner.handle_async_request(request)
    await response.aread()
    await response.aclose()
    raise httpx.ReadError("connection reset by peer", request=request)


async def unreachable(_inner: httpx.AsyncBaseTransport, request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


async def timed_out(_inner: httpx.AsyncBaseTransport, request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


async def server_error_after_commit(inner: httpx.AsyncBaseTransport, request: httpx.Request) -> httpx.Response:
    """A proxy in front of the server answers 502 after the server committed the batch."""
    response = await inner.handle_async_request(request)
    await response.aread()
    await response.aclose()
    return httpx.Response(502, text="<html>Bad gateway</html>", request=request)


async def server_error(_inner: httpx.AsyncBaseTransport, request: httpx.Request) -> httpx.Response:
    return httpx.Response(500, json={"error": {"code": "internal_error", "message": "retry"}}, request=request)
