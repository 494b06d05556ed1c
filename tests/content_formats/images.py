"""Packages with images, made in code: the science package of the fixtures with an image, or a hostile one, added."""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

from tests.content_formats.conftest import BANKS


def png(red: int = 200) -> bytes:
    """A real 2×2 PNG (one colour)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + bytes([red, 30, 60]) * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def science_package(target: Path, extra: dict[str, bytes] | None = None, *, src: str = "images/cell.png") -> Path:
    """The fixture package `qti3-test-package`, its cells item showing `src`, with `extra` members added."""
    folder = BANKS / "qti3-test-package"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                data = file.read_bytes()
                if file.name == "cells.xml":
                    data = data.replace(b'src="images/cell.png"', f'src="{src}"'.encode())
                archive.writestr(file.relative_to(folder).as_posix(), data)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return target
