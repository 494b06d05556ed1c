"""Errors a user can cause, each with a stable machine-readable code.

The web layer maps a code to an HTTP status in one table
(`examsync.web.errors`); nothing here knows about HTTP.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str, **data: object) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


class InvalidOpError(DomainError):
    code = "invalid_op"


class InvalidAnswerError(DomainError):
    code = "invalid_answer"


class UnknownQuestionError(DomainError):
    code = "unknown_question"


class UnknownSectionError(DomainError):
    code = "unknown_section"


class UnknownChoiceError(DomainError):
    code = "unknown_choice"


class AnswerTooLongError(DomainError):
    code = "answer_too_long"


class NoteTooLongError(DomainError):
    code = "note_too_long"


class TimeExpiredError(DomainError):
    code = "time_expired"


class SectionSubmittedError(DomainError):
    code = "section_submitted"


class SectionNotOpenError(DomainError):
    code = "section_not_open"


class SessionCompletedError(DomainError):
    code = "session_completed"


class InvalidTimeOptionError(DomainError):
    code = "invalid_time_option"


# Staff ops (domain/staff_ops.py) and what they do to the student's ops.


class SessionPausedError(DomainError):
    code = "session_paused"


class AlreadyPausedError(DomainError):
    code = "already_paused"


class NotPausedError(DomainError):
    code = "not_paused"


class SectionNotSubmittedError(DomainError):
    code = "section_not_submitted"


class AlreadyReopenedError(DomainError):
    code = "already_reopened"


class SectionInProgressError(DomainError):
    code = "section_in_progress"


class NotMarkedByStaffError(DomainError):
    """`grade` of a question that is scored automatically (only extended_text is marked by staff)."""
    code = "not_marked_by_staff"


class PointsOutOfRangeError(DomainError):
    """`grade` with points below 0 or above the question's points."""
    code = "points_out_of_range"


class MarksAlreadyReleasedError(DomainError):
    """`release_marks` of a session whose marks were released before: they are released once."""
    code = "marks_already_released"


# Errors of access and of the request as a whole (raised by the service layer).


class TestOwnedElsewhereError(DomainError):
    """An import over the API would update a test that another teacher owns."""
    code = "test_owned_by_another"


class ShareTargetNotStaffError(DomainError):
    """A test shared with an account that is not a teacher or an admin."""
    code = "share_target_not_staff"


class AssignmentNotOpenError(DomainError):
    code = "assignment_not_open"


class AssignmentClosedError(DomainError):
    code = "assignment_closed"


class AttemptsExhaustedError(DomainError):
    code = "attempts_exhausted"


class AssignmentRequiredError(DomainError):
    code = "assignment_required"


class InvalidContentError(DomainError):
    """A content file or question bank that cannot be imported; the message names the file, the line, the item and
    the rule broken (docs/content-format.md)."""
    code = "invalid_content"


class DraftConflictError(DomainError):
    """A draft saved with a version that is no longer the current one: another tab or device saved it meanwhile.
    Nothing is merged; the body carries the current `version` (docs/errors.md)."""
    code = "draft_conflict"


class LtiLaunchError(DomainError):
    """An LTI login or launch refused; `reason` names the check (docs/lti.md#the-launch-checks)."""
    code = "lti_launch_refused"


class LtiPlatformExistsError(DomainError):
    code = "lti_platform_exists"


class LtiRosterUnavailableError(DomainError):
    """A roster sync of a class that is no LTI course offering its members (NRPS)."""
    code = "lti_roster_unavailable"


class LtiPlatformFailedError(DomainError):
    """The LMS could not be reached, or refused examsync's service request (`detail` says what it answered)."""
    code = "lti_platform_failed"


class NotFoundError(DomainError):
    code = "not_found"


class ForbiddenError(DomainError):
    code = "forbidden"


class NotAuthenticatedError(DomainError):
    code = "not_authenticated"


class InvalidTokenError(DomainError):
    code = "invalid_token"


class TokenExpiredError(DomainError):
    code = "token_expired"


class InvalidCredentialsError(DomainError):
    code = "invalid_credentials"


class EmailTakenError(DomainError):
    code = "email_taken"


class AccountDisabledError(DomainError):
    """The account is disabled by an admin: it cannot sign in, and its tokens are refused."""

    code = "account_disabled"

    def __init__(self, message: str = "this account is disabled; ask an administrator to enable it",
                 **data: object) -> None:
        super().__init__(message, **data)


class LastAdminError(DomainError):
    """The change would leave no enabled admin."""

    code = "last_admin"


class WeakPasswordError(DomainError):
    code = "weak_password"


class TooManyOpsError(DomainError):
    code = "too_many_ops"


class BodyTooLargeError(DomainError):
    code = "body_too_large"


class InvalidRequestError(DomainError):
    code = "invalid_request"


# Abuse limits (raised by the web layer's limiters; src/examsync/web/limits.py).


class RateLimitedError(DomainError):
    code = "rate_limited"


class TooManyLoginAttemptsError(DomainError):
    code = "too_many_login_attempts"


class TooManyJoinAttemptsError(DomainError):
    code = "too_many_join_attempts"
