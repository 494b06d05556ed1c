"""Images inside a package are carried over: stored with the test, the stem pointing at the URL that serves them,
put back into a QTI 3.0 export; an image path leaving the package refuses the import; SVG and other types are left
out with a notice."""

from __future__ import annotations

import hashlib
import random
import io
import re
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from examsync.content_formats.common import ImportOptions
from examsync.content_formats.importer import import_banks, read_path
from examsync.content_import import ContentError, sanitize_html, stable_id
from examsync.services.content import ContentService
from examsync.store import migrate
from examsync.store.database import SYSTEM, Database
from examsync.store.tables import content_assets, questions
from tests.content_formats.images import png, science_package

TEST_ID = stable_id("test", "science-check")


def database(tmp_path: Path, name: str = "db") -> Database:
    db = Database(f"sqlite:///{tmp_path / name}.db")
    migrate.upgrade(db)
    return db


def cells_stem(db: Database) -> str:
    with db.owner_transaction() as connection:
        return connection.execute(select(questions.c.stem).where(questions.c.key == "cells")).scalar_one()


def stored(db: Database) -> dict[str, tuple[str, bytes]]:
    with db.owner_transaction() as connection:
        rows = connection.execute(select(content_assets.c.name, content_assets.c.media_type, content_assets.c.data)
                                  .where(content_assets.c.test_id == TEST_ID))
        return {name: (media_type, bytes(data)) for name, media_type, data in rows}


def test_an_image_of_a_package_is_stored_and_the_stem_points_at_its_url(tmp_path: Path) -> None:
    image = png()
    name = hashlib.sha256(image).hexdigest()[:16] + ".png"
    db = database(tmp_path)
    report = import_banks(db, [science_package(tmp_path / "s.zip", {"items/images/cell.png": image})])
    assert not any("cell.png" in n.reason for n in report.notices)
    url = f"/api/v1/tests/{TEST_ID}/assets/{name}"
    assert f'<img src="{url}" alt="a cell">' in cells_stem(db)
    assert stored(db) == {name: ("image/png", image)}
    assert sanitize_html(f'<img src="{url}" alt="a cell">') == f'<img src="{url}" alt="a cell">'
    assert ContentService(db).asset(TEST_ID, name) == ("image/png", hashlib.sha256(image).hexdigest(), image)

    # A changed image is another name (URLs are immutable); the old one is no longer kept.
    changed = png(red=10)
    again = import_banks(db, [science_package(tmp_path / "s2.zip", {"items/images/cell.png": changed})])
    assert again.tests_updated == ["science-check"]
    assert list(stored(db)) == [hashlib.sha256(changed).hexdigest()[:16] + ".png"]


def test_the_qti3_export_puts_the_image_back_and_reads_back_the_same(tmp_path: Path) -> None:
    image = png()
    name = hashlib.sha256(image).hexdigest()[:16] + ".png"
    first = database(tmp_path, "first")
    import_banks(first, [science_package(tmp_path / "s.zip", {"items/images/cell.png": image})])
    exported = ContentService(first).export(SYSTEM, [TEST_ID], "qti3").data
    archive = zipfile.ZipFile(io.BytesIO(exported))
    assert archive.read(f"science-check/images/{name}") == image
    assert f'src="../images/{name}"'.encode() in archive.read("science-check/items/cells.xml")
    manifest = archive.read("imsmanifest.xml").decode()
    assert re.search(rf'type="webcontent" href="science-check/images/{re.escape(name)}"', manifest)

    second = database(tmp_path, "second")
    path = tmp_path / "export.zip"
    path.write_bytes(exported)
    assert import_banks(second, [path]).notices == []
    assert cells_stem(second) == cells_stem(first) and stored(second) == stored(first)


@pytest.mark.parametrize("src", ["../../../etc/passwd.png", "/etc/passwd.png", "..%2F..%2F..%2Fsecret.png"])
def test_an_image_path_leaving_the_package_refuses_the_import(tmp_path: Path, src: str) -> None:
    db = database(tmp_path)
    with pytest.raises(ContentError, match="leaving the package"):
        import_banks(db, [science_package(tmp_path / "s.zip", {"items/images/cell.png": png()}, src=src)])
    assert stored(db) == {}


@pytest.mark.parametrize("data, why", [
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "SVG is refused"),
    (b"GIF89a" + random.randbytes(5 * 1024 * 1024), "larger than"),
    (b"not an image at all", "not a PNG"),
])
def test_other_images_are_left_out_with_a_notice(tmp_path: Path, data: bytes, why: str) -> None:
    (bank,) = read_path(science_package(tmp_path / "s.zip", {"items/images/cell.png": data}), ImportOptions())
    (notice,) = [s for s in bank.skips if "cell.png" in s.reason]
    assert notice.kept and why in notice.reason and bank.assets == {}
