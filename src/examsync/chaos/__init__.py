"""The fault-injection checker behind `examsync chaos`.

It runs its own PostgreSQL cluster and app servers behind fault proxies,
lets simulated students work through them while it kills processes and cuts
connections, then compares what every client was told with what the server
holds (`checker.py`). See docs/cli.md#chaos and docs/guarantees.md.
"""
