"""Which pages may frame examsync (lti/framing.py), with the platforms' origins given by a plain function."""

from __future__ import annotations

from examsync.lti.framing import Framing


def test_no_platform_no_framing_and_then_the_platforms_and_the_configured_origins() -> None:
    origins: list[str] = []
    calls = []

    def read() -> list[str]:
        calls.append(1)
        return list(origins)

    framing = Framing(read, "https://school.instructure.com")
    assert framing.ancestors() is None
    origins.append("https://canvas.instructure.com")
    assert framing.ancestors() is None and len(calls) == 1  # read again only after a while, or when told
    framing.forget()
    assert framing.ancestors() == "'self' https://canvas.instructure.com https://school.instructure.com"


def test_a_failed_read_turns_framing_off_rather_than_failing_the_page() -> None:
    def read() -> list[str]:
        raise ConnectionError("the database is down")

    assert Framing(read, "https://school.instructure.com").ancestors() is None
