"""The `examsync` command line: the root `app`, with its commands registered in the order `--help` lists them.

Each command group lives in its own module (`serve`, `content`, `users`, `records`, `bench`; `chaos` in
`examsync.chaos.command`); this module only puts them together.
"""

from __future__ import annotations

import typer

from examsync.chaos.command import chaos as chaos_command
from examsync.cli import bench, content, records, serve, users
from examsync.cli.serve import DEMO_EMAIL, DEMO_PASSWORD
from examsync.lti.cli import lti_app

__all__ = ["DEMO_EMAIL", "DEMO_PASSWORD", "app", "main"]

app = typer.Typer(help="examsync: loss-proof online test sessions.", no_args_is_help=True, add_completion=False)
app.add_typer(users.app, name="users")
app.add_typer(lti_app, name="lti")
app.command("chaos")(chaos_command)
app.command()(serve.serve)
app.command()(serve.migrate)
app.command("import")(content.import_)
app.command("export-content")(content.export_content)
app.command()(records.export)
app.command("import-responses")(records.import_responses)
app.command()(bench.bench)
app.command("verify-history")(records.verify_history_command)


def main() -> None:
    app()
