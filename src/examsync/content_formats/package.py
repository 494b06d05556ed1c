"""IMS content packages: a zip with `imsmanifest.xml` listing QTI items and tests (docs/content-format.md#packages),
Canvas's QTI 1.2 export among them.

Members are read with limits: no absolute or `..` names, at most MAX_MEMBERS members, each at most
MAX_FILE_BYTES and compressed at most MAX_RATIO to 1, and MAX_TOTAL_BYTES in all.
"""

from __future__ import annotations

import dataclasses
import io
import posixpath
import re
import zipfile
from pathlib import Path
from urllib.parse import unquote

from lxml import etree

from examsync.content_formats import qti
from examsync.content_formats.common import (
    MAX_FILE_BYTES, Bank, ImportOptions, descendants, fail, local, parse_xml, size,
)

MAX_MEMBERS = 5_000
MAX_TOTAL_BYTES = 200 * 1024 * 1024
MAX_RATIO = 100
MAX_PACKAGE_BYTES = 100 * 1024 * 1024


class Package:
    def __init__(self, path: Path | str, data: bytes) -> None:
        self.path = path
        if len(data) > MAX_PACKAGE_BYTES:
            raise fail(path, None, None, f"the package is larger than {size(MAX_PACKAGE_BYTES)}")
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError) as error:
            raise fail(path, None, None, f"not a readable zip file: {error}") from None
        if len(infos) > MAX_MEMBERS:
            raise fail(path, None, None, f"the package has more than {MAX_MEMBERS} files")
        total = 0
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename
            parts = name.replace("\\", "/").split("/")
            if name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":"):
                raise fail(path, None, name, "a file name leaving the package (absolute or with ..) is refused")
            if info.file_size > MAX_FILE_BYTES:
                raise fail(path, None, name, f"a file of the package is larger than {size(MAX_FILE_BYTES)}")
            if info.file_size > MAX_RATIO * max(info.compress_size, 1) and info.file_size > 1024 * 1024:
                raise fail(path, None, name, f"compressed more than {MAX_RATIO} to 1: refused as a zip bomb")
            total += info.file_size
            if total > MAX_TOTAL_BYTES:
                raise fail(path, None, None, f"the package unpacks to more than {size(MAX_TOTAL_BYTES)}")
            if not name.endswith("/"):
                self.members[name] = info

    def read(self, name: str) -> bytes:
        info = self.members.get(name)
        if info is None:
            raise fail(self.path, None, name, "the manifest lists a file the package does not hold")
        if info.flag_bits & 0x1:
            raise fail(self.path, None, name, "encrypted files are refused")
        # The sizes in the zip's headers can lie: never read past the limit.
        with self.zip.open(info) as member:
            data = member.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES or len(data) > MAX_RATIO * max(info.compress_size, 1) + 1024 * 1024:
            raise fail(self.path, None, name, "unpacks to more than its header says: refused as a zip bomb")
        return data

    def image(self, source: str, src: str) -> bytes | None:
        """The bytes of the image `src` names, relative to the item file `source` (a label `package!member`); None
        when it is not in the package (or is a URL: not carried over). A src that leaves the package is refused."""
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", src) or src.startswith("//"):
            return None  # http:, data:, …: not a file of the package
        member = source.rpartition("!")[2] if "!" in source else ""
        target = unquote(src.split("#")[0].split("?")[0]).replace("\\", "/")
        path = posixpath.normpath(posixpath.join(posixpath.dirname(member), target))
        if target.startswith("/") or path == ".." or path.startswith("../") or "\x00" in target:
            raise fail(source, None, src, "an image path leaving the package (absolute or with ..) is refused")
        return self.read(path) if path in self.members else None

    def xml(self, name: str) -> tuple[str, etree._Element]:
        label = f"{self.path}!{name}"
        return label, parse_xml(label, self.read(name))


def is_package(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"


def read(path: Path | str, data: bytes, options: ImportOptions) -> list[Bank]:
    package = Package(path, data)
    options = dataclasses.replace(options, images=package.image)  # images inside the package are carried over
    if "imsmanifest.xml" not in package.members:
        raise fail(path, None, None, "a zip package needs imsmanifest.xml at its top level")
    _, manifest = package.xml("imsmanifest.xml")
    resources = []
    for resource in descendants(manifest, "resource"):
        kind = resource.get("type") or ""
        href = resource.get("href") or next((f.get("href") for f in descendants(resource, "file")), None)
        if href and "qti" in kind.lower():
            resources.append((kind.lower(), posixpath.normpath(href)))
    if not resources:
        raise fail(path, None, "imsmanifest.xml", "the manifest lists no QTI resource")

    def loader(base: str) -> qti.ItemLoader:
        def load(href: str) -> tuple[str, etree._Element]:
            return package.xml(posixpath.normpath(posixpath.join(posixpath.dirname(base), href)))
        return load

    banks: list[Bank] = []
    tests = [href for kind, href in resources if "test" in kind]
    referenced: set[str] = set()
    for href in tests:
        label, root = package.xml(href)
        if qti.root_kind(root) != "assessmentTest":
            raise fail(label, root.sourceline, None, f"listed as a test, but its root is <{local(root)}>")
        for ref in qti.find(root, "assessmentItemRef"):
            referenced.add(posixpath.normpath(posixpath.join(posixpath.dirname(href), qti.attr(ref, "href") or "")))
        banks.append(qti.read_test(label, root, options, loader(href)))
    loose = []
    for kind, href in resources:
        if href in tests or href in referenced:
            continue
        label, root = package.xml(href)
        root_kind = qti.root_kind(root)
        if root_kind == "qti1":
            banks.append(qti.read_qti1(label, root, options))
        elif root_kind == "assessmentItem":
            loose.append((label, root))
        elif root_kind is not None:
            raise fail(label, root.sourceline, None, "a second assessmentTest not listed as a test resource")
    if loose:
        banks.append(qti.read_items(path, loose, options))
    return banks
