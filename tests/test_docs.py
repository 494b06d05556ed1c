"""The docs name every setting and every error code, and the README its two commands."""

from __future__ import annotations

import re
from pathlib import Path

from examsync.domain import errors as domain_errors
from examsync.settings import settings_table
from examsync.web.errors import OP_RESULT_CODES, STATUS_BY_CODE

ROOT = Path(__file__).parent.parent


def read(name: str) -> str:
    return (ROOT / name).read_text()


def test_every_setting_is_documented() -> None:
    documented = read("docs/settings.md")
    missing = [name for name, _, _ in settings_table() if name not in documented]
    assert missing == []


def test_every_error_code_is_documented() -> None:
    documented = set(re.findall(r"`([a-z_]+)`", read("docs/errors.md")))
    domain_codes = {
        cls.code for cls in vars(domain_errors).values()
        if isinstance(cls, type) and issubclass(cls, domain_errors.DomainError) and cls is not domain_errors.DomainError
    }
    assert (set(STATUS_BY_CODE) | set(OP_RESULT_CODES) | domain_codes) - documented == set()


def test_every_domain_error_has_an_http_status() -> None:
    for cls in vars(domain_errors).values():
        if isinstance(cls, type) and issubclass(cls, domain_errors.DomainError) and cls is not domain_errors.DomainError:
            assert cls.code in STATUS_BY_CODE, cls


def test_the_readme_gives_the_two_commands_and_ci_runs_the_test_one() -> None:
    readme = read("README.md")
    assert "examsync serve" in readme and "./scripts/test" in readme
    assert "./scripts/test" in read(".ci/run")
