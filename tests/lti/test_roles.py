"""The LTI roles claim decides the examsync role (domain/lti.py); plain asserts, no I/O."""

from __future__ import annotations

import pytest

from examsync.domain.lti import examsync_role

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership"
INSTITUTION = "http://purl.imsglobal.org/vocab/lis/v2/institution/person"
SYSTEM = "http://purl.imsglobal.org/vocab/lis/v2/system/person"


@pytest.mark.parametrize("roles, role", [
    ([f"{MEMBERSHIP}#Learner"], "student"),
    ([f"{MEMBERSHIP}#Instructor"], "teacher"),
    ([f"{MEMBERSHIP}#TeachingAssistant"], "teacher"),
    ([f"{MEMBERSHIP}/Instructor#TeachingAssistant"], "teacher"),
    ([f"{MEMBERSHIP}/Instructor#Grader"], "teacher"),
    ([f"{INSTITUTION}#Instructor"], "teacher"),
    (["Instructor"], "teacher"),  # the short form some platforms send
    ([f"{INSTITUTION}#Administrator"], "admin"),
    ([f"{SYSTEM}#Administrator"], "admin"),
    ([f"{MEMBERSHIP}#Learner", f"{MEMBERSHIP}#Instructor"], "teacher"),
    ([f"{MEMBERSHIP}#Instructor", f"{INSTITUTION}#Administrator"], "admin"),
    ([f"{MEMBERSHIP}#Mentor"], "student"),  # a parent or observer is not staff
    ([f"{MEMBERSHIP}/Learner#Instructor"], "student"),  # a learner sub-role is not an instructor
    (["http://purl.imsglobal.org/vocab/lti/system/person#TestUser"], "student"),
    ([], "student"),
    (None, "student"),
    ("Instructor", "student"),  # not a list: ignored
    ([42, None], "student"),
])
def test_the_roles_claim_maps_to_one_examsync_role(roles: object, role: str) -> None:
    assert examsync_role(roles) == role
