"""What sessions hold, for operators: exporting answer attempts, applying answers students rescued while offline,
and checking that no session's log was tampered with."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Optional

import typer

from examsync.accounts import load_or_create_secret
from examsync.cli.common import fail, open_database, resolve_test_id
from examsync.domain.errors import DomainError
from examsync.export import attempts_csv
from examsync.rescue import RescueFileError, RescueKey, decrypt, verify_origin
from examsync.services import SessionService
from examsync.settings import Settings
from examsync.store.database import SYSTEM
from examsync.verify import verify_history


def export(
    session: Annotated[Optional[str], typer.Option(help="A session id.")] = None,
    test: Annotated[Optional[str], typer.Option(help="A test id or slug.")] = None,
    format: Annotated[str, typer.Option(help="csv or json.")] = "csv",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="File to write; default stdout.")] = None,
) -> None:
    """Export the answer attempts of a session or of a test."""
    if (session is None) == (test is None):
        raise fail("give exactly one of --session and --test")
    if format not in ("csv", "json"):
        raise fail("--format is csv or json")
    settings = Settings.from_env()
    with open_database(settings) as database:
        test_id = resolve_test_id(database, test) if test else None
        try:
            rows = SessionService.from_settings(database, settings).export_attempts(
                SYSTEM, session_id=session, test_id=test_id
            )
        except DomainError as error:
            raise fail(error.message) from None
    text = json.dumps(rows, indent=2) if format == "json" else attempts_csv(rows)
    if output:
        output.write_text(text)
        typer.echo(f"wrote {len(rows)} attempts to {output}", err=True)
    else:
        sys.stdout.write(text)


def import_responses(
    files: Annotated[list[Path], typer.Argument(help="Encrypted answer files students downloaded while offline.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking (for scripts).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and describe each file; apply nothing.")] = False,
) -> None:
    """Apply answers students downloaded while offline, after showing whose they are. Idempotent: ops already applied count as duplicates."""
    settings = Settings.from_env()
    key = RescueKey(settings.rescue_key_path)
    failed = False
    with open_database(settings) as database:
        service = SessionService.from_settings(database, settings)
        for path in files:
            try:
                rescued = decrypt(json.loads(path.read_text()), key.private)
                about = service.rescued_session(rescued.payload)
                verify_origin(rescued, load_or_create_secret(settings), about["user_id"])
            except (OSError, ValueError, RescueFileError, DomainError) as error:
                typer.secho(f"{path}: refused: {getattr(error, 'message', error)}", fg=typer.colors.RED, err=True)
                failed = True
                continue
            typer.echo(f"{path}: {about['display_name'] or about['email']} <{about['email']}>, "
                       f"test {about['test_title']!r}, session {about['id']} ({about['status']}): "
                       f"{len(rescued.payload['ops'])} ops")
            if dry_run or not (yes or typer.confirm("Apply these ops as this student?", default=False)):
                typer.echo(f"{path}: not applied")
                continue
            try:
                outcome = service.apply_rescued(rescued.payload)
            except DomainError as error:
                typer.secho(f"{path}: {error.message}", fg=typer.colors.RED, err=True)
                failed = True
                continue
            tally = Counter(r["status"] for r in outcome["results"])
            summary = ", ".join(f"{count} {status}" for status, count in sorted(tally.items())) or "no ops"
            typer.echo(f"{path}: session {about['id']}: {summary}")
    if failed:
        raise typer.Exit(code=1)


def verify_history_command(
    session: Annotated[Optional[str], typer.Option(help="Check one session.")] = None,
    test: Annotated[Optional[str], typer.Option(help="Check every session of a test (id or slug).")] = None,
) -> None:
    """Check that no session log row was edited, deleted or reordered; name the first bad row of each session."""
    settings = Settings.from_env()
    with open_database(settings) as database:
        test_id = resolve_test_id(database, test) if test else None
        checked = broken = 0
        for session_id, finding in verify_history(database, session_id=session, test_id=test_id):
            checked += 1
            if finding is not None:
                broken += 1
                typer.secho(f"session {session_id}: {finding.problem}", fg=typer.colors.RED)
    if session is not None and checked == 0:
        raise fail(f"no session {session!r}")
    typer.echo(f"checked {checked} session(s): {broken} with a broken history")
    if broken:
        raise typer.Exit(code=1)
