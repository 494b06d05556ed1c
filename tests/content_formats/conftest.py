"""Bank fixtures: single files as they are, packages zipped from their folders under tests/fixtures/banks/."""

from __future__ import annotations

import zipfile
from pathlib import Path

BANKS = Path(__file__).parent.parent / "fixtures" / "banks"


def zip_folder(folder: Path, target: Path) -> Path:
    """A zip of the folder's files, named relative to it (imsmanifest.xml at the top), as LMSs export them."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(folder).as_posix())
    return target
