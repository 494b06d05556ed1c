"""Accounts: sign-up, login, signed bearer tokens, and tokens from an external identity provider.

Passwords are hashed with argon2. Tokens are JWTs signed with HS256 by our
key; optionally, tokens signed by an external provider (an HS256 secret or a
JWKS file) are trusted too, and their subject gets a local account on first
use, so a deployment that already has accounts keeps its users. The signing key and the checks of a token's
signature and claims are in tokens.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from examsync.domain.errors import (
    AccountDisabledError,
    EmailTakenError,
    InvalidCredentialsError,
    InvalidRequestError,
    InvalidTokenError,
    WeakPasswordError,
)
from examsync.settings import Settings
from examsync.store import users as store
from examsync.store.database import SYSTEM, Actor, Database
from examsync.tokens import ISSUER, VerifiedTokens, decode, is_own, load_or_create_secret

ROLES = ("student", "teacher", "admin")
MIN_PASSWORD_LENGTH = 8
MAX_EMAIL_LENGTH = 320
# How long a device token proves its device; each login with it issues a fresh one.
DEVICE_TOKEN_TTL_SECONDS = 180 * 24 * 3600
# Whitespace as str.strip() and Python's \s mean it, listed: ECMAScript's \s (the served OpenAPI's patterns) leaves
# out U+001C..U+001F and U+0085 and adds U+FEFF, so a pattern with \s would allow what the server refuses.
_SPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_ADDRESS_PART = rf"[^@{_SPACE}\x00]+"
# An address, with whitespace around it allowed (it is stripped); served as the pattern of every signup email.
EMAIL_PATTERN = rf"^[{_SPACE}]*{_ADDRESS_PART}@{_ADDRESS_PART}\.{_ADDRESS_PART}[{_SPACE}]*$"
_EMAIL = re.compile(EMAIL_PATTERN)
_hasher = PasswordHasher()
# Verifying against this keeps a login for an unknown email as slow as a real one.
_DUMMY_HASH = _hasher.hash("not a password" + secrets.token_hex(8))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def is_text(value: str) -> bool:
    """Text that can be stored and hashed: no NUL character, no unpaired surrogate."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def normalise_email(email: str) -> str:
    if not _EMAIL.fullmatch(email) or not is_text(email):
        raise InvalidRequestError("that is not an email address", field="email")
    email = email.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH:  # as stored: lowercase "İ" is two characters
        raise InvalidRequestError("that is not an email address", field="email")
    return email


@dataclass
class Accounts:
    db: Database
    secret: str
    token_ttl_seconds: int
    clock: Callable[[], int]
    external_secret: str = ""
    external_jwks: dict[str, Any] | None = None
    external_audience: str = ""
    external_issuer: str = ""
    _verified: "VerifiedTokens" = field(default_factory=lambda: VerifiedTokens())

    @classmethod
    def from_settings(cls, db: Database, settings: Settings, clock: Callable[[], int]) -> "Accounts":
        jwks = json.loads(Path(settings.external_jwks_file).read_text()) if settings.external_jwks_file else None
        return cls(
            db=db,
            secret=load_or_create_secret(settings),
            token_ttl_seconds=settings.token_ttl_seconds,
            clock=clock,
            external_secret=settings.external_jwt_secret,
            external_jwks=jwks,
            external_audience=settings.external_jwt_audience,
            external_issuer=settings.external_jwt_issuer,
        )

    def add_user(self, email: str, password: str, *, display_name: str = "", role: str = "student") -> str:
        """Create an account (sign-up, `examsync users add`, an admin); its id."""
        if role not in ROLES:
            raise InvalidRequestError(f"role must be one of {', '.join(ROLES)}", field="role")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise WeakPasswordError(f"a password has at least {MIN_PASSWORD_LENGTH} characters", field="password")
        if len(password) > 1024:
            raise WeakPasswordError("a password has at most 1024 characters", field="password")
        if not is_text(password):
            raise InvalidRequestError("a password cannot hold NUL characters or unpaired surrogates", field="password")
        if not is_text(display_name):
            raise InvalidRequestError("a display name cannot hold NUL characters or unpaired surrogates",
                                      field="display_name")
        email = normalise_email(email)
        user_id = str(uuid.uuid4())
        # A retried sign-up whose first attempt went through is answered without the slow hash.
        self._refuse_taken(email)
        password_hash = hash_password(password)  # slow on purpose: not inside the transaction
        try:
            with self.db.transaction(SYSTEM, write=True) as connection:
                self._refuse_taken(email, connection)
                store.insert_user(connection, user_id=user_id, email=email, password_hash=password_hash,
                                  display_name=display_name.strip()[:200], role=role, created_at=self.clock())
        except IntegrityError:
            # The same address signed up at the same instant (a retried request): one of them wins.
            raise EmailTakenError("an account with this email already exists", field="email") from None
        return user_id

    def _refuse_taken(self, email: str, connection: Connection | None = None) -> None:
        with nullcontext(connection) if connection else self.db.transaction(SYSTEM, write=False) as reading:
            if store.email_taken(reading, email):
                raise EmailTakenError("an account with this email already exists", field="email")

    def login(self, email: str, password: str) -> dict[str, Any]:
        try:
            email = normalise_email(email)
        except InvalidRequestError:
            raise InvalidCredentialsError("wrong email or password") from None
        if not is_text(password):
            password = ""  # matches no account's password, and is checked as slowly as any other
        with self.db.transaction(SYSTEM, write=False) as connection:
            row = store.login_row(connection, email)
        try:
            _hasher.verify(row["password_hash"] if row and row["password_hash"] else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            raise InvalidCredentialsError("wrong email or password") from None
        if row is None:
            raise InvalidCredentialsError("wrong email or password")
        if row["disabled"]:  # said only to whoever knows the password
            raise AccountDisabledError()
        return self.issue_token(row["id"], row["role"])

    def issue_token(self, user_id: str, role: str) -> dict[str, Any]:
        now = self.clock() // 1000
        claims = {"sub": user_id, "role": role, "iss": ISSUER, "iat": now, "exp": now + self.token_ttl_seconds,
                  "jti": secrets.token_hex(8)}
        return {
            "access_token": jwt.encode(claims, self.secret, algorithm="HS256"),
            "token_type": "bearer",
            "expires_in": self.token_ttl_seconds,
        }

    def issue_device_token(self, account: str, device: str | None = None) -> str:
        """A token proving that a device has logged in to this email (lowercased, stripped): `device.expiry.mac`.

        It names a device (`device`, or a new one) and is signed with the server's key for this email alone. It is
        not a JWT, so no bearer check accepts it: it only lets the login limits tell its device from its address.
        """
        device = device or secrets.token_urlsafe(12)
        expires = self.clock() // 1000 + DEVICE_TOKEN_TTL_SECONDS
        return f"{device}.{expires}.{self._device_mac(account, device, expires)}"

    def device_of(self, device_token: str, account: str) -> str | None:
        """The device a device token names, if it is this server's, for this email and unexpired; else None."""
        device, _, rest = device_token.partition(".")
        expires, _, mac = rest.partition(".")
        if not device or not device_token.isascii() or not expires.isdigit() or len(expires) > 12:
            return None
        if int(expires) <= self.clock() // 1000:
            return None
        expected = self._device_mac(account, device, int(expires))
        return device if hmac.compare_digest(mac.encode(), expected.encode()) else None

    def _device_mac(self, account: str, device: str, expires: int) -> str:
        message = f"examsync-device\0{account}\0{device}\0{expires}".encode()
        digest = hmac.new(self.secret.encode(), message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def authenticate(self, token: str) -> Actor:
        """The actor a bearer token stands for, in the role the account has now (a token's role claim is never
        read); the account must still exist and not be disabled."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidTokenError("the bearer token is malformed") from None
        claims = self._verified.get(token) or (
            self._decode_own(token) if is_own(token) else self._decode_external(token, header))
        own = claims.get("iss") == ISSUER
        with self.db.transaction(SYSTEM, write=False) as connection:
            row = (store.token_account(connection, user_id=claims["sub"]) if own
                   else store.token_account(connection, external_subject=str(claims["sub"])[:255]))
        if row is None:
            if own:
                raise InvalidTokenError("this token's account no longer exists")
            return self._provision_external(claims)
        if row.disabled:
            raise AccountDisabledError()
        return Actor(row.id, row.role)

    def role_of(self, user_id: str) -> str | None:
        """The account's role as the database holds it now; None once the account is deleted or disabled."""
        with self.db.transaction(SYSTEM, write=False) as connection:
            return store.enabled_role(connection, user_id)

    def op_sender(self, token: str) -> Actor | None:
        """The student a token of this server names, checked by signature and expiry only, as the least
        privileged role; None for an external token (use `authenticate`). For the op path alone: it
        reads the session joined to its owner in the transaction that writes, which proves the account
        still exists and is enabled without a query of its own (a deleted or disabled account's token is
        refused there: `store.sessions.session_row`, `user_exists`)."""
        claims = self._verified.get(token)
        if claims is None:
            if not is_own(token):
                return None
            claims = self._decode_own(token)
        return Actor(claims["sub"], "student")

    def _decode_own(self, token: str) -> dict[str, Any]:
        claims = decode(token, self.secret, ["HS256"], issuer=ISSUER)
        self._verified.put(token, claims)
        return claims

    def _decode_external(self, token: str, header: dict[str, Any]) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.external_audience:
            options["audience"] = self.external_audience
        if self.external_issuer:
            options["issuer"] = self.external_issuer
        if header.get("alg") == "HS256" and self.external_secret:
            return decode(token, self.external_secret, ["HS256"], **options)
        if self.external_jwks and header.get("alg") in ("RS256", "ES256"):
            for key in self.external_jwks.get("keys", []):
                if header.get("kid") in (None, key.get("kid")):
                    public_key = jwt.PyJWK(key).key
                    return decode(token, public_key, [header["alg"]], **options)
        raise InvalidTokenError("the bearer token is not signed by a trusted key")

    def _provision_external(self, claims: dict[str, Any]) -> Actor:
        subject = str(claims["sub"])[:255]
        email = str(claims.get("email") or f"{subject}@external.invalid").lower()[:320]
        user_id = str(uuid.uuid4())
        with self.db.transaction(SYSTEM, write=True) as connection:
            existing = store.token_account(connection, external_subject=subject)
            if existing:
                if existing.disabled:
                    raise AccountDisabledError()
                return Actor(existing.id, existing.role)
            if store.email_taken(connection, email):
                email = f"{subject}@external.invalid"
            store.insert_user(connection, user_id=user_id, email=email, password_hash=None,
                              display_name=str(claims.get("name") or "")[:200], role="student",
                              created_at=self.clock(), external_subject=subject)
        return Actor(user_id, "student")
