"""A session's live socket as an async iterator that survives disconnects.

The server sends every log entry after the cursor, then `state` and `ready`, then each new entry as it
commits (docs/api.md, "Live updates"). This stream yields each entry exactly once and in `seq` order
across reconnects: after any drop it reconnects from the last `seq` it yielded, with backoff. It
acknowledges what it yielded (the server's flow control) every ACK_EVERY events, and whenever the socket
goes quiet for ACK_IDLE_SECONDS.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import quote

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from examsync.client.errors import ApiError, AuthenticationError, NotFoundError, PermissionDeniedError
from examsync.client.models import HistoryEntry, LiveReady, LiveState
from examsync.client.retry import Backoff

LiveMessage = HistoryEntry | LiveState | LiveReady

ACK_EVERY = 50
ACK_IDLE_SECONDS = 0.1

_REFUSALS: dict[int, tuple[type[ApiError], int, str]] = {
    4401: (AuthenticationError, 401, "invalid_token"),
    4403: (PermissionDeniedError, 403, "forbidden"),
    4404: (NotFoundError, 404, "not_found"),
}


class _Gap(Exception):
    """An event arrived ahead of one not seen yet; the server never leaves gaps, so start again from the cursor."""


async def live_stream(ws_base_url: str, session_id: str, after_seq: int, *, token: Callable[[], str | None],
                      backoff: Backoff, sleep: Callable[[float], Awaitable[None]],
                      open_timeout: float) -> AsyncIterator[LiveMessage]:
    cursor = after_seq
    failures = 0
    while True:
        url = f"{ws_base_url}/api/v1/sessions/{quote(session_id, safe='')}/live?after_seq={cursor}"
        bearer = token()
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        reconnect_at_once = False
        try:
            async with connect(url, additional_headers=headers, open_timeout=open_timeout) as socket:
                acked = cursor
                while True:
                    try:
                        if cursor > acked:
                            raw = await asyncio.wait_for(socket.recv(), ACK_IDLE_SECONDS)
                        else:
                            raw = await socket.recv()
                    except TimeoutError:
                        await socket.send(json.dumps({"type": "ack", "seq": cursor}))
                        acked = cursor
                        continue
                    message = _parse(raw)
                    kind = message.get("type")
                    if kind == "event" and isinstance(message.get("seq"), int):
                        if message["seq"] <= cursor:
                            continue
                        if message["seq"] != cursor + 1:
                            raise _Gap
                        yield HistoryEntry.from_json({k: v for k, v in message.items() if k != "type"})
                        cursor = message["seq"]
                        if cursor - acked >= ACK_EVERY:
                            await socket.send(json.dumps({"type": "ack", "seq": cursor}))
                            acked = cursor
                    elif kind == "state":
                        yield LiveState.from_json({k: v for k, v in message.items() if k != "type"})
                    elif kind == "ready":
                        failures = 0
                        yield LiveReady(last_seq=message.get("last_seq", cursor))
                    # pong, error and message types newer than this client are not for the caller
        except _Gap:
            reconnect_at_once = failures == 0
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd is not None else None
            if code in _REFUSALS:
                cls, status, error_code = _REFUSALS[code]
                raise cls(status, error_code, closed.rcvd.reason or "the live socket was refused") from closed
            # 4008 (fell behind) and 4429 (sent too much): the server asks for a reconnect from the cursor.
            reconnect_at_once = code in (4008, 4429) and failures == 0
        except InvalidStatus as refused:
            status = refused.response.status_code
            if 400 <= status < 500:
                raise ApiError(status, "http_error", f"the live socket was refused with HTTP {status}") from refused
        except (OSError, TimeoutError, InvalidHandshake):
            pass  # the server cannot be reached right now: try again later
        if not reconnect_at_once:
            await sleep(backoff.delay(failures))
        failures += 1


def _parse(raw: str | bytes) -> dict[str, object]:
    try:
        message = json.loads(raw)
    except ValueError:
        return {}
    return message if isinstance(message, dict) else {}
