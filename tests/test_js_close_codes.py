"""The live close codes: one table on the server, the same numbers in the web client and in docs/api.md."""

from __future__ import annotations

import re
from pathlib import Path

from examsync.web.protocol import CLOSE_CODES

LIVE_JS = Path(__file__).parent.parent / "src" / "examsync" / "web" / "static" / "js" / "live.js"


def test_the_live_clients_close_codes_match_the_servers() -> None:
    source = LIVE_JS.read_text()
    client = {name.lower(): int(code) for name, code in re.findall(r"export const CLOSE_([A-Z_]+) = (\d+);", source)}
    assert {"unauthorized", "not_found", "too_slow"} <= set(client)
    assert {name: CLOSE_CODES[name].code for name in client} == client


def test_the_clients_own_close_code_is_none_of_the_servers() -> None:
    own = {int(code) for code in re.findall(r"^const CLOSE_[A-Z_]+ = (\d+);", LIVE_JS.read_text(), re.MULTILINE)}
    assert own and not own & {close.code for close in CLOSE_CODES.values()}


def test_the_api_docs_list_every_close_code() -> None:
    docs = (Path(__file__).parent.parent / "docs" / "api.md").read_text()
    table = docs.split("| Close code | When |", 1)[1].split("\n\n", 1)[0]
    assert {int(code) for code in re.findall(r"^\| (\d{4}) \|", table, re.MULTILINE)} == {
        close.code for close in CLOSE_CODES.values()}
