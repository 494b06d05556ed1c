"""Hostile and malformed question banks: each gets a clear refusal naming the file, and changes nothing, even when
imported together with a good file. Any text read as GIFT, Moodle XML or QTI gives a bank or a ContentError."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from examsync.content_formats import common, package
from examsync.content_formats.common import ImportOptions
from examsync.content_formats.importer import import_banks, read_path
from examsync.content_import import ContentError, parse_document
from examsync.store import migrate
from examsync.store.database import Database
from examsync.store.tables import questions, skill_areas, sub_skills, test_sections, tests
from tests.content_formats.conftest import BANKS

FUZZ = settings(max_examples=150, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE quiz [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<quiz><question type="shortanswer"><name><text>&lol3;</text></name>
<questiontext><text>&lol3;</text></questiontext><answer fraction="100"><text>x</text></answer></question></quiz>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE quiz [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<quiz><question type="shortanswer"><name><text>q</text></name>
<questiontext><text>&secret;</text></questiontext><answer fraction="100"><text>x</text></answer></question></quiz>
"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE assessmentItem SYSTEM "http://127.0.0.1:9/evil.dtd">
<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="x"><itemBody/></assessmentItem>
"""
XINCLUDE = b"""<?xml version="1.0"?>
<quiz xmlns:xi="http://www.w3.org/2001/XInclude"><question type="shortanswer"><name><text>q</text></name>
<questiontext><text><xi:include href="file:///etc/passwd" parse="text"/></text></questiontext>
<answer fraction="100"><text>x</text></answer></question></quiz>
"""


def content_rows(database: Database) -> list[Any]:
    with database.owner_transaction() as connection:
        return [sorted(map(repr, connection.execute(select(table)).all()))
                for table in (skill_areas, sub_skills, tests, test_sections, questions)]


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Any:
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('banks') / 'examsync.db'}")
    migrate.upgrade(db)
    import_banks(db, [BANKS / "qti21-item.xml"])
    yield db
    db.dispose()


def refused(database: Database, path: Path, match: str) -> str:
    """The bad file, imported with a good one, is refused with `match` and leaves the database as it was."""
    before = content_rows(database)
    with pytest.raises(ContentError, match=match) as caught:
        import_banks(database, [BANKS / "every-kind.gift", path])
    assert str(path.name) in str(caught.value)
    assert content_rows(database) == before
    return str(caught.value)


def zipped(tmp_path: Path, members: dict[str, bytes], name: str = "bank.zip") -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    path = tmp_path / name
    path.write_bytes(buffer.getvalue())
    return path


MANIFEST = (b'<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"><resources>'
            b'<resource identifier="i" type="imsqti_item_xmlv2p1" href="%s"/></resources></manifest>')


@pytest.mark.parametrize(("content", "match"), [
    (BILLION_LAUGHS, "DOCTYPE .* is refused"), (EXTERNAL_ENTITY, "DOCTYPE .* is refused"),
    (EXTERNAL_DTD, "DOCTYPE .* is refused")])
def test_entities_and_dtds_are_refused(database: Database, tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "hostile.xml"
    path.write_bytes(content)
    message = refused(database, path, match)
    assert "root:" not in message  # /etc/passwd never read


def test_xinclude_is_not_followed(database: Database, tmp_path: Path) -> None:
    path = tmp_path / "include.xml"
    path.write_bytes(XINCLUDE)
    with pytest.raises(ContentError, match="questiontext> is empty") as caught:  # the include stays an element
        read_path(path, ImportOptions())
    assert "root:" not in str(caught.value)


def test_zip_slip_names_are_refused(database: Database, tmp_path: Path) -> None:
    path = zipped(tmp_path, {"imsmanifest.xml": MANIFEST % b"../../etc/item.xml", "../../etc/item.xml": b"<x/>"})
    refused(database, path, "leaving the package")
    absolute = zipped(tmp_path, {"imsmanifest.xml": MANIFEST % b"item.xml", "/tmp/item.xml": b"<x/>"}, "abs.zip")
    refused(database, absolute, "leaving the package")


def test_a_zip_bomb_is_refused_by_its_ratio(database: Database, tmp_path: Path) -> None:
    path = zipped(tmp_path, {"imsmanifest.xml": MANIFEST % b"item.xml", "item.xml": b"<a>" + b" " * 15_000_000 + b"</a>"})
    assert path.stat().st_size < 100_000
    refused(database, path, "zip bomb")


def test_a_package_unpacking_past_the_total_is_refused(database: Database, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(package, "MAX_TOTAL_BYTES", 50_000)
    members = {"imsmanifest.xml": MANIFEST % b"item.xml", **{f"pad{i}.bin": bytes(range(256)) * 80 for i in range(5)}}
    refused(database, zipped(tmp_path, members), "unpacks to more than")


def test_oversized_files_are_refused(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "MAX_FILE_BYTES", 3_000)
    path = tmp_path / "big.gift"
    path.write_text("::q:: " + "x" * 4_000 + " {=a ~b}\n")
    refused(database, path, "larger than")


def test_wrong_encodings_are_refused(database: Database, tmp_path: Path) -> None:
    latin = tmp_path / "latin.gift"
    latin.write_bytes("::q:: Café? {=oui ~non}\n".encode("latin-1"))
    refused(database, latin, "not UTF-8")
    xml = tmp_path / "latin.xml"
    xml.write_bytes('<?xml version="1.0" encoding="UTF-8"?><quiz><question type="truefalse"><name><text>Caf\u00e9'
                    '</text></name></question></quiz>'.encode("latin-1"))
    refused(database, xml, "not well-formed XML")


def test_a_file_that_is_not_a_zip_but_says_so_is_refused(database: Database, tmp_path: Path) -> None:
    path = tmp_path / "broken.zip"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 50)
    refused(database, path, "not a readable zip")


GIFT_PIECES = st.sampled_from(["::", "{", "}", "=", "~", "#", "%50%", "%-100%", "->", "\\", "\\{", "//", "\n", "\n\n",
                               "$CATEGORY: a/b\n", "T", "..", ":", "1", "2.5", "x", "[html]", "<b>", "####"])


@FUZZ
@given(text=st.lists(GIFT_PIECES, max_size=30).map("".join))
def test_any_gift_text_gives_a_bank_or_a_content_error(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = tmp_path_factory.mktemp("gift") / "fuzzed.gift"
    path.write_text(text)
    try:
        read_path(path, ImportOptions())
    except ContentError as error:
        assert str(error).startswith(str(path))


XML_PIECES = st.sampled_from(["<quiz>", "</quiz>", "<question type=\"multichoice\">", "<question type=\"numerical\">",
                              "</question>", "<answer fraction=\"100\">", "<answer fraction=\"x\">", "</answer>",
                              "<text>", "</text>", "<questiontext>", "</questiontext>", "<single>false</single>",
                              "<name>", "</name>", "9.8", "a", "&amp;", "&x;", "<![CDATA[<b>]]>",
                              "<tolerance>", "</tolerance>",
                              # Embedded files: an image, a file that is not one, bad base64, another encoding.
                              '<![CDATA[<img src="@@PLUGINFILE@@/a.png">]]>', '<![CDATA[<img src="@@PLUGINFILE@@/">]]>',
                              '<file name="a.png" encoding="base64">iVBORw0KGgo=</file>',
                              '<file name="a.png" encoding="base64">%%%</file>', '<file name="a.png">PHN2Zz4=</file>',
                              '<file name="../a.png" encoding="hex">00</file>', "<file>", "</file>"])


@FUZZ
@given(parts=st.lists(XML_PIECES, max_size=30))
def test_any_moodle_like_xml_gives_a_bank_or_a_content_error(tmp_path_factory: pytest.TempPathFactory,
                                                              parts: list[str]) -> None:
    path = tmp_path_factory.mktemp("xml") / "fuzzed.xml"
    path.write_text("<quiz>" + "".join(parts) + "</quiz>")
    try:
        read_path(path, ImportOptions())
    except ContentError as error:
        assert str(error).startswith(str(path))


QTI_PIECES = st.sampled_from([
    '<qti-item-body>', '</qti-item-body>', '<qti-choice-interaction response-identifier="R" max-choices="1">',
    '</qti-choice-interaction>', '<qti-simple-choice identifier="A">a</qti-simple-choice>',
    '<qti-simple-choice identifier="B">', '</qti-simple-choice>',
    '<qti-response-declaration identifier="R" cardinality="multiple" base-type="float">', '</qti-response-declaration>',
    '<qti-correct-response><qti-value>A</qti-value></qti-correct-response>',
    '<qti-mapping><qti-map-entry map-key="A" mapped-value="x"/></qti-mapping>',
    '<qti-text-entry-interaction response-identifier="R"/>', '<qti-prompt>p</qti-prompt>', '<p>', '</p>', 'text',
    '<qti-equal tolerance-mode="absolute" tolerance="a"/>', '<qti-feedback-inline>f</qti-feedback-inline>',
    '<qti-extended-text-interaction response-identifier="R"/>', '<qti-rubric-block view="scorer">',
    '</qti-rubric-block>'])


@FUZZ
@given(parts=st.lists(QTI_PIECES, max_size=30))
def test_any_qti_like_item_gives_valid_content_or_a_content_error(tmp_path_factory: pytest.TempPathFactory,
                                                                   parts: list[str]) -> None:
    path = tmp_path_factory.mktemp("qti") / "fuzzed.xml"
    path.write_text('<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0" identifier="i">'
                    + "".join(parts) + "</qti-assessment-item>")
    try:
        for bank in read_path(path, ImportOptions()):
            parse_document(path, bank.document, set())  # what a reader makes passes validation or says why not
    except ContentError as error:
        assert str(error).startswith(str(path))
