"""The last-resort path: answers a student downloaded, encrypted, while offline too long.

The browser encrypts its queued ops with a random AES-256-GCM key, and that key
with RSA-OAEP (SHA-256) to the server's public key (`GET /api/v1/offline-key`).
The public key is public, so encryption proves nothing about who wrote a file:
the proof is `mac`, an HMAC-SHA256 of the plaintext under the session's rescue
secret, which only the session owner's devices receive (in the start and resume
responses). The secret is derived from the server's signing key, the session and
its owner, so nothing is stored per session.
Staff apply the file with `examsync import-responses`, which goes through the
same op path as the live API, so a file applied twice, or after the queue
drained, changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
from dataclasses import dataclass
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


@dataclass(frozen=True)
class RescueFile:
    """A decrypted rescue file: its payload, and what proves which device wrote it."""

    payload: dict[str, Any]
    plaintext: bytes
    mac: str | None


def session_secret(server_secret: str, session_id: str, user_id: str) -> str:
    """The secret a session owner's devices sign their rescue files with."""
    message = f"examsync-rescue\0{session_id}\0{user_id}".encode()
    digest = hmac.new(server_secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def file_mac(secret: str, plaintext: bytes) -> str:
    return _b64(hmac.new(secret.encode(), plaintext, hashlib.sha256).digest())


def verify_origin(rescued: RescueFile, server_secret: str, owner_id: str) -> None:
    """Refuse a file not written by a device of the session's owner."""
    if not isinstance(rescued.mac, str) or not rescued.mac:
        raise RescueFileError("the file has no proof that it came from the student's device (no mac); "
                              "it may be forged, or written by an older version of the web app")
    expected = file_mac(session_secret(server_secret, rescued.payload["session_id"], owner_id), rescued.plaintext)
    if not hmac.compare_digest(expected, rescued.mac):
        raise RescueFileError("the file's proof of origin (mac) does not match its session and student: "
                              "it was not written by a device of this session's owner, or it was altered")


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
    """Load the key, or create it: mode 600 from the start, and exclusively, so two processes agree on one key."""
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process won the race: use its key
        else:
            with os.fdopen(descriptor, "wb") as file:
                file.write(key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                ))
            return key
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise RescueFileError(f"{path} does not hold an RSA private key")
    return loaded


def key_id(key: rsa.RSAPrivateKey) -> str:
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:16]


def public_key_document(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.pop("key_ops", None)  # PyJWT marks it "verify"; WebCrypto must be allowed to encrypt
    kid = key_id(key)
    return {"kid": kid, "alg": "RSA-OAEP-256",
            "jwk": {**jwk, "alg": "RSA-OAEP-256", "kid": kid, "use": "enc", "key_ops": ["encrypt"]}}


def encrypt(payload: dict[str, Any], public_key: rsa.RSAPublicKey, kid: str, secret: str | None) -> dict[str, Any]:
    """What the browser does, for tests and tools; `secret` is the session's rescue secret (None: no mac)."""
    plaintext = json.dumps(payload).encode()
    aes_key, iv = AESGCM.generate_key(bit_length=256), os.urandom(12)
    ciphertext = AESGCM(aes_key).encrypt(iv, plaintext, None)
    encrypted_key = public_key.encrypt(aes_key, _oaep())
    document = {"format": FORMAT, "kid": kid, "alg": ALG, "encrypted_key": _b64(encrypted_key),
                "iv": _b64(iv), "ciphertext": _b64(ciphertext)}
    return document if secret is None else {**document, "mac": file_mac(secret, plaintext)}


def decrypt(document: Any, key: rsa.RSAPrivateKey) -> RescueFile:
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
    return RescueFile(payload, plaintext, document.get("mac"))


def _oaep() -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
