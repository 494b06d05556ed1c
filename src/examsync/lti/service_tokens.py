"""The platforms' service access tokens, kept while they are good: asking for one signs an assertion and costs the
platform a request, and a sender posting a class's scores needs the same token for every one of them.

A token is kept per (platform, scopes) until shortly before its `expires_in` runs out. A service answering 401 may
have revoked it early: `call` then forgets it, asks for a new one and tries once more.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from examsync.lti.advantage import LtiServiceError, service_token
from examsync.lti.keys import ToolKeys

T = TypeVar("T")

# A token is dropped this long before the platform said it expires, so that none expires on its way.
EXPIRY_MARGIN_S = 60
DEFAULT_EXPIRES_IN_S = 3600  # a platform that says nothing about expiry


@dataclass
class ServiceTokens:
    tool_keys: ToolKeys
    clock: Callable[[], int]  # milliseconds
    http: httpx.Client
    _tokens: dict[tuple[str, tuple[str, ...]], tuple[str, int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def token(self, platform: Any, scopes: list[str]) -> str:
        key = (str(platform["id"]), tuple(sorted(set(scopes))))
        now_s = self.clock() // 1000
        with self._lock:
            kept = self._tokens.get(key)
        if kept is not None and kept[1] > now_s:
            return kept[0]
        answer = service_token(client_id=platform["client_id"], auth_token_url=platform["auth_token_url"],
                               scopes=list(key[1]), tool_keys=self.tool_keys, client=self.http, now_s=now_s)
        expires_in = answer.get("expires_in")
        lifetime = int(expires_in) if isinstance(expires_in, (int, float)) and expires_in > 0 else DEFAULT_EXPIRES_IN_S
        with self._lock:
            self._tokens[key] = (answer["access_token"], now_s + max(0, lifetime - EXPIRY_MARGIN_S))
        return str(answer["access_token"])

    def forget(self, platform: Any, scopes: list[str]) -> None:
        with self._lock:
            self._tokens.pop((str(platform["id"]), tuple(sorted(set(scopes)))), None)

    def call(self, platform: Any, scopes: list[str], request: Callable[[str], T]) -> T:
        """`request(token)`; on a 401 once more with a fresh token."""
        try:
            return request(self.token(platform, scopes))
        except LtiServiceError as error:
            if error.status != 401:
                raise
        self.forget(platform, scopes)
        return request(self.token(platform, scopes))
