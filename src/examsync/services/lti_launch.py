"""An LTI 1.3 launch, from the platform's login initiation to the web app signed in.

1. `login`: the platform names itself (OIDC third-party initiated login); examsync answers with the redirect to the
   platform's authorization endpoint, carrying a fresh state and nonce kept in the database.
2. `launch`: the platform posts the signed id_token and the state back. The state is taken (single use), the token
   verified (`examsync.lti.tokens`), its nonce matched to the state's and recorded (single use), its LTI claims
   checked (`examsync.domain.lti`). Then the user, the course's class and the resource link's assignment are found
   or made, and the launch ends in a one-time code the web app exchanges for its token (`redeem`): no cookie, so
   it works in an LMS's frame whatever the browser does with third-party cookies.

Accounts: matched by (issuer, sub). The LTI role sets the role of a new account and can raise an existing one
(student to teacher or admin), never lower it: an admin who also studies in some course stays an admin. A name
given by the platform is kept up to date; an email is taken only while no other account uses it, so a platform
can never take over an existing examsync account by naming its email (the LTI account keeps a placeholder email).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from examsync.accounts import Accounts
from examsync.domain import lti as rules
from examsync.domain.assignments import AssignmentSettings, validate
from examsync.domain.errors import DomainError, InvalidRequestError, LtiLaunchError, NotFoundError
from examsync.lti.platform_keys import PlatformKeys
from examsync.lti.tokens import LEEWAY_SECONDS, verify_id_token
from examsync.services.classes import new_join_code
from examsync.services.sessions import SessionService
from examsync.store import classes as class_store
from examsync.store import lti as store
from examsync.store import users as user_store
from examsync.store.content import tests_by_reference
from examsync.store.database import SYSTEM, Actor, Database

LOGIN_TTL_MS = 10 * 60 * 1000
HANDOFF_TTL_MS = 2 * 60 * 1000
DEEP_LINK_TTL_MS = 60 * 60 * 1000
_RANK = {"student": 0, "teacher": 1, "admin": 2}


@dataclass(frozen=True)
class Landing:
    """Where a good launch goes: the one-time code for the web app, or the picker of a deep linking request."""

    code: str | None = None
    deep_link_id: str | None = None
    roster_class_id: str | None = None  # an instructor's launch in a course offering NRPS: sync this class's roster


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


@dataclass
class LaunchService:
    db: Database
    sessions: SessionService
    accounts: Accounts
    keys: PlatformKeys
    clock: Callable[[], int]

    # ----- 1. login initiation -------------------------------------------------

    def login(self, params: dict[str, str], *, redirect_uri: str) -> str:
        """The URL of the platform's authorization endpoint to send the browser to."""
        issuer, login_hint = params.get("iss", ""), params.get("login_hint", "")
        if not issuer or not login_hint or not params.get("target_link_uri"):
            raise LtiLaunchError("a login initiation needs iss, login_hint and target_link_uri", reason="login")
        client_id = params.get("client_id") or None
        now = self.clock()
        with self.db.transaction(SYSTEM, write=True) as connection:
            store.prune(connection, now)
            platforms = store.platforms_of(connection, issuer, client_id)
            if not platforms:
                raise LtiLaunchError("this platform (issuer and client id) is not registered with examsync: an admin "
                                     "registers it with `examsync lti add-platform`", reason="issuer")
            if len(platforms) > 1:
                raise LtiLaunchError("this issuer has several registrations: the login must name its client_id",
                                     reason="client_id")
            platform = platforms[0]
            deployment = params.get("lti_deployment_id")
            if deployment and deployment not in store.deployments(connection, platform["id"]):
                raise LtiLaunchError("this deployment of the tool is not registered with examsync",
                                     reason="deployment")
            state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            store.insert_state(connection, state=state, nonce=nonce, platform_id=platform["id"],
                               expires_at=now + LOGIN_TTL_MS)
        query = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
                 "client_id": platform["client_id"], "redirect_uri": redirect_uri, "login_hint": login_hint,
                 "state": state, "nonce": nonce}
        if params.get("lti_message_hint"):
            query["lti_message_hint"] = params["lti_message_hint"]
        parts = urlsplit(platform["auth_login_url"])
        joined = "&".join(q for q in (parts.query, urlencode(query)) if q)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, joined, ""))

    # ----- 2. the launch -------------------------------------------------------

    def launch(self, *, id_token: str, state: str) -> Landing:
        if not state or not id_token:
            raise LtiLaunchError("the launch must post id_token and state", reason="state")
        now = self.clock()
        with self.db.transaction(SYSTEM, write=True) as connection:
            login = store.take_state(connection, state, now)
            platform = login and store.platform(connection, login["platform_id"])
        if login is None or platform is None:
            raise LtiLaunchError("this launch's state is unknown, already used or expired: start it again from the "
                                 "course", reason="state")
        claims = verify_id_token(id_token, issuer=platform["issuer"], client_id=platform["client_id"],
                                 jwks_url=platform["jwks_url"], keys=self.keys, now_s=now // 1000)
        if claims.get("nonce") != login["nonce"]:
            raise LtiLaunchError("the id_token was issued for another login (nonce does not match the state)",
                                 reason="nonce")
        try:
            with self.db.transaction(SYSTEM, write=True) as connection:
                if store.nonce_used(connection, platform["id"], login["nonce"]):
                    raise LtiLaunchError("this launch was used already (nonce replayed)", reason="nonce")
                store.remember_nonce(connection, platform["id"], login["nonce"],
                                     int(claims["exp"]) * 1000 + LEEWAY_SECONDS * 1000)
                launch = rules.read_launch(claims, deployments=set(store.deployments(connection, platform["id"])))
                return self._land(connection, platform, launch, now)
        except IntegrityError:
            raise LtiLaunchError("this launch was used already (nonce replayed)", reason="nonce") from None

    def _land(self, connection: Connection, platform: Any, launch: rules.Launch, now: int) -> Landing:
        user_id, role = self._account(connection, platform["issuer"], launch, now)
        teaching = launch.role in ("teacher", "admin")
        actor = Actor(user_id, role)
        class_id = self._class(connection, platform, launch, user_id, teaching, now)
        if launch.message_type == rules.DEEP_LINKING_REQUEST:
            if not teaching:
                raise LtiLaunchError("only an instructor can add examsync content to a course", reason="role")
            deep_link_id = str(uuid.uuid4())
            settings = launch.deep_linking or {}
            store.insert_deep_link(connection, {
                "id": deep_link_id, "platform_id": platform["id"], "deployment_id": launch.deployment_id,
                "user_id": user_id, "return_url": settings["deep_link_return_url"],
                "data": settings.get("data") if isinstance(settings.get("data"), str) else None,
                "settings": settings, "expires_at": now + DEEP_LINK_TTL_MS})
            return Landing(deep_link_id=deep_link_id)
        assignment_id = self._assignment(connection, platform, launch, class_id, now)
        if teaching:
            landing = (f"#/staff/proctor/{assignment_id}" if assignment_id
                       else f"#/staff/classes/{class_id}" if class_id else "#/staff")
        else:
            if assignment_id is None:
                raise LtiLaunchError("this link names no examsync test (custom parameter examsync_test): ask your "
                                     "instructor to add it again through examsync's picker", reason="resource_link")
            landing = self._learner_landing(connection, actor, platform["id"], assignment_id, now)
        code = secrets.token_urlsafe(32)
        store.insert_handoff(connection, code_hash=code_hash(code), user_id=user_id, landing=landing,
                             expires_at=now + HANDOFF_TTL_MS)
        return Landing(code=code, roster_class_id=class_id if teaching and launch.memberships_url else None)

    def _account(self, connection: Connection, issuer: str, launch: rules.Launch, now: int) -> tuple[str, str]:
        return account(connection, issuer, sub=launch.sub, name=launch.name, email=launch.email, role=launch.role,
                       now=now)

    def _class(self, connection: Connection, platform: Any, launch: rules.Launch, user_id: str, teaching: bool,
               now: int) -> str | None:
        if launch.context_id is None:
            return None
        known = store.context(connection, platform["id"], launch.context_id)
        if known is None:
            if not teaching:
                raise LtiLaunchError("this course is not set up in examsync yet: your instructor opens it first",
                                     reason="context")
            class_id = str(uuid.uuid4())
            class_store.insert_class(connection, {"id": class_id, "name": launch.context_title or "Course",
                                                  "owner_id": user_id, "join_code": new_join_code(),
                                                  "created_at": now})
            store.link_context(connection, platform["id"], launch.context_id, class_id, launch.memberships_url)
            return class_id
        if launch.memberships_url and launch.memberships_url != known["memberships_url"]:
            store.set_memberships_url(connection, platform["id"], launch.context_id, launch.memberships_url)
        if not teaching and class_store.enrol(connection, known["class_id"], user_id, now):
            store.add_member(connection, known["class_id"], user_id, platform["id"])
        return str(known["class_id"])

    def _assignment(self, connection: Connection, platform: Any, launch: rules.Launch, class_id: str | None,
                    now: int) -> str | None:
        assert launch.resource_link_id is not None
        assignment_id = store.assignment_of_link(connection, platform["id"], launch.resource_link_id)
        if assignment_id is None and launch.test_reference and class_id is not None:
            test = tests_by_reference(connection, [launch.test_reference])[0]
            if test is None:
                raise LtiLaunchError(f"examsync has no test {launch.test_reference!r} (custom examsync_test)",
                                     reason="test")
            owner = class_store.class_row(connection, SYSTEM, class_id)["owner_id"]
            try:
                settings = validate(AssignmentSettings(**{"opens_at": now, **rules.assignment_options(launch.custom)}))
            except InvalidRequestError as error:
                raise LtiLaunchError(f"the link's options are not valid: {error.message}", reason="custom") from None
            assignment_id = str(uuid.uuid4())
            class_store.insert_assignment(connection, {"id": assignment_id, "class_id": class_id, "test_id": test.id,
                                                       **settings.__dict__, "created_by": owner, "created_at": now})
            store.link_resource(connection, platform["id"], launch.resource_link_id, assignment_id)
        if assignment_id is not None and (launch.lineitem_url or launch.lineitems_url):
            # Only the course's line items (no line item for this link): grade passback creates one there.
            store.put_line_item(connection, {"id": str(uuid.uuid4()), "platform_id": platform["id"],
                                             "resource_link_id": launch.resource_link_id,
                                             "lineitem_url": launch.lineitem_url,
                                             "lineitems_url": launch.lineitems_url,
                                             "scopes": list(launch.ags_scopes),
                                             "score_maximum": max_points(connection, assignment_id),
                                             "label": launch.resource_link_title})
        return assignment_id

    def _learner_landing(self, connection: Connection, actor: Actor, platform_id: str, assignment_id: str,
                         now: int) -> str:
        row = class_store.assignment_row(connection, SYSTEM, assignment_id)
        if class_store.enrol(connection, row["class_id"], actor.user_id, now):
            store.add_member(connection, row["class_id"], actor.user_id, platform_id)
        return f"#/lti-start/{assignment_id}/{row['test_id']}"

    # ----- 3. the web app's sign-in --------------------------------------------

    def redeem(self, code: str) -> dict[str, Any]:
        """The access token (and where to go) for a launch's one-time code; 404 if unknown, used or expired."""
        with self.db.transaction(SYSTEM, write=True) as connection:
            row = store.take_handoff(connection, code_hash(code), self.clock())
            account = row and user_store.user_row(connection, row["user_id"])
        if row is None or account is None or account["disabled"]:
            raise NotFoundError("this sign-in code is unknown, used or expired: launch examsync from the course again")
        landing = row["landing"]
        if landing.startswith("#/lti-start/"):
            landing = self._start(Actor(account["id"], account["role"]), *landing.split("/")[2:4])
        return {**self.accounts.issue_token(account["id"], account["role"]), "landing": landing,
                "user": user_store.public_view(account)}

    def _start(self, actor: Actor, assignment_id: str, test_id: str) -> str:
        """Start or resume the learner's attempt of the assignment: its page; the dashboard says why if it cannot."""
        try:
            state, _ = self.sessions.start(actor, test_id, assignment_id=assignment_id)
        except DomainError:
            return "#/dashboard"
        return f"#/session/{state['id']}"


def account(connection: Connection, issuer: str, *, sub: str, name: str, email: str, role: str,
            now: int) -> tuple[str, str]:
    """The account of (issuer, sub), made or brought up to date (see the module's "Accounts"): (user id, role).
    A launch and a roster sync (services/lti_roster.py) both go through here."""
    user_id = store.user_of(connection, issuer, sub)
    email_free = bool(email) and not user_store.email_taken(connection, email)
    if user_id is None:
        user_id = str(uuid.uuid4())
        placeholder = f"lti-{hashlib.sha256(f'{issuer} {sub}'.encode()).hexdigest()[:24]}@lti.invalid"
        user_store.insert_user(connection, user_id=user_id, email=email if email_free else placeholder,
                               password_hash=None, display_name=name, role=role, created_at=now)
        store.link_identity(connection, issuer, sub, user_id)
        return user_id, role
    row = user_store.user_row(connection, user_id, for_update=True)
    if row is None or row["disabled"]:
        raise LtiLaunchError("this account is disabled in examsync", reason="account")
    changes: dict[str, Any] = {}
    if name and name != row["display_name"]:
        changes["display_name"] = name
    if email_free and row["email"].endswith("@lti.invalid"):
        changes["email"] = email
    if _RANK[role] > _RANK.get(row["role"], 0):
        changes["role"] = role
    user_store.update_user(connection, user_id, changes)
    return user_id, changes.get("role", row["role"])


def max_points(connection: Connection, assignment_id: str) -> float:
    row = class_store.assignment_row(connection, SYSTEM, assignment_id)
    test = tests_by_reference(connection, [row["test_id"]])[0]
    return rules.score_maximum(test) if test else 0.0
