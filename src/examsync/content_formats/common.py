"""What every reader shares: the import options, the result of reading a file, names and ids, safe XML."""

from __future__ import annotations

import hashlib
import html as html_text
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from lxml import etree

from examsync.content_document import ContentError, stable_id

# Images carried over from a package or embedded in a Moodle XML file (docs/content-format.md#images): these types only, told by their first bytes
# (never by the name); SVG is refused, as it can hold scripts and links.
MAX_IMAGE_BYTES = 5 * 1024 * 1024
IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}
ASSET_NAME = re.compile(r"^[0-9a-f]{16}\.(?:png|jpg|gif|webp)$")


def image_type(data: bytes) -> str | None:
    """The extension of a PNG, JPEG, GIF or WebP image by its signature; None for anything else (SVG too)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def asset_url(test_id: str, name: str) -> str:
    return f"/api/v1/tests/{test_id}/assets/{name}"


@dataclass(frozen=True)
class Asset:
    name: str  # the first 16 hex digits of its SHA-256 and its type's extension: content-addressed, never the sender's
    media_type: str
    sha256: str
    data: bytes

MAX_FILE_BYTES = 20 * 1024 * 1024  # a single bank file, or one member of a package once unpacked
FORMATS = ("gift", "moodle", "qti", "yaml", "json")
MODES = ("diagnostic", "practice", "drill")
DEFAULT_SUB_SKILL = "general"


@dataclass(frozen=True)
class ImportOptions:
    format: str | None = None  # None: detect each file's format
    title: str | None = None
    section_minutes: float | None = None
    mode: str | None = None
    strict: bool = False
    # Reads an image a question of a package refers to: (the item's file label, the src) -> its bytes, or None when
    # the package does not hold it; raises ContentError for a src that leaves the package. None: not a package.
    images: Callable[[str, str], bytes | None] | None = field(default=None, compare=False)
    images_from: str = "the package"  # where `images` looks, as a notice names it


@dataclass
class Skip:
    file: str
    line: int | None
    item: str
    reason: str
    kept: bool = False  # a notice: the item is imported, only what `reason` names is left out

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.item}: {self.reason}"


@dataclass
class Bank:
    """One file read: examsync's content document, what was skipped, and where each question came from."""
    document: dict[str, Any]
    skips: list[Skip] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)  # question key -> line in the file
    # Names made from category paths (a bank's `reading/inference`): a skill area or sub-skill that already exists
    # keeps its name, so importing a bank (or a QTI export) never renames it.
    names_from_slugs: bool = False
    sources: dict[str, str] = field(default_factory=dict)  # question key -> the file (label) it came from, if not `path`
    assets: dict[str, Asset] = field(default_factory=dict)  # images carried over, by name


def fail(path: Path | str, line: int | None, item: str | None, rule: str) -> ContentError:
    where = f"{path}:{line}" if line else str(path)
    return ContentError(f"{where}: {item + ': ' if item else ''}{rule}")


def size(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MB" if limit >= 1024 * 1024 else f"{limit:,} bytes"


def slugify(text: str, fallback: str = "imported") -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:100].strip("-")
    return slug or fallback


def keyify(text: str, fallback: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    key = re.sub(r"[^A-Za-z0-9_.-]+", "-", ascii_text).strip("-_.")[:100].strip("-_.")
    return key or fallback


class Keys:
    """Question keys unique within a test: a repeated name gets -2, -3…"""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def take(self, name: str, fallback: str) -> str:
        base = keyify(name, fallback)
        key, n = base, 1
        while key in self.seen:
            n += 1
            key = f"{base[:95]}-{n}"
        self.seen.add(key)
        return key


def decode_text(path: Path | str, data: bytes) -> str:
    """UTF-8 (with or without BOM), or UTF-16 with a BOM; anything else is refused."""
    if len(data) > MAX_FILE_BYTES:
        raise fail(path, None, None, f"the file is larger than {size(MAX_FILE_BYTES)}")
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = data.decode("utf-16")
        else:
            text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise fail(path, None, None, f"not UTF-8 text (byte {error.start}); save the file as UTF-8") from None
    if "\x00" in text:
        raise fail(path, None, None, "the file holds NUL characters; it is not a text file")
    return text


def parse_xml(path: Path | str, data: bytes) -> etree._Element:
    """Parse XML with entities, DTDs and network access off; a DOCTYPE is refused outright."""
    if len(data) > MAX_FILE_BYTES:
        raise fail(path, None, None, f"the file is larger than {size(MAX_FILE_BYTES)}")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                             huge_tree=False, remove_comments=True, remove_pis=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        line = error.lineno if isinstance(error.lineno, int) and error.lineno > 0 else None
        raise fail(path, line, None, f"not well-formed XML: {error.msg}") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise fail(path, 1, None, "a DOCTYPE (DTD or entity declarations) is refused: question banks need none")
    for element in root.iter():
        if isinstance(element, etree._Entity):
            raise fail(path, element.sourceline, None, "entity references are refused")
    return root


def local(element: etree._Element) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def children(element: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in element if isinstance(c.tag, str) and local(c) == name]


def child(element: etree._Element, name: str) -> etree._Element | None:
    found = children(element, name)
    return found[0] if found else None


def descendants(element: etree._Element, name: str) -> list[etree._Element]:
    return [e for e in element.iter() if isinstance(e.tag, str) and local(e) == name]


def inner_xml(element: etree._Element | None) -> str:
    """An element's content as markup, namespaces dropped (QTI's XHTML content is plain HTML once they are)."""
    if element is None:
        return ""
    parts = [element.text or ""]
    for c in element:
        if not isinstance(c.tag, str):
            parts.append(c.tail or "")
            continue
        copy = etree.fromstring(etree.tostring(c, with_tail=False))
        for e in copy.iter():
            if isinstance(e.tag, str):
                e.tag = etree.QName(e.tag).localname
                for name in list(e.attrib):
                    if name.startswith("{"):
                        del e.attrib[name]
        etree.cleanup_namespaces(copy)
        parts.append(etree.tostring(copy, encoding="unicode", with_tail=False))
        parts.append(c.tail or "")
    return "".join(parts).strip()


def category_skill(path: str) -> tuple[str, str, str]:
    """A category path such as `reading/inference` -> (area slug, sub-skill slug, sub-skill name).

    Moodle's own prefixes (`$course$`, `$system$`, `top`, `Default for …`) are dropped; the first remaining part names
    the skill area, the last the sub-skill. One part is both area and sub-skill; none gives `general`."""
    parts = [p.strip() for p in re.split(r"(?<!/)/(?!/)", path) if p.strip()]
    parts = [p.replace("//", "/") for p in parts
             if not (p.startswith("$") and p.endswith("$")) and p.lower() != "top" and not p.startswith("Default for ")]
    if not parts:
        return DEFAULT_SUB_SKILL, DEFAULT_SUB_SKILL, "General"
    return slugify(parts[0], DEFAULT_SUB_SKILL), slugify(parts[-1], DEFAULT_SUB_SKILL), parts[-1][:200]


class Document:
    """Builds examsync's content document for one test out of questions read from a bank."""

    def __init__(self, path: Path | str, options: ImportOptions, default_title: str) -> None:
        self.path = path
        self.options = options
        self.title = (options.title or default_title or "Imported questions")[:300]
        self.areas: dict[str, dict[str, Any]] = {}
        self.sections: list[dict[str, Any]] = []
        self.keys = Keys()
        self.bank = Bank(document={})

    def sub_skill(self, category: str | None) -> str:
        area, sub, name = category_skill(category or "")
        if any(sub in other["sub_skills"] for slug, other in self.areas.items() if slug != area):
            sub = f"{area}-{sub}"[:100]  # `reading/basics` and `maths/basics` stay two sub-skills
        entry = self.areas.setdefault(area, {"slug": area, "name": area.replace("-", " ").capitalize(), "sub_skills": {}})
        entry["sub_skills"].setdefault(sub, name if sub != DEFAULT_SUB_SKILL else "General")
        return sub

    def section(self, key: str, title: str, time_limit_seconds: float | None = None) -> list[dict[str, Any]]:
        if time_limit_seconds is None and self.options.section_minutes is not None:
            time_limit_seconds = self.options.section_minutes * 60
        section = {"key": keyify(key, f"s{len(self.sections) + 1}"), "title": title[:300] or "Questions",
                   "questions": []}
        if time_limit_seconds is not None:
            section["time_limit_seconds"] = max(1, int(time_limit_seconds))
        self.sections.append(section)
        return section["questions"]

    def skip(self, line: int | None, item: str, reason: str, *, kept: bool = False, file: str | None = None) -> None:
        self.bank.skips.append(Skip(file or str(self.path), line, item, reason, kept))

    def carry_images(self, line: int | None, item: str, source: str, markup: str, test_id: str) -> str:
        """Each image a package holds is carried over (stored with the test, its src the URL that serves it); any
        other image (outside a package, missing, of another type, too large) is removed and reported."""
        def carry(match: re.Match[str]) -> str:
            tag = match.group(0)
            found = re.search(r"""\bsrc\s*=\s*(["'])(.*?)\1""", tag, flags=re.IGNORECASE | re.DOTALL)
            src = html_text.unescape(found.group(2)).strip() if found else ""
            data, why = None, "is not carried over"
            if self.options.images is not None and found:
                data = self.options.images(source, src)
                why = f"is not in {self.options.images_from}"
            if data is not None and len(data) > MAX_IMAGE_BYTES:
                data, why = None, f"is larger than {size(MAX_IMAGE_BYTES)}"
            kind = image_type(data) if data is not None else None
            if data is not None and kind is None:
                data, why = None, "is not a PNG, JPEG, GIF or WebP image (SVG is refused: it can hold scripts)"
            if data is None or kind is None:
                self.skip(line, item, f"image {src!r} {why}; the question is imported without it", kept=True)
                return ""
            digest = hashlib.sha256(data).hexdigest()
            asset = Asset(f"{digest[:16]}.{kind}", IMAGE_TYPES[kind], digest, data)
            self.bank.assets[asset.name] = asset
            assert found is not None
            return tag[:found.start(2)] + asset_url(test_id, asset.name) + tag[found.end(2):]
        return re.sub(r"<img\b[^>]*>", carry, markup, flags=re.IGNORECASE)

    def finish(self, slug_source: str) -> Bank:
        sections = [s for s in self.sections if s["questions"]]
        test_id = stable_id("test", slugify(slug_source))
        for section in sections:
            for question in section["questions"]:
                line, key = self.bank.lines.get(question["key"]), question["key"]
                source = self.bank.sources.get(key, str(self.path))
                for name in ("stem", "explanation"):
                    question[name] = self.carry_images(line, key, source, question.get(name, ""), test_id)
                for choice in question.get("choices", []):
                    choice["text"] = self.carry_images(line, key, source, choice["text"], test_id)
        if not sections:
            raise fail(self.path, None, None, "no question examsync can score was found"
                       + (f" ({len(self.bank.skips)} skipped)" if self.bank.skips else ""))
        mode = self.options.mode or ("diagnostic" if len(sections) > 1 else "practice")
        test: dict[str, Any] = {"slug": slugify(slug_source), "title": self.title, "mode": mode, "sections": sections}
        if mode == "drill":
            subs = {q["sub_skill"] for s in sections for q in s["questions"]}
            test["sub_skill"] = sorted(subs)[0]
        self.bank.names_from_slugs = True
        self.bank.document = {
            "skill_areas": [{"slug": a["slug"], "name": a["name"],
                             "sub_skills": [{"slug": k, "name": v} for k, v in a["sub_skills"].items()]}
                            for a in self.areas.values()],
            "tests": [test],
        }
        return self.bank


def points_value(text: str | None, default: float = 1.0) -> float:
    try:
        value = float(text) if text not in (None, "") else default
    except ValueError:
        return default
    return value if value >= 0 and value == value and value != float("inf") else default


def percent(text: str | None) -> float:
    """A Moodle/GIFT fraction in percent ("50", "-33.33333") as a share from -1 to 1."""
    try:
        return max(-1.0, min(1.0, float(text or 0) / 100))
    except ValueError:
        return 0.0
