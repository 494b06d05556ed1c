"""What a simulated student tells the checker about its acknowledged ops."""

from __future__ import annotations

from examsync.chaos.student import acknowledged_batches
from examsync.client.models import Receipt


def receipt(state: str, settled_at: int | None) -> Receipt:
    return Receipt(op_id=f"op-{state}-{settled_at}", session_id="s", op={"type": "flag"}, state=state, code=None,
                   message=None, seq=None, attempts=1, created_at=0, settled_at=settled_at)


def test_each_batch_is_reported_at_the_moment_its_answer_arrived_on_the_true_clock() -> None:
    # A sync that sent three batches: its acks are not all as old as its return.
    receipts = [receipt("applied", 1_000_500), receipt("duplicate", 1_000_500), receipt("superseded", 1_002_000),
                receipt("applied", 1_004_250)]
    assert acknowledged_batches(receipts, skew_ms=500) == [(1000.0, 2), (1001.5, 1), (1003.75, 1)]


def test_rejected_and_pending_ops_are_not_acknowledgements() -> None:
    assert acknowledged_batches([receipt("rejected", 1_000_000), receipt("pending", None)], skew_ms=0) == []
