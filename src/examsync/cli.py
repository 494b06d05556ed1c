"""The `examsync` command line."""

from __future__ import annotations

import ipaddress
import json
from collections import Counter
import logging
import logging.config
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from examsync.accounts import Accounts, load_or_create_secret
from examsync.chaos.command import chaos as chaos_command
from examsync.content_import import ContentError, has_content, import_sample_content
from examsync.domain.errors import DomainError, EmailTakenError
from examsync.export import attempts_csv
from examsync.logs import logging_config
from examsync.lti.cli import lti_app
from examsync.rescue import RescueFileError, RescueKey, decrypt, verify_origin
from examsync.services import SessionService, wall_clock_ms
from examsync.services.users import UserService
from examsync.settings import Settings
from examsync.store import migrate as migrations
from examsync.store.database import SYSTEM, Database
from examsync.store.roles import roles_beyond_row_level_security
from examsync.store.tables import tests
from examsync.verify import verify_history

app = typer.Typer(help="examsync: loss-proof online test sessions.", no_args_is_help=True, add_completion=False)
users_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(lti_app, name="lti")
app.command("chaos")(chaos_command)

DEMO_EMAIL = "demo@examsync.local"
DEMO_PASSWORD = "examsync-demo"


@contextmanager
def _database(settings: Settings, *, upgrade_embedded: bool = False) -> Iterator[Database]:
    """The configured database, closed afterwards; the embedded default is upgraded on demand."""
    database = Database.from_settings(settings)
    try:
        if upgrade_embedded and database.is_sqlite:
            migrations.upgrade(database)
        yield database
    finally:
        database.dispose()


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL only).")] = 1,
    demo_account: Annotated[Optional[bool], typer.Option(
        "--demo-account/--no-demo-account",
        help="Create the published demo login (SQLite only). Default: only when listening on loopback.")] = None,
    forwarded_allow_ips: Annotated[Optional[str], typer.Option(
        help="Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed: comma-separated IPs or "
             "networks, or *. Default: EXAMSYNC_FORWARDED_ALLOW_IPS, else nobody's.")] = None,
) -> None:
    """Run the service. On the embedded default it migrates, loads the sample tests and, on loopback, a demo account."""
    import uvicorn

    if forwarded_allow_ips is not None:
        os.environ["EXAMSYNC_FORWARDED_ALLOW_IPS"] = forwarded_allow_ips  # read again by each worker's app
    settings = Settings.from_env()
    logging.config.dictConfig(logging_config(settings))
    if not settings.secret_key and (not settings.is_sqlite or not _is_loopback(host)):
        raise _fail("set EXAMSYNC_SECRET_KEY: it is required on PostgreSQL or when listening beyond loopback")
    if settings.is_sqlite and workers != 1:
        raise _fail("the embedded SQLite default runs one worker; use PostgreSQL for several")
    if workers > 1 and not settings.broker_url:
        raise _fail("several workers need a broker for live sync: set EXAMSYNC_BROKER_URL "
                    "(redis://127.0.0.1:6379/0 recommended, or the PostgreSQL URL)")
    database = Database.from_settings(settings)
    if settings.is_sqlite:
        migrations.upgrade(database)
    elif migrations.pending(database):
        raise _fail("the database schema is not up to date: run `examsync migrate` first")
    else:
        _warn_about_roles_beyond_row_level_security(database)
    if settings.load_sample_content and not has_content(database):
        try:
            report = import_sample_content(database)
            typer.echo(f"loaded sample content: {len(report.tests_created)} tests")
        except IntegrityError:
            typer.echo("sample content was loaded by another instance")
    # Its password is published: beyond loopback anyone could log in with it.
    if settings.is_sqlite and (_is_loopback(host) if demo_account is None else demo_account):
        accounts = Accounts.from_settings(database, settings, wall_clock_ms)
        try:
            accounts.add_user(DEMO_EMAIL, DEMO_PASSWORD, display_name="Demo Student")
        except EmailTakenError:
            pass
        typer.echo(f"demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}")
    database.dispose()
    typer.echo(f"examsync on http://{host}:{port}/  (API docs: http://{host}:{port}/api/v1/docs)")
    uvicorn.run(
        "examsync.web.app:create_served_app", factory=True, host=host, port=port, workers=workers,
        # The app reads proxy headers itself, from EXAMSYNC_FORWARDED_ALLOW_IPS only (uvicorn would trust loopback).
        log_level=settings.log_level, proxy_headers=False,
        # Each worker logs through examsync's handler; its access lines replace uvicorn's.
        log_config=logging_config(settings), access_log=False,
    )


def _warn_about_roles_beyond_row_level_security(database: Database) -> None:
    roles = roles_beyond_row_level_security(database)
    if roles:
        logging.getLogger(__name__).warning(
            "the database URL's role can become %s, which row-level security does not hold: a statement that ran "
            "RESET ROLE would reach every student's rows. Log in as a role that is only a member of %s and migrate "
            "with EXAMSYNC_MIGRATION_DATABASE_URL (docs/deployment.md#roles)", ", ".join(roles), database.app_role)


@app.command()
def migrate() -> None:
    """Upgrade the database schema to the latest version."""
    settings = Settings.from_env()
    with _database(settings.with_(database_url=settings.resolved_migration_database_url)) as database:
        migrations.upgrade(database)
    typer.echo("database schema is up to date")


@app.command("import")
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
        raise _fail(f"--format must be one of {', '.join(FORMATS)}, got {format!r}")
    if mode is not None and mode not in MODES:
        raise _fail(f"--mode must be one of {', '.join(MODES)}, got {mode!r}")
    if section_minutes is not None and not 0 < section_minutes <= 10_000:
        raise _fail("--section-minutes must be a number of minutes above 0")
    options = ImportOptions(format=format, title=title, section_minutes=section_minutes, mode=mode, strict=strict)
    with _database(Settings.from_env(), upgrade_embedded=True) as database:
        try:
            report = import_banks(database, files, options, dry_run=dry_run)
        except ContentError as error:
            raise _fail(str(error)) from None
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


@users_app.command("add")
def users_add(
    email: str,
    password: Annotated[Optional[str], typer.Option(help="Password; asked for when not given.")] = None,
    role: Annotated[str, typer.Option(help="student, teacher or admin.")] = "student",
    name: Annotated[str, typer.Option(help="Display name.")] = "",
) -> None:
    """Create an account of any role."""
    settings = Settings.from_env()
    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with _database(settings, upgrade_embedded=True) as database:
        try:
            user_id = Accounts.from_settings(database, settings, wall_clock_ms).add_user(
                email, password, display_name=name, role=role
            )
        except DomainError as error:
            raise _fail(error.message) from None
    typer.echo(f"created {role} {email.strip().lower()} ({user_id})")


def _set_disabled(email: str, disabled: bool) -> None:
    settings = Settings.from_env()
    with _database(settings, upgrade_embedded=True) as database:
        users = UserService(database, Accounts.from_settings(database, settings, wall_clock_ms))
        try:
            user = users.set_disabled_by_email(SYSTEM, email, disabled).user
        except DomainError as error:
            raise _fail(error.message) from None
    typer.echo(f"{'disabled' if disabled else 'enabled'} {user['role']} {user['email']} ({user['user_id']})")


@users_app.command("disable")
def users_disable(email: Annotated[str, typer.Argument(help="The account's email.")]) -> None:
    """Disable an account: no more sign-ins, its tokens refused, its open sockets closed."""
    _set_disabled(email, True)


@users_app.command("enable")
def users_enable(email: Annotated[str, typer.Argument(help="The account's email.")]) -> None:
    """Enable a disabled account again."""
    _set_disabled(email, False)


@app.command("export-content")
def export_content(
    tests_: Annotated[list[str], typer.Argument(metavar="TEST...", help="Tests to export, by slug or id.")],
    format: Annotated[str, typer.Option("--format", help="qti3 (a QTI 3.0 package, zip) or yaml.")] = "qti3",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="File to write; default <slug>-qti3.zip or <slug>.yaml.")] = None,
) -> None:
    """Write tests as a QTI 3.0 package or as examsync's YAML (docs/content-format.md#export)."""
    from examsync.services.content import EXPORT_FORMATS, ContentService

    if format not in EXPORT_FORMATS:
        raise _fail(f"--format must be one of {', '.join(EXPORT_FORMATS)}, got {format!r}")
    with _database(Settings.from_env()) as database:
        try:
            exported = ContentService(database).export(SYSTEM, tests_, format)
        except DomainError as error:
            raise _fail(error.message) from None
    target = output or Path(exported.filename)
    try:
        target.write_bytes(exported.data)
    except OSError as error:
        raise _fail(f"cannot write {target}: {error}") from None
    typer.echo(f"wrote {len(set(tests_))} test(s) as {format} to {target}")


@app.command()
def export(
    session: Annotated[Optional[str], typer.Option(help="A session id.")] = None,
    test: Annotated[Optional[str], typer.Option(help="A test id or slug.")] = None,
    format: Annotated[str, typer.Option(help="csv or json.")] = "csv",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="File to write; default stdout.")] = None,
) -> None:
    """Export the answer attempts of a session or of a test."""
    if (session is None) == (test is None):
        raise _fail("give exactly one of --session and --test")
    if format not in ("csv", "json"):
        raise _fail("--format is csv or json")
    settings = Settings.from_env()
    with _database(settings) as database:
        test_id = _test_id(database, test) if test else None
        try:
            rows = SessionService.from_settings(database, settings).export_attempts(
                SYSTEM, session_id=session, test_id=test_id
            )
        except DomainError as error:
            raise _fail(error.message) from None
    text = json.dumps(rows, indent=2) if format == "json" else attempts_csv(rows)
    if output:
        output.write_text(text)
        typer.echo(f"wrote {len(rows)} attempts to {output}", err=True)
    else:
        sys.stdout.write(text)


@app.command("import-responses")
def import_responses(
    files: Annotated[list[Path], typer.Argument(help="Encrypted answer files students downloaded while offline.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking (for scripts).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and describe each file; apply nothing.")] = False,
) -> None:
    """Apply answers students downloaded while offline, after showing whose they are. Idempotent: ops already applied count as duplicates."""
    settings = Settings.from_env()
    key = RescueKey(settings.rescue_key_path)
    failed = False
    with _database(settings) as database:
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


def _test_id(database: Database, id_or_slug: str) -> str:
    with database.transaction(SYSTEM, write=False) as connection:
        found = connection.execute(
            select(tests.c.id).where(or_(tests.c.id == id_or_slug, tests.c.slug == id_or_slug))
        ).scalar()
    if found is None:
        raise _fail(f"no test {id_or_slug!r}")
    return found


@app.command()
def bench(
    scenario: Annotated[str, typer.Option(help="quick, peak, steady, start, resume, propagation, sockets, physical, proctor or peer.")] = "quick",
    database: Annotated[str, typer.Option(help="postgresql or sqlite: what the server under test runs on.")] = "postgresql",
    pg_url: Annotated[str, typer.Option(help="PostgreSQL to create the bench's own database on (and drop it after); its role also creates the "
                                                       "servers' login role, so it needs CREATEDB and CREATEROLE.")] = "postgresql://postgres@127.0.0.1:5432/postgres",
    students: Annotated[Optional[int], typer.Option(help="Simulated students; default per scenario.")] = None,
    rate: Annotated[Optional[float], typer.Option(help="Offered answers per second, all students together; default per scenario.")] = None,
    seconds: Annotated[Optional[float], typer.Option(help="Length of each load run; default per scenario.")] = None,
    transport: Annotated[str, typer.Option(help="How students send answers: socket, http or both (half each).")] = "both",
    generators: Annotated[Optional[int], typer.Option(help="Load-generator processes; default one per 700 answers/s.")] = None,
    broker: Annotated[str, typer.Option(help="propagation across two instances with this broker: postgresql or redis.")] = "",
    redis_url: Annotated[str, typer.Option(help="Redis for --broker redis.")] = "redis://127.0.0.1:6379/0",
    pairs: Annotated[int, typer.Option(help="physical: app/pgbench pairs.")] = 3,
    sockets: Annotated[Optional[int], typer.Option(help="Idle live sockets to open for the memory figure.")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes of the server under test (`serve --workers`; PostgreSQL, with Redis for live sync unless --broker says otherwise).")] = 1,
    peer_dir: Annotated[Optional[Path], typer.Option(help="peer: the PocketBase peer's folder (start.sh, loadgen.py).")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Write the report as JSON here.")] = None,
    plot: Annotated[Optional[Path], typer.Option(help="Draw the latency distribution as SVG here.")] = None,
) -> None:
    """Measure a real server: latency, throughput, CPU and memory (docs/performance.md)."""
    from examsync.extras import MissingExtraError, require

    try:
        require("bench", user="examsync bench")
    except MissingExtraError as error:
        raise _fail(str(error)) from None
    from examsync.bench.runner import SCENARIO_NAMES, run
    from examsync.bench.servers import BenchError
    from examsync.bench.system import BenchOptions

    choices = {"--scenario": (scenario, SCENARIO_NAMES), "--database": (database, ("postgresql", "sqlite")),
               "--transport": (transport, ("socket", "http", "both")), "--broker": (broker, ("", "postgresql", "redis"))}
    for option, (value, allowed) in choices.items():
        if value not in allowed:
            raise _fail(f"{option} is one of {', '.join(a for a in allowed if a)}, not {value!r}")
    for option, number in {"--students": students, "--rate": rate, "--seconds": seconds, "--generators": generators,
                           "--pairs": pairs, "--sockets": sockets, "--workers": workers}.items():
        if number is not None and number <= 0:
            raise _fail(f"{option} must be positive")
    if broker and database != "postgresql":
        raise _fail("--broker runs two instances, which needs --database postgresql")
    if workers > 1 and (database != "postgresql" or scenario == "peer"):
        raise _fail("--workers above 1 needs --database postgresql (the embedded SQLite default runs one worker)")
    options = BenchOptions(scenario=scenario, database=database, pg_url=pg_url, students=students, rate=rate,
                           seconds=seconds, transport=transport, generators=generators, broker=broker,
                           redis_url=redis_url, pairs=pairs, sockets=sockets, workers=workers, peer_dir=peer_dir)
    try:
        run(options, json_path, plot)
    except BenchError as error:
        raise _fail(str(error)) from None


def main() -> None:
    app()


@app.command("verify-history")
def verify_history_command(
    session: Annotated[Optional[str], typer.Option(help="Check one session.")] = None,
    test: Annotated[Optional[str], typer.Option(help="Check every session of a test (id or slug).")] = None,
) -> None:
    """Check that no session log row was edited, deleted or reordered; name the first bad row of each session."""
    settings = Settings.from_env()
    with _database(settings) as database:
        test_id = _test_id(database, test) if test else None
        checked = broken = 0
        for session_id, finding in verify_history(database, session_id=session, test_id=test_id):
            checked += 1
            if finding is not None:
                broken += 1
                typer.secho(f"session {session_id}: {finding.problem}", fg=typer.colors.RED)
    if session is not None and checked == 0:
        raise _fail(f"no session {session!r}")
    typer.echo(f"checked {checked} session(s): {broken} with a broken history")
    if broken:
        raise typer.Exit(code=1)
