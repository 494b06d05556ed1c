"""Grade passback (AGS) and roster sync (NRPS) rules, plain Python: what score a completed attempt stands for, when
it must be posted again, how long a failed post waits, and who of a course's members is enrolled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from examsync.domain.lti import _role_parts

COMPLETED = "Completed"
FULLY_GRADED = "FullyGraded"
PENDING_MANUAL = "PendingManual"

PENDING, POSTED, FAILED, SUPERSEDED = "pending", "posted", "failed", "superseded"

# Retries: the first after BASE, doubling up to CAP, each drawn at random from its upper half (jitter), so that
# the scores of a class queued while the platform was down do not all come back at the same instant.
BACKOFF_BASE_S = 5.0
BACKOFF_CAP_S = 3600.0
# A platform asking for more than this (Retry-After) is asked again after this.
RETRY_AFTER_CAP_S = 6 * 3600.0


@dataclass(frozen=True)
class Score:
    """What a student's attempt posts: its points, the maximum, and whether an essay still awaits marking."""

    score_given: float
    score_maximum: float
    grading_progress: str
    activity_progress: str = COMPLETED


def score_of(session_score: Mapping[str, Any] | None, score_maximum: float) -> Score:
    """The score of a completed attempt (its `score` column, domain.scoring's totals)."""
    totals = session_score or {}
    maximum = float(totals.get("max_score") or score_maximum)
    pending = int(totals.get("pending") or 0)
    return Score(score_given=float(totals.get("score") or 0.0), score_maximum=maximum,
                 grading_progress=PENDING_MANUAL if pending else FULLY_GRADED)


def differs(latest: Mapping[str, Any] | None, wanted: Score) -> bool:
    """Must `wanted` be queued, given the latest score queued for the student on the line item (any state)?"""
    if latest is None:
        return True
    return (latest["score_given"] != wanted.score_given or latest["score_maximum"] != wanted.score_maximum
            or latest["grading_progress"] != wanted.grading_progress
            or latest["activity_progress"] != wanted.activity_progress)


def retry_delay_s(attempts: int, retry_after_s: float | None, unit_random: float) -> float:
    """Seconds before the next try of a post that failed `attempts` times; `unit_random` in [0, 1) is the jitter."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(0, attempts - 1))
    delay = ceiling / 2 + unit_random * ceiling / 2
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, RETRY_AFTER_CAP_S))
    return delay


def is_learner(roles: Any) -> bool:
    """Is a course member (NRPS roles, full or short) a Learner, to be enrolled as a student?"""
    return isinstance(roles, list) and any(_role_parts(r)[0] == "Learner" for r in roles if isinstance(r, str))


def is_active(member: Mapping[str, Any]) -> bool:
    """NRPS: a member without a status is active; Inactive and Deleted ones are not in the course any more."""
    return member.get("status", "Active") == "Active"
