"""The last-resort path: answers a student downloaded, encrypted, while offline too long.

The browser encrypts its queued ops with a random AES-256-GCM key, and that key
with RSA-OAEP (SHA-256) to the server's public key (`GET /api/v1/offline-key`).
Staff apply the file with `examsync import-responses`, which goes through the
same op path as the live API, so a file applied twice, or after the queue
drained, changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import jwt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT = "examsync-rescue-1"
ALG = "RSA-OAEP-256+A256GCM"


class RescueFileError(Exception):
    """A rescue file that cannot be read; the message says why."""


class RescueKey:
    """The server's key pair, loaded (or created) on first use: creating one takes a moment."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._key: rsa.RSAPrivateKey | None = None
        self._lock = threading.Lock()

    @property
    def private(self) -> rsa.RSAPrivateKey:
        with self._lock:
            if self._key is None:
                self._key = load_or_create_key(self.path)
            return self._key

    def public_document(self) -> dict[str, Any]:
        return public_key_document(self.private)


def load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise RescueFileError(f"{path} does not hold an RSA private key")
        return key
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))
    path.chmod(0o600)
    return key


def key_id(key: rsa.RSAPrivateKey) -> str:
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:16]


def public_key_document(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.pop("key_ops", None)  # PyJWT marks it "verify"; WebCrypto must be allowed to encrypt
    kid = key_id(key)
    return {"kid": kid, "alg": "RSA-OAEP-256",
            "jwk": {**jwk, "alg": "RSA-OAEP-256", "kid": kid, "use": "enc", "key_ops": ["encrypt"]}}


def encrypt(payload: dict[str, Any], public_key: rsa.RSAPublicKey, kid: str) -> dict[str, Any]:
    """What the browser does, for tests and tools."""
    aes_key, iv = AESGCM.generate_key(bit_length=256), os.urandom(12)
    ciphertext = AESGCM(aes_key).encrypt(iv, json.dumps(payload).encode(), None)
    encrypted_key = public_key.encrypt(aes_key, _oaep())
    return {"format": FORMAT, "kid": kid, "alg": ALG, "encrypted_key": _b64(encrypted_key),
            "iv": _b64(iv), "ciphertext": _b64(ciphertext)}


def decrypt(document: Any, key: rsa.RSAPrivateKey) -> dict[str, Any]:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise RescueFileError(f"not an examsync answers file (expected format {FORMAT!r})")
    if document.get("kid") != key_id(key):
        raise RescueFileError(
            f"encrypted to key {document.get('kid')!r}, but this server's key is {key_id(key)!r}"
        )
    try:
        aes_key = key.decrypt(_unb64(document["encrypted_key"]), _oaep())
        plaintext = AESGCM(aes_key).decrypt(_unb64(document["iv"]), _unb64(document["ciphertext"]), None)
        payload = json.loads(plaintext)
    except (KeyError, ValueError, InvalidTag, TypeError) as error:
        raise RescueFileError(f"the file cannot be decrypted: {error or type(error).__name__}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("session_id"), str) or not isinstance(payload.get("ops"), list):
        raise RescueFileError("the decrypted file has no session_id and ops")
    return payload


def _oaep() -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
