"""The live client's close codes are the server's, so it reacts to each close as documented."""

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
