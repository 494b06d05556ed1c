"""The live client's table of error statuses agrees with the server's, so it settles or retries alike."""

from __future__ import annotations

import re
from pathlib import Path

from examsync.web.errors import STATUS_BY_CODE

LIVE_JS = Path(__file__).parent.parent / "src" / "examsync" / "web" / "static" / "js" / "live.js"


def test_the_live_clients_status_table_matches_the_servers() -> None:
    table = LIVE_JS.read_text().split("export const STATUS_BY_CODE = {", 1)[1].split("};", 1)[0]
    client = {code: int(status) for code, status in re.findall(r"([a-z_]+): (\d{3})", table)}
    assert {code: STATUS_BY_CODE[code] for code in client} == client
    # Codes a socket request can be refused with (a batch's ops must then be retried, not settled).
    assert {"rate_limited", "too_many_ops", "body_too_large", "internal_error", "not_found"} <= set(client)
