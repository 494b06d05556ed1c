"""`examsync bench`: a measuring instrument for a real `examsync serve` process.

It starts the server on a database of its own, drives it with simulated students over the live
socket and HTTP at a constant arrival rate (latency counted from each answer's intended send
time), and reports latency percentiles, throughput, server CPU and memory, the database's
physical limit (pgbench) and a peer (PocketBase). The method is in docs/performance.md.
"""
