"""A stand-in LMS for the LTI tests: its own RSA keys, its JWKS served over real HTTP on a free local port (so the
tool's fetch, cache and refetch are the real ones), and builders of signed launch messages.

    platform = Platform.start()            # serving http://127.0.0.1:<port>/jwks
    location = tool.get("/lti/login", params=platform.login_params())      # the tool's 302
    id_token = platform.id_token(nonce_of(location), roles=[LEARNER], custom={"examsync_test": "mini-diagnostic"})
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
TEACHING_ASSISTANT = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"
ADMINISTRATOR = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"


@dataclass
class Key:
    kid: str
    private: rsa.RSAPrivateKey

    @classmethod
    def new(cls) -> "Key":
        return cls(secrets.token_hex(6), rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @property
    def pem(self) -> bytes:
        return self.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption())

    def jwk(self) -> dict[str, Any]:
        return {**json.loads(RSAAlgorithm.to_jwk(self.private.public_key())), "kid": self.kid, "alg": "RS256",
                "use": "sig"}


@dataclass
class Platform:
    issuer: str
    client_id: str
    deployment_id: str
    server: ThreadingHTTPServer
    keys: list[Key] = field(default_factory=lambda: [Key.new()])
    jwks_fetches: int = 0
    published: dict[str, Any] | None = None  # a JWKS document to serve instead of `keys` (another implementation's)
    received: list[dict[str, Any]] = field(default_factory=list)  # what the tool POSTed: path, headers, body
    # More GET pages, by path: a function of the query answering (content type, body). The browser test serves the
    # LMS's course page (framing the tool) and its OIDC authorization endpoint with them.
    pages: dict[str, Callable[[dict[str, str]], tuple[str, bytes]]] = field(default_factory=dict)
    # The services (AGS, NRPS). With `tool_jwks` set, the token endpoint checks the client assertion as a platform
    # must: signed by a key of the tool's JWKS, aud the token URL, a jti never seen before.
    tool_jwks: Callable[[], dict[str, Any]] | None = None
    token_generation: int = 0  # revoke() starts a new one: the tokens of the old one answer 401
    token_expires_in: int = 3600
    used_jtis: set[str] = field(default_factory=set)
    refusals: list[int] = field(default_factory=list)  # statuses the scores endpoint answers next, one per request
    retry_after: str | None = None  # sent with a refusal of 429 or 503
    members: list[dict[str, Any]] = field(default_factory=list)  # NRPS, served `page_size` a page
    page_size: int = 2
    line_items: list[dict[str, Any]] = field(default_factory=list)  # created through the line items container
    accepted: list[dict[str, Any]] = field(default_factory=list)  # scores answered 200: path, headers and body
    _handler: Any = None

    @classmethod
    def start(cls, *, issuer: str = "https://lms.example.edu", client_id: str | None = None) -> "Platform":
        platform: Platform

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                page = platform.pages.get(urlsplit(self.path).path)
                if page is not None:
                    content_type, body = page(query_of(self.path))
                    self.send_response(200)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                path = urlsplit(self.path).path
                if path == "/memberships":
                    self._memberships()
                    return
                if path != "/jwks":
                    self.send_error(404)
                    return
                platform.jwks_fetches += 1
                self._answer(200, platform.published or {"keys": [k.jwk() for k in platform.keys]})

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                platform.received.append({"method": "POST", "path": self.path, "headers": dict(self.headers),
                                          "body": body})
                path = urlsplit(self.path).path
                if path == "/token":
                    self._answer(*platform._token(parse_qs(body)))
                elif not platform._authorized(self.headers.get("Authorization")):
                    self._answer(401, {"error": "invalid token"})
                elif path == "/lineitems":
                    item = {"id": f"{platform.base}/lineitems/{len(platform.line_items) + 100}", **json.loads(body)}
                    platform.line_items.append(item)
                    self._answer(201, item)
                elif platform.refusals:
                    status = platform.refusals.pop(0)
                    self._answer(status, {"error": f"refused with {status}"},
                                 {"Retry-After": platform.retry_after} if platform.retry_after else {})
                else:
                    platform.accepted.append({"path": self.path, "headers": dict(self.headers), **json.loads(body)})
                    self._answer(200, {})

            def _memberships(self) -> None:
                platform.received.append({"method": "GET", "path": self.path, "headers": dict(self.headers),
                                          "body": ""})
                if not platform._authorized(self.headers.get("Authorization")):
                    self._answer(401, {"error": "invalid token"})
                    return
                page = int(parse_qs(urlsplit(self.path).query).get("page", ["0"])[0])
                size = platform.page_size
                links = {}
                if (page + 1) * size < len(platform.members):
                    links["Link"] = f'<{platform.base}/memberships?page={page + 1}>; rel="next"'
                self._answer(200, {"id": f"{platform.base}/memberships", "context": {"id": "course-1"},
                                   "members": platform.members[page * size:(page + 1) * size]}, links)

            def _answer(self, status: int, document: Any, headers: dict[str, str] | None = None) -> None:
                answer = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        platform = cls(issuer=issuer, client_id=client_id or f"client-{uuid.uuid4().hex[:8]}",
                       deployment_id=f"deployment-{uuid.uuid4().hex[:6]}", server=server, _handler=Handler)
        return platform

    # ----- the services ------------------------------------------------------

    @property
    def access_token(self) -> str:
        return "platform-token" + (f"-{self.token_generation}" if self.token_generation else "")

    def revoke(self) -> None:
        """Every token handed out so far stops working (as a platform may do before they expire)."""
        self.token_generation += 1

    def _authorized(self, header: str | None) -> bool:
        return header == f"Bearer {self.access_token}"

    def _token(self, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        if self.tool_jwks is not None:
            assertion = form.get("client_assertion", [""])[0]
            keys = {k["kid"]: jwt.PyJWK(k).key for k in self.tool_jwks()["keys"]}
            try:
                # Times unchecked: the tool signs by the tests' fake clock, hours ahead of this one at times.
                claims = jwt.decode(assertion, keys[jwt.get_unverified_header(assertion)["kid"]],
                                    algorithms=["RS256"], audience=f"{self.base}/token", issuer=self.client_id,
                                    options={"verify_exp": False, "verify_iat": False, "verify_nbf": False})
            except (jwt.PyJWTError, KeyError):
                return 401, {"error": "invalid_client"}
            if claims.get("sub") != self.client_id or not claims.get("jti") or claims["jti"] in self.used_jtis:
                return 401, {"error": "invalid_client"}
            self.used_jtis.add(claims["jti"])
        return 200, {"access_token": self.access_token, "token_type": "Bearer", "expires_in": self.token_expires_in,
                     "scope": form.get("scope", [""])[0]}

    def tokens_issued(self) -> int:
        return sum(1 for r in self.received if r["path"] == "/token")

    def score_requests(self) -> int:
        """Requests to a scores endpoint, refused ones too (`accepted` holds the others)."""
        return sum(1 for r in self.received if r["path"].split("?")[0].endswith("/scores"))

    def go_down(self) -> None:
        """Stop listening: the tool's requests are refused at the connection."""
        self.server.shutdown()
        self.server.server_close()

    def come_back(self) -> None:
        """Listen again on the same port."""
        port = self.server.server_address[1]
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def registration(self) -> dict[str, Any]:
        """The body of POST /api/v1/lti/platforms for this platform."""
        return {"issuer": self.issuer, "client_id": self.client_id, "deployment_ids": [self.deployment_id],
                "auth_login_url": f"{self.base}/auth", "auth_token_url": f"{self.base}/token",
                "jwks_url": f"{self.base}/jwks"}

    def login_params(self, **overrides: str) -> dict[str, str]:
        return {"iss": self.issuer, "login_hint": "user-hint", "target_link_uri": "http://testserver/lti/launch",
                "lti_message_hint": "message-hint", "client_id": self.client_id,
                "lti_deployment_id": self.deployment_id, **overrides}

    def rotate(self) -> None:
        """A new signing key; the JWKS publishes only it from now on."""
        self.keys = [Key.new()]

    def claims(self, nonce: str, *, sub: str = "learner-1", roles: list[str] | None = None,
               message_type: str = "LtiResourceLinkRequest", resource_link_id: str = "link-1",
               context_id: str = "course-1", custom: dict[str, str] | None = None, now: float | None = None,
               **extra: Any) -> dict[str, Any]:
        now = time.time() if now is None else now
        claims: dict[str, Any] = {
            "iss": self.issuer, "aud": self.client_id, "sub": sub, "iat": int(now), "exp": int(now) + 300,
            "nonce": nonce, "name": f"Name of {sub}", "email": f"{sub}@lms.example.edu",
            LTI + "message_type": message_type, LTI + "version": "1.3.0",
            LTI + "deployment_id": self.deployment_id,
            LTI + "target_link_uri": "http://testserver/lti/launch",
            LTI + "roles": [LEARNER] if roles is None else roles,
            LTI + "context": {"id": context_id, "title": "Physics 101"},
        }
        if message_type == "LtiResourceLinkRequest":
            claims[LTI + "resource_link"] = {"id": resource_link_id, "title": "Unit test"}
        else:
            claims[DL + "deep_linking_settings"] = {
                "deep_link_return_url": f"{self.base}/deep-link-return", "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"], "data": "opaque-platform-data"}
        if custom is not None:
            claims[LTI + "custom"] = custom
        claims.update(extra)
        return claims

    def sign(self, claims: dict[str, Any], *, key: Key | None = None, kid: str | None = None,
             algorithm: str = "RS256") -> str:
        key = key or self.keys[0]
        return jwt.encode(claims, key.pem, algorithm=algorithm, headers={"kid": kid or key.kid})

    def id_token(self, nonce: str, **claims: Any) -> str:
        return self.sign(self.claims(nonce, **claims))


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
