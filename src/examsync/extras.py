"""The optional extras of pyproject.toml: what the SDK (`client`) and the bench (`bench`) need beyond the server.

A plain install runs the server only; a command or module that needs an extra it lacks says which one to install."""

from __future__ import annotations

from importlib import import_module

# The modules each extra installs (tests/test_extras.py pins them to pyproject.toml).
MODULES = {
    "bench": ("aiohttp",),
    "client": (),  # httpx: the server needs it too (LTI), so it comes with every install
}


class MissingExtraError(ImportError):
    """A part of examsync that needs an optional extra is used without it."""


def require(*extras: str, user: str) -> None:
    """Raise MissingExtraError, naming the pip command, unless every module of `extras` imports; `user` is who
    needs them ("examsync bench")."""
    missing = []
    for module in (module for extra in extras for module in MODULES[extra]):
        try:
            import_module(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise MissingExtraError(f"{user} needs {', '.join(missing)}, which the server alone does not install: "
                                f"pip install 'examsync[{','.join(extras)}]'")
