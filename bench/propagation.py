"""Cross-instance propagation: a change sent through instance A, seen by a device on instance B.

Starts two `examsync serve` processes on a fresh PostgreSQL database with the
given broker, connects one live socket per student to instance B, sends ops
through instance A's HTTP API at a steady rate, and measures the time from
sending an op to its event arriving on the other instance's socket.

    python bench/propagation.py --broker postgresql --students 20 --seconds 20
    python bench/propagation.py --broker redis --students 20 --seconds 20

Prints a table and writes JSON (--json). Needs PostgreSQL (EXAMSYNC_TEST_PG_URL)
and, for --broker redis, Redis (EXAMSYNC_TEST_REDIS_URL).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.integration.server_process import ServerProcess  # noqa: E402

PG_URL = os.environ.get("EXAMSYNC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("EXAMSYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CONTENT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "mini.yaml"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def student_loop(a: str, b: str, rate: float, seconds: float, latencies: list[float],
                       after_ack: list[float]) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        email = f"bench-{uuid.uuid4().hex[:10]}@example.org"
        await http.post(f"{a}/api/v1/auth/signup", json={"email": email, "password": "bench password"})
        token = (await http.post(f"{a}/api/v1/auth/token", json={"email": email, "password": "bench password"})).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        test_id = (await http.get(f"{a}/api/v1/tests", headers=headers)).json()[0]["id"]
        state = (await http.post(f"{a}/api/v1/sessions", json={"test_id": test_id}, headers=headers)).json()
        begin = {"op_id": str(uuid.uuid4()), "type": "navigate", "client_time": time.time_ns() // 1_000_000,
                 "question_id": state["sections"][0]["first_question_id"]}
        await http.post(f"{a}/api/v1/sessions/{state['id']}/ops", json={"ops": [begin]}, headers=headers)
        state = (await http.get(f"{a}/api/v1/sessions/{state['id']}", headers=headers)).json()
        question = state["sections"][0]["questions"][1]["id"]
        sent: dict[str, float] = {}
        acked: dict[str, float] = {}
        seen: dict[str, float] = {}
        url = f"{b.replace('http', 'ws')}/api/v1/sessions/{state['id']}/live"
        async with websockets.connect(url, additional_headers=headers) as socket:
            async def listen() -> None:
                async for raw in socket:
                    message = json.loads(raw)
                    if message["type"] == "event" and message.get("op_id") in sent:
                        seen[message["op_id"]] = time.perf_counter()
                        latencies.append((seen[message["op_id"]] - sent.pop(message["op_id"])) * 1000)
                        await socket.send(json.dumps({"type": "ack", "seq": message["seq"]}))

            listener = asyncio.create_task(listen())
            interval = 1 / rate
            next_at = time.perf_counter()
            end = next_at + seconds
            i = 0
            while next_at < end:
                await asyncio.sleep(max(0, next_at - time.perf_counter()))
                op_id = str(uuid.uuid4())
                sent[op_id] = next_at  # measured from the intended send time
                op = {"op_id": op_id, "type": "flag" if i % 2 else "unflag", "client_time": time.time_ns() // 1_000_000,
                      "question_id": question}
                await http.post(f"{a}/api/v1/sessions/{state['id']}/ops", json={"ops": [op]}, headers=headers)
                acked[op_id] = time.perf_counter()
                i += 1
                next_at += interval
            await asyncio.sleep(2)
            listener.cancel()
        # After the commit was acknowledged to the sender; negative when the push won the race.
        after_ack.extend((seen[k] - acked[k]) * 1000 for k in seen if k in acked)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--broker", choices=["postgresql", "redis"], required=True)
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--rate", type=float, default=2.0, help="ops per second per student")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    database = f"examsync_bench_{uuid.uuid4().hex[:8]}"
    admin = PG_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{database}"')
    url = PG_URL.rsplit("/", 1)[0] + f"/{database}"
    work = Path(tempfile.mkdtemp(prefix="examsync-bench-"))
    env = {"EXAMSYNC_DATABASE_URL": url, "EXAMSYNC_SECRET_KEY": "bench-secret-0123456789abcdef0123",
           "EXAMSYNC_DATA_DIR": str(work), "EXAMSYNC_BROKER_URL": url if args.broker == "postgresql" else REDIS_URL,
           "EXAMSYNC_LOG_LEVEL": "warning"}
    subprocess.run([sys.executable, "-m", "examsync", "migrate"], env={**os.environ, **env}, check=True)
    subprocess.run([sys.executable, "-m", "examsync", "import", str(CONTENT)], env={**os.environ, **env}, check=True)
    servers = [ServerProcess(env, work / f"server-{i}.log").start() for i in range(2)]
    latencies: list[float] = []
    after_ack: list[float] = []
    try:
        async def everyone() -> None:
            await asyncio.wait_for(asyncio.gather(*(
                student_loop(servers[0].url, servers[1].url, args.rate, args.seconds, latencies, after_ack)
                for _ in range(args.students)
            )), timeout=args.seconds + 120)

        asyncio.run(everyone())
    finally:
        for server in servers:
            server.stop(signal.SIGTERM)
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    expected = int(args.students * args.rate * args.seconds)
    result = {
        "broker": args.broker, "students": args.students, "offered_ops_per_s": args.students * args.rate,
        "seconds": args.seconds, "ops_sent": expected, "events_seen": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 2), "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(max(latencies), 2), "mean_ms": round(statistics.fmean(latencies), 2),
        "after_ack_p50_ms": round(percentile(after_ack, 50), 2), "after_ack_p99_ms": round(percentile(after_ack, 99), 2),
    }
    print(f"{'broker':<12}{'students':>9}{'ops/s':>8}{'seen':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
          f"{'ack→push p50':>14}{'p99':>8}")
    print(f"{result['broker']:<12}{result['students']:>9}{result['offered_ops_per_s']:>8.0f}{result['events_seen']:>8}"
          f"{result['p50_ms']:>9}{result['p99_ms']:>9}{result['max_ms']:>9}"
          f"{result['after_ack_p50_ms']:>14}{result['after_ack_p99_ms']:>8}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
