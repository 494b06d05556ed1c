"""Signed bearer tokens: the server's signing key, checking a token's signature and claims, and the cache of
signatures already checked. Who a token stands for is decided by `Accounts` (accounts.py)."""

from __future__ import annotations

import math
import os
import secrets
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import jwt

from examsync.domain.errors import InvalidTokenError, TokenExpiredError
from examsync.settings import Settings

ISSUER = "examsync"


def load_or_create_secret(settings: Settings) -> str:
    """The signing key: configured, or generated once and kept in the data directory (embedded default only).

    The file is created with mode 600 in one step (never readable by others, not even for an instant), and
    exclusively, so two processes starting at once agree on one key.
    """
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_path / "secret_key"
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path)
    with os.fdopen(descriptor, "w") as file:
        file.write(key)
    return key


def _read_key(path: Path) -> str:
    # A key being written by another process that won the race: wait for its content.
    for _ in range(100):
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.01)
    raise RuntimeError(f"{path} is empty: delete it or set EXAMSYNC_SECRET_KEY")


class VerifiedTokens:
    """This server's tokens whose signature has been checked, with their claims, until they expire.

    A student sends the same token with every op; checking its signature once instead of every time
    takes a sizeable share of the op path's work off the event loop. Only signature checks are
    remembered: expiry is checked on every use, and whether the account still exists is not cached.
    """

    def __init__(self, capacity: int = 50_000) -> None:
        self.capacity = capacity
        self._claims: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str) -> dict[str, Any] | None:
        with self._lock:
            claims = self._claims.get(token)
            if claims is None:
                return None
            if claims["exp"] <= time.time():  # as PyJWT decides expiry, so both agree
                del self._claims[token]
                return None
            self._claims.move_to_end(token)
            return claims

    def put(self, token: str, claims: dict[str, Any]) -> None:
        with self._lock:
            self._claims[token] = claims
            if len(self._claims) > self.capacity:
                self._claims.popitem(last=False)


def is_own(token: str) -> bool:
    try:
        return jwt.decode(token, options={"verify_signature": False}).get("iss") == ISSUER
    except jwt.PyJWTError:
        return False


def decode(token: str, key: Any, algorithms: list[str], **options: Any) -> dict[str, Any]:
    try:
        claims = jwt.decode(token, key, algorithms=algorithms, options={"require": ["exp", "sub"], "verify_iat": False}, **options)
    except jwt.ExpiredSignatureError:
        raise TokenExpiredError("the bearer token has expired; log in again") from None
    except jwt.PyJWTError:
        raise InvalidTokenError("the bearer token is invalid") from None
    if not _claims_well_typed(claims):
        raise InvalidTokenError("the bearer token is invalid")
    return claims


_TIME_CLAIMS = ("exp", "iat", "nbf")
_TEXT_CLAIMS = ("role", "jti")


def _claims_well_typed(claims: dict[str, Any]) -> bool:
    """Every claim the server reads has the type it expects, so no validly signed token can make it fail.

    PyJWT accepts `"exp": "1900000000"` (it converts), which would break every later comparison with a number.
    """
    def is_time(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

    return (isinstance(claims.get("sub"), str) and claims["sub"] != ""
            and all(is_time(claims[name]) for name in _TIME_CLAIMS if name in claims)
            and all(isinstance(claims[name], str) for name in _TEXT_CLAIMS if name in claims))
