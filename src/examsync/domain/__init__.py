"""The pure core of examsync: no I/O, no clock (see README.md)."""
