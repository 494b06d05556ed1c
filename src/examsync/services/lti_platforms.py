"""Registering LTI platforms (an admin's work): issuer, client id, deployments and the platform's URLs."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError

from examsync.domain.errors import ForbiddenError, InvalidRequestError, LtiPlatformExistsError
from examsync.store import lti as store
from examsync.store.database import SYSTEM, Actor, Database

URL_FIELDS = ("auth_login_url", "auth_token_url", "jwks_url")


def _url(name: str, value: str) -> str:
    value = value.strip()
    parts = urlsplit(value)
    # http only for a platform on this machine (a test LMS); anywhere else, keys and tokens travel over TLS.
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme not in ("https", "http") or not parts.netloc or (parts.scheme == "http" and not local):
        raise InvalidRequestError(f"{name} must be an https:// URL", field=name)
    return value


def _text(name: str, value: str) -> str:
    value = value.strip()
    if not value or len(value) > 255:
        raise InvalidRequestError(f"{name} must be 1 to 255 characters", field=name)
    return value


@dataclass
class PlatformService:
    db: Database
    clock: Callable[[], int]

    def add(self, actor: Actor, *, issuer: str, client_id: str, deployment_ids: list[str], auth_login_url: str,
            auth_token_url: str, jwks_url: str) -> tuple[dict[str, Any], bool]:
        """Register a platform (an issuer and the client id it gave examsync) with its deployments; (it, created).

        Registering it again with the same URLs adds the deployment ids it did not have (the tool was installed in
        another sub-account); with other URLs it is refused, so a typo never silently moves a registration.
        """
        _require_admin(actor)
        values = {"id": str(uuid.uuid4()), "issuer": _text("issuer", issuer), "client_id": _text("client_id", client_id),
                  "auth_login_url": _url("auth_login_url", auth_login_url),
                  "auth_token_url": _url("auth_token_url", auth_token_url),
                  "jwks_url": _url("jwks_url", jwks_url), "created_at": self.clock()}
        deployments = [_text("deployment_id", d) for d in deployment_ids]
        if not deployments:
            raise InvalidRequestError("a platform needs at least one deployment id", field="deployment_ids")
        try:
            with self.db.transaction(SYSTEM, write=True) as connection:
                existing = store.platforms_of(connection, values["issuer"], values["client_id"])
                if existing and any(existing[0][k] != values[k] for k in URL_FIELDS):
                    raise LtiPlatformExistsError("this issuer and client id are registered already, with other URLs",
                                                 field="client_id")
                if existing:
                    store.add_deployments(connection, existing[0]["id"], deployments)
                else:
                    store.insert_platform(connection, values, deployments)
        except IntegrityError:
            raise LtiPlatformExistsError("this issuer and client id are registered already",
                                         field="client_id") from None
        return self.get(existing[0]["id"] if existing else values["id"]), not existing

    def get(self, platform_id: str) -> dict[str, Any]:
        with self.db.transaction(SYSTEM, write=False) as connection:
            return _out(connection, store.platform(connection, platform_id))

    def list(self, actor: Actor) -> list[dict[str, Any]]:
        _require_admin(actor)
        with self.db.transaction(SYSTEM, write=False) as connection:
            return [_out(connection, row) for row in store.all_platforms(connection)]

    def origins(self) -> list[str]:
        """The registered platforms' own web origins (issuer and login URL): pages that may frame examsync."""
        with self.db.transaction(SYSTEM, write=False) as connection:
            rows = store.all_platforms(connection)
        found = []
        for row in rows:
            for url in (row["issuer"], row["auth_login_url"]):
                parts = urlsplit(url)
                if parts.scheme in ("http", "https") and parts.netloc:
                    found.append(f"{parts.scheme}://{parts.netloc}")
        return sorted(set(found))


def _out(connection: Any, row: Any) -> dict[str, Any]:
    return {"id": row["id"], "issuer": row["issuer"], "client_id": row["client_id"],
            "deployment_ids": store.deployments(connection, row["id"]),
            **{k: row[k] for k in URL_FIELDS}, "created_at": row["created_at"]}


def _require_admin(actor: Actor) -> None:
    if actor.role not in ("admin", "system"):
        raise ForbiddenError("only an admin can register LTI platforms")
