"""Images embedded in a single Moodle XML file (`<file encoding="base64">` beside the text, `@@PLUGINFILE@@/name` in
it) are carried over as a package's are: stored with the test, the stem pointing at the URL that serves them; each
question's files are its own; other types, oversized, missing and hostile files are left out or refused."""

from __future__ import annotations

import base64
import hashlib
import random
from pathlib import Path

import pytest
from sqlalchemy import select

from examsync.content_formats import moodle_xml
from examsync.content_formats.common import ImportOptions
from examsync.content_formats.importer import import_banks, read_path
from examsync.content_import import ContentError, stable_id
from examsync.store import migrate
from examsync.store.database import Database
from examsync.store.tables import content_assets
from tests.content_formats.images import png

TEST_ID = stable_id("test", "cells")


def question(name: str, image: bytes | None, *, src: str = "cell.png", file_name: str = "cell.png",
             encoding: str = "base64", text: str | None = None) -> str:
    embedded = "" if image is None else (
        f'<file name="{file_name}" path="/" encoding="{encoding}">'
        f'{text if text is not None else base64.b64encode(image).decode()}</file>')
    return f"""
  <question type="multichoice">
    <name><text>{name}</text></name>
    <questiontext format="html">
      <text><![CDATA[<p>Which part is shown?</p><p><img src="@@PLUGINFILE@@/{src}" alt="a cell"></p>]]></text>
      {embedded}
    </questiontext>
    <defaultgrade>1</defaultgrade>
    <single>true</single>
    <answer fraction="100"><text>The nucleus</text></answer>
    <answer fraction="0"><text>The wall</text></answer>
  </question>"""


def bank(tmp_path: Path, *questions: str) -> Path:
    path = tmp_path / "cells.xml"
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<quiz>{"".join(questions)}\n</quiz>\n')
    return path


def name_of(image: bytes) -> str:
    return hashlib.sha256(image).hexdigest()[:16] + ".png"


def stems(path: Path) -> list[str]:
    (read,) = read_path(path, ImportOptions())
    return [q["stem"] for q in read.document["tests"][0]["sections"][0]["questions"]]


def test_an_embedded_image_is_stored_with_the_test_and_the_stem_points_at_its_url(tmp_path: Path) -> None:
    image = png()
    db = Database(f"sqlite:///{tmp_path / 'db'}.db")
    migrate.upgrade(db)
    report = import_banks(db, [bank(tmp_path, question("nucleus", image))])
    assert report.notices == []
    with db.owner_transaction() as connection:
        rows = connection.execute(select(content_assets.c.name, content_assets.c.media_type, content_assets.c.data)
                                  .where(content_assets.c.test_id == TEST_ID)).all()
    assert [(name, media_type, bytes(data)) for name, media_type, data in rows] == [
        (name_of(image), "image/png", image)]
    (stem,) = stems(tmp_path / "cells.xml")
    assert f'<img src="/api/v1/tests/{TEST_ID}/assets/{name_of(image)}" alt="a cell">' in stem
    assert "PLUGINFILE" not in stem
    assert import_banks(db, [tmp_path / "cells.xml"]).tests_unchanged == ["cells"]  # re-import: nothing new


def test_each_question_shows_its_own_file_of_the_same_name(tmp_path: Path) -> None:
    red, blue = png(red=200), png(red=10)
    first, second = stems(bank(tmp_path, question("one", red), question("two", blue)))
    assert name_of(red) in first and name_of(blue) in second


def test_a_file_name_with_a_space_is_found_by_its_encoded_reference(tmp_path: Path) -> None:
    image = png()
    (stem,) = stems(bank(tmp_path, question("spaced", image, src="my%20cell.png", file_name="my cell.png")))
    assert name_of(image) in stem


@pytest.mark.parametrize("data, why", [
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "SVG is refused"),
    (b"GIF89a" + random.randbytes(5 * 1024 * 1024), "larger than"),
    (b"not an image at all", "not a PNG"),
])
def test_other_files_are_left_out_with_a_notice(tmp_path: Path, data: bytes, why: str) -> None:
    (read,) = read_path(bank(tmp_path, question("odd", data)), ImportOptions())
    (notice,) = read.skips
    assert notice.kept and why in notice.reason and read.assets == {}
    assert "<img" not in read.document["tests"][0]["sections"][0]["questions"][0]["stem"]


def test_a_reference_to_a_file_the_question_does_not_embed_is_left_out_with_a_notice(tmp_path: Path) -> None:
    # The other question's file does not count: a question shows only its own.
    (read,) = read_path(bank(tmp_path, question("has", png()), question("lacks", None)), ImportOptions())
    (notice,) = read.skips
    assert notice.item == "lacks" and "not in the Moodle XML file" in notice.reason and notice.kept


@pytest.mark.parametrize("file, message", [
    ({"text": "%%% not base64 %%%"}, "not valid base64"),
    ({"encoding": "hex", "text": "89504e47"}, "must be base64"),
])
def test_a_malformed_embedded_file_refuses_the_import_and_changes_nothing(tmp_path: Path, file: dict[str, str],
                                                                         message: str) -> None:
    db = Database(f"sqlite:///{tmp_path / 'db'}.db")
    migrate.upgrade(db)
    with pytest.raises(ContentError, match=message) as refused:
        import_banks(db, [bank(tmp_path, question("bad", png(), **file))])
    assert "cells.xml:" in str(refused.value)  # the file and the line
    with db.owner_transaction() as connection:
        assert connection.execute(select(content_assets.c.name)).all() == []


def test_too_many_embedded_files_refuse_the_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moodle_xml, "MAX_EMBEDDED_FILES", 2)
    with pytest.raises(ContentError, match="embeds more than 2 files"):
        read_path(bank(tmp_path, *(question(f"q{i}", png()) for i in range(3))), ImportOptions())
