"""examsync: loss-proof online test sessions."""

__version__ = "0.1.0"
