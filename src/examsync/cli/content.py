"""`examsync import` and `examsync export-content`: tests in from content files, and out as QTI or YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from examsync.cli.common import fail, open_database
from examsync.content_import import ContentError
from examsync.domain.errors import DomainError
from examsync.settings import Settings
from examsync.store.database import SYSTEM


def import_(
    files: Annotated[list[Path], typer.Argument(help="Content files: YAML, JSON, GIFT, Moodle XML, QTI, or zip packages.", exists=False)],
    format: Annotated[Optional[str], typer.Option("--format", help="gift, moodle, qti, yaml or json: skip detection.")] = None,
    title: Annotated[Optional[str], typer.Option(help="Test title, for formats without one.")] = None,
    section_minutes: Annotated[Optional[float], typer.Option("--section-minutes", help="Time limit of each section without one.")] = None,
    mode: Annotated[Optional[str], typer.Option(help="diagnostic, practice or drill, for formats without one.")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Refuse the whole import if any item cannot be scored.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would be created, updated, unchanged and skipped; write nothing.")] = False,
) -> None:
    """Load tests from content files (docs/content-format.md). Re-importing updates, never duplicates."""
    from examsync.content_formats.common import FORMATS, MODES, ImportOptions
    from examsync.content_formats.importer import import_banks

    if format is not None and format not in FORMATS:
        raise fail(f"--format must be one of {', '.join(FORMATS)}, got {format!r}")
    if mode is not None and mode not in MODES:
        raise fail(f"--mode must be one of {', '.join(MODES)}, got {mode!r}")
    if section_minutes is not None and not 0 < section_minutes <= 10_000:
        raise fail("--section-minutes must be a number of minutes above 0")
    options = ImportOptions(format=format, title=title, section_minutes=section_minutes, mode=mode, strict=strict)
    with open_database(Settings.from_env(), upgrade_embedded=True) as database:
        try:
            report = import_banks(database, files, options, dry_run=dry_run)
        except ContentError as error:
            raise fail(str(error)) from None
    for skip in report.skipped:
        typer.echo(f"skipped {skip}")
    for notice in report.notices:
        typer.echo(f"note {notice}")
    if dry_run:
        for test in report.tests:
            typer.echo(f"would be {test['outcome']}: {test['slug']} ({test['title']}), {test['questions']} questions")
        typer.echo(
            f"dry run, nothing written: {len(report.tests_created)} tests would be created, "
            f"{len(report.tests_updated)} updated, {len(report.tests_unchanged)} unchanged, "
            f"{len(report.skipped)} items skipped"
        )
        return
    typer.echo(
        f"imported {len(report.files)} file(s): {len(report.tests_created)} tests created, "
        f"{len(report.tests_updated)} updated, {len(report.tests_unchanged)} unchanged"
        + (f", {len(report.skipped)} items skipped" if report.skipped else "")
    )


def export_content(
    tests_: Annotated[list[str], typer.Argument(metavar="TEST...", help="Tests to export, by slug or id.")],
    format: Annotated[str, typer.Option("--format", help="qti3 (a QTI 3.0 package, zip) or yaml.")] = "qti3",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="File to write; default <slug>-qti3.zip or <slug>.yaml.")] = None,
) -> None:
    """Write tests as a QTI 3.0 package or as examsync's YAML (docs/content-format.md#export)."""
    from examsync.services.content import EXPORT_FORMATS, ContentService

    if format not in EXPORT_FORMATS:
        raise fail(f"--format must be one of {', '.join(EXPORT_FORMATS)}, got {format!r}")
    with open_database(Settings.from_env()) as database:
        try:
            exported = ContentService(database).export(SYSTEM, tests_, format)
        except DomainError as error:
            raise fail(error.message) from None
    target = output or Path(exported.filename)
    try:
        target.write_bytes(exported.data)
    except OSError as error:
        raise fail(f"cannot write {target}: {error}") from None
    typer.echo(f"wrote {len(set(tests_))} test(s) as {format} to {target}")
