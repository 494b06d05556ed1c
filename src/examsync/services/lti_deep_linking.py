"""Deep linking: an instructor picks a test in examsync's picker, and the platform gets a resource link for it.

The picker is reached only through the deep linking launch that made its request (its id, random and kept for an
hour, is the capability: the picker page needs no sign-in, so it works in any frame). Submitting it takes the request
(once) and answers the platform with an LtiDeepLinkingResponse signed by the tool's key: one ltiResourceLink whose
custom values name the test (`examsync_test`, its slug) and the chosen options, with a line item for its score.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from examsync.domain import lti as rules
from examsync.domain.assignments import AssignmentSettings, validate
from examsync.domain.errors import InvalidRequestError, NotFoundError
from examsync.lti.keys import ToolKeys
from examsync.store import lti as store
from examsync.store import users as user_store
from examsync.store.content import list_tests, tests_by_reference
from examsync.store.database import SYSTEM, Actor, Database


@dataclass
class DeepLinkingService:
    db: Database
    keys: ToolKeys
    clock: Callable[[], int]

    def picker(self, deep_link_id: str) -> dict[str, Any]:
        """The request and the tests its instructor may assign."""
        with self.db.transaction(SYSTEM, write=False) as connection:
            request = store.deep_link(connection, deep_link_id, self.clock())
            if request is None:
                raise NotFoundError("this picker has expired or was used: add the content again from the course")
            actor = self._actor(connection, request["user_id"])
            return {"id": deep_link_id, "tests": list_tests(connection, actor),
                    "accept_multiple": bool(request["settings"].get("accept_multiple"))}

    def respond(self, deep_link_id: str, choice: dict[str, str], *, launch_url: str) -> tuple[str, str]:
        """(return URL, signed JWT) for the chosen test and options; the request cannot be answered again."""
        now = self.clock()
        with self.db.transaction(SYSTEM, write=True) as connection:
            request = store.take_deep_link(connection, deep_link_id, now)
            if request is None:
                raise NotFoundError("this picker has expired or was used: add the content again from the course")
            actor = self._actor(connection, request["user_id"])
            test = tests_by_reference(connection, [choice.get("test_id", "")], actor)[0]
            if test is None:
                raise InvalidRequestError("pick one of the tests listed", field="test_id")
            options = _options(choice, now)
            platform = store.platform(connection, request["platform_id"])
        title = test.title
        item = rules.resource_link_item(
            url=launch_url, title=title, test_slug=test.slug,
            score_maximum=rules.score_maximum(test), options=options)
        claims = rules.deep_linking_response_claims(
            platform_issuer=platform["issuer"], client_id=platform["client_id"],
            deployment_id=request["deployment_id"], data=request["data"], items=[item], now_s=now // 1000,
            nonce=secrets.token_urlsafe(16))
        return request["return_url"], self.keys.sign(claims)

    def _actor(self, connection: Any, user_id: str) -> Actor:
        row = user_store.user_row(connection, user_id)
        if row is None or row["disabled"]:
            raise NotFoundError("this picker's account no longer exists")
        return Actor(row["id"], row["role"])


def _options(choice: dict[str, str], now: int) -> dict[str, str]:
    """The picker's options as custom values (strings, as LTI carries them), checked as an assignment would be."""
    validate(AssignmentSettings(**{"opens_at": now, **rules.assignment_options(choice)}))
    return {key: str(choice[key]).strip() for key in rules.OPTION_KEYS if str(choice.get(key, "")).strip()}
