"""Writing tests as a QTI 3.0 package (docs/content-format.md#export): a zip with `imsmanifest.xml`, one
`qti-assessment-item` file per question (written by qti_items.py, which says how each reads back into the same
question) and one `qti-assessment-test` per test, its sections and time limits.
"""

from __future__ import annotations

import io
import zipfile
from typing import Iterable

from lxml import etree

from examsync.content_formats.qti_items import ITEM_SCHEMA, NS, XSI, element, identifier, item_xml, sub_skill_path
from examsync.domain.content import Section, Test

CP_NS = "http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1"
CP_SCHEMA = "https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqtiv3p0_imscpv1p2_v1p0.xsd"
# A fixed timestamp for zip members, so the same content always gives the same bytes.
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)


def test_xml(test: Test, hrefs: dict[str, str], areas: dict[str, str]) -> etree._Element:
    root = element(None, "qti-assessment-test", identifier=identifier(test.slug), title=test.title)
    root.set(f"{{{XSI}}}schemaLocation", f"{NS} {ITEM_SCHEMA}")
    for name in ("SCORE", "MAXSCORE"):
        element(root, "qti-outcome-declaration", identifier=name, cardinality="single", base_type="float")
    part = element(root, "qti-test-part", identifier="part1", navigation_mode="nonlinear",
                   submission_mode="simultaneous")
    for section in test.sections:
        _section_xml(part, section, hrefs, areas)
    processing = element(root, "qti-outcome-processing")
    for name, variable in (("SCORE", "SCORE"), ("MAXSCORE", "MAXSCORE")):
        total = element(element(processing, "qti-set-outcome-value", identifier=name), "qti-sum")
        element(total, "qti-test-variables", variable_identifier=variable)
    return root


def _section_xml(part: etree._Element, section: Section, hrefs: dict[str, str], areas: dict[str, str]) -> None:
    made = element(part, "qti-assessment-section", identifier=identifier(section.key), title=section.title,
                   visible="true")
    if section.time_limit_seconds is not None:
        element(made, "qti-time-limits", max_time=str(section.time_limit_seconds))
    for question in section.questions:
        element(made, "qti-assessment-item-ref", identifier=identifier(question.key), href=hrefs[question.id],
                category=sub_skill_path(question, areas))


def _bytes(root: etree._Element, *, indent: bool = True) -> bytes:
    """Items are written as they are: indenting would add white space to their stems and choices."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=indent)


def manifest_xml(name: str, resources: Iterable[tuple[str, str, str, list[str]]]) -> etree._Element:
    """`resources`: (identifier, type, href, dependencies) of each test and item."""
    manifest = etree.Element(f"{{{CP_NS}}}manifest", nsmap={None: CP_NS, "xsi": XSI})
    manifest.set("identifier", identifier(f"{name}-manifest"))
    manifest.set(f"{{{XSI}}}schemaLocation", f"{CP_NS} {CP_SCHEMA}")
    metadata = etree.SubElement(manifest, f"{{{CP_NS}}}metadata")
    etree.SubElement(metadata, f"{{{CP_NS}}}schema").text = "QTI Package"
    etree.SubElement(metadata, f"{{{CP_NS}}}schemaversion").text = "3.0.0"
    etree.SubElement(manifest, f"{{{CP_NS}}}organizations")
    listed = etree.SubElement(manifest, f"{{{CP_NS}}}resources")
    for resource_id, kind, href, dependencies in resources:
        resource = etree.SubElement(listed, f"{{{CP_NS}}}resource", identifier=resource_id, type=kind, href=href)
        etree.SubElement(resource, f"{{{CP_NS}}}file", href=href)
        for dependency in dependencies:
            etree.SubElement(resource, f"{{{CP_NS}}}dependency", identifierref=dependency)
    return manifest


def package(tests: list[Test], areas: dict[str, str], name: str = "examsync-export",
            images: dict[str, dict[str, bytes]] | None = None) -> bytes:
    """The zip: `imsmanifest.xml`, `<test slug>/test.xml`, `<test slug>/items/<question key>.xml` for each test and
    `<test slug>/images/<name>` for each image its questions show (`images`: test id -> name -> bytes), each image a
    `webcontent` resource the items that show it depend on; the items refer to it by a relative path.

    `areas`: each sub-skill slug's skill area slug."""
    files: list[tuple[str, bytes]] = []
    resources: list[tuple[str, str, str, list[str]]] = []
    for test in tests:
        folder = test.slug
        hrefs: dict[str, str] = {}
        item_resources = []
        first = len(resources)  # the test's resource goes before its items'
        own = (images or {}).get(test.id, {})
        served = f"/api/v1/tests/{test.id}/assets/"
        shown: list[str] = []
        for section in test.sections:
            for question in section.questions:
                href = f"items/{question.key}.xml"
                hrefs[question.id] = href
                resource_id = identifier(f"{test.slug}-item-{question.key}")
                item_resources.append(resource_id)
                data = _bytes(item_xml(question, areas), indent=False)
                used = sorted(n for n in own if f"{served}{n}".encode() in data)
                data = data.replace(served.encode(), b"../images/")
                files.append((f"{folder}/{href}", data))
                resources.append((resource_id, "imsqti_item_xmlv3p0", f"{folder}/{href}",
                                  [identifier(f"{test.slug}-image-{n}") for n in used]))
                shown += [n for n in used if n not in shown]
        for image in sorted(shown):
            files.append((f"{folder}/images/{image}", own[image]))
            resources.append((identifier(f"{test.slug}-image-{image}"), "webcontent", f"{folder}/images/{image}", []))
        files.append((f"{folder}/test.xml", _bytes(test_xml(test, hrefs, areas))))
        resources.insert(first,
                         (identifier(f"{test.slug}-test"), "imsqti_test_xmlv3p0", f"{folder}/test.xml", item_resources))
    files.insert(0, ("imsmanifest.xml", _bytes(manifest_xml(name, resources))))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files:
            info = zipfile.ZipInfo(path, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return out.getvalue()
