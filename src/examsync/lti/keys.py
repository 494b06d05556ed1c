"""The tool's own RSA keys: made on first use, kept in the database, published as a JWKS, rotatable.

The newest key that is not retired signs (deep linking responses, service access token requests). Rotating makes a
new key and retires the others; a retired key stays published for `GRACE_MS`, so a platform that cached the JWKS, or
a message signed a moment before the rotation, still verifies.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from examsync.store import lti as store
from examsync.store.database import SYSTEM, Database

GRACE_MS = 7 * 24 * 3600 * 1000
ALGORITHM = "RS256"


def new_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_jwk(kid: str, private_key_pem: str) -> dict[str, Any]:
    private_key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    jwk = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))  # type: ignore[arg-type]
    return {**jwk, "kid": kid, "alg": ALGORITHM, "use": "sig"}


@dataclass
class ToolKeys:
    db: Database
    clock: Callable[[], int]

    def signing_key(self) -> tuple[str, str]:
        """(kid, private key PEM) of the key that signs now; the first one is made here."""
        with self.db.transaction(SYSTEM, write=False) as connection:
            current = [k for k in store.keys(connection) if k["retired_at"] is None]
        if current:
            return current[0]["kid"], current[0]["private_key_pem"]
        return self.rotate()

    def rotate(self) -> tuple[str, str]:
        """Make a new signing key and retire the others (still published for the grace period); its kid and PEM."""
        kid, pem, now = secrets.token_urlsafe(12), new_private_key_pem(), self.clock()
        with self.db.transaction(SYSTEM, write=True) as connection:
            store.insert_key(connection, kid, pem, now)
            store.retire_keys(connection, kid, now)
            store.delete_keys_retired_before(connection, now - GRACE_MS)
        return kid, pem

    def jwks(self) -> dict[str, Any]:
        """The public keys platforms verify the tool's messages with: current ones and those retired lately."""
        self.signing_key()
        now = self.clock()
        with self.db.transaction(SYSTEM, write=False) as connection:
            rows = [k for k in store.keys(connection) if k["retired_at"] is None or k["retired_at"] > now - GRACE_MS]
        return {"keys": [public_jwk(k["kid"], k["private_key_pem"]) for k in rows]}

    def sign(self, claims: dict[str, Any]) -> str:
        kid, pem = self.signing_key()
        return jwt.encode(claims, pem, algorithm=ALGORITHM, headers={"kid": kid})
