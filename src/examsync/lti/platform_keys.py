"""Platforms' public keys, fetched from their JWKS URLs over HTTP and cached per URL.

A token whose `kid` is not in the cached set makes one fresh fetch (the platform may have rotated its keys); if the
kid is still unknown the token is refused. The HTTP client is a seam: tests and deployments may pass their own
`httpx.Client` (a proxy, a CA bundle), the default is a plain one with a short timeout.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

from examsync.domain.errors import LtiLaunchError

CACHE_SECONDS = 3600.0


@dataclass
class PlatformKeys:
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10.0, follow_redirects=False))
    _cache: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def key_for(self, jwks_url: str, kid: str | None) -> Any:
        """The public key with this kid at the JWKS URL (refetched once if unknown); refused if there is none."""
        keys = self._keys(jwks_url, refresh=False)
        if kid not in keys:
            keys = self._keys(jwks_url, refresh=True)
        if kid not in keys:
            raise LtiLaunchError("the launch is signed with a key the platform does not publish (unknown kid)",
                                 reason="kid")
        return keys[kid]

    def _keys(self, jwks_url: str, *, refresh: bool) -> dict[str | None, Any]:
        with self._lock:
            cached = self._cache.get(jwks_url)
        if cached is None or refresh or time.monotonic() - cached[0] > CACHE_SECONDS:
            cached = (time.monotonic(), self._fetch(jwks_url))
            with self._lock:
                self._cache[jwks_url] = cached
        keys: dict[str | None, Any] = {}
        for jwk in cached[1].get("keys", []):
            if isinstance(jwk, dict) and jwk.get("kty") == "RSA" and jwk.get("use", "sig") == "sig":
                try:
                    keys[jwk.get("kid")] = jwt.PyJWK(jwk, algorithm="RS256").key
                except jwt.PyJWTError:
                    continue
        return keys

    def _fetch(self, jwks_url: str) -> dict[str, Any]:
        try:
            response = self.client.get(jwks_url, headers={"Accept": "application/json"})
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError):
            raise LtiLaunchError("the platform's keys could not be fetched from its JWKS URL", reason="jwks") from None
        return document if isinstance(document, dict) else {}
