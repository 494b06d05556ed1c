"""Which format a file is in: `--format` if given, else QTI by the root element, a zip by its imsmanifest.xml,
Moodle XML by a `<quiz>` root, GIFT by the `.gift` extension, JSON by `.json`, and YAML otherwise."""

from __future__ import annotations

import re
from pathlib import Path

from examsync.content_formats.package import is_package

_ROOT = re.compile(rb"<\s*(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)[\s>/]")


def _root_name(head: bytes) -> str | None:
    """The first element's local name, past the XML declaration, comments and any DOCTYPE."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(b"<"):
        return None
    text = re.sub(rb"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(\[.*?\])?\s*>", b"", text, flags=re.DOTALL)
    match = _ROOT.search(text)
    return match.group(1).decode() if match else None


def detect(path: Path | str, data: bytes, forced: str | None = None) -> str:
    """One of package, qti, moodle, gift, json, yaml."""
    if forced:
        return "package" if forced == "qti" and is_package(data) else forced
    if is_package(data):
        return "package"
    suffix = Path(str(path)).suffix.lower()
    if suffix == ".gift":
        return "gift"
    root = _root_name(data[:4096]) if suffix in ("", ".xml", ".qti") or data.lstrip()[:1] == b"<" else None
    if root is not None:
        if root == "quiz":
            return "moodle"
        return "qti"
    if suffix == ".json":
        return "json"
    return "yaml"
