"""Namespaces in what the patcher writes: Strict names mapped at the package boundary
(issue 18), conventional or the part's own prefixes for new elements (issue 21)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_strict_names_round_trip() -> None:
    from khbook.ooxml import strict

    transitional = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                    b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"/>'
                    b'<Relationship Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                    b'extended-properties" Target="docProps/app.xml"/>'
                    b'<Relationship Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                    b'worksheet" Target="worksheets/sheet1.xml"/>')
    s = strict.to_strict(transitional)
    assert b"schemas.openxmlformats.org" not in s
    assert b"http://purl.oclc.org/ooxml/officeDocument/relationships/extendedProperties" in s
    assert b"http://purl.oclc.org/ooxml/officeDocument/relationships/worksheet" in s
    assert strict.to_transitional(s) == transitional
    # the package names are the same in both: untouched
    pkg = b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'
    assert strict.to_strict(pkg) == pkg
    assert strict.is_strict(b'Type="http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument"')


def test_new_elements_get_conventional_prefixes() -> None:
    """openpyxl declares r on each <sheet>; the new one follows; never a generated ns0
    (checked in a fresh interpreter: openpyxl, imported here, registers r globally)."""
    code = r'''
from lxml import etree
from khbook.ooxml.xmlutil import MAIN, REL_NS, nsmap_for, q
root = etree.fromstring(("<workbook xmlns='%s'><sheets><sheet xmlns:rel='%s' rel:id='rId1'/></sheets></workbook>"
                         % (MAIN, REL_NS)).encode())
sheets = root[0]
el = etree.SubElement(sheets, q("sheet"), nsmap=nsmap_for(sheets, REL_NS)); el.set("{%s}id" % REL_NS, "rId2")
bare = etree.fromstring(("<worksheet xmlns='%s'/>" % MAIN).encode())
ld = etree.SubElement(bare, q("legacyDrawing"), nsmap=nsmap_for(bare, REL_NS)); ld.set("{%s}id" % REL_NS, "rId3")
print(etree.tostring(root).decode()); print(etree.tostring(bare).decode())
'''
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=root,
                          env={**os.environ, "PYTHONPATH": str(root)})
    assert proc.returncode == 0, proc.stderr
    workbook, sheet = proc.stdout.splitlines()
    assert 'rel:id="rId2"' in workbook and "ns0" not in workbook   # the part's own prefix
    assert 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:id="rId3"' in sheet


def test_vml_prefixes_follow_the_part() -> None:
    from khbook.ooxml.comments import _vml_prefixes  # noqa: PLC2701 - the rule itself

    office = b'<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" ' \
             b'xmlns:x="urn:schemas-microsoft-com:office:excel"/>'
    assert set(_vml_prefixes(office).values()) == {"v", "o", "x"}
    # openpyxl: ns0 is first bound to office, ns1 to vml, ns2 to vml then excel
    openpyxl_vml = (b'<xml><a xmlns:ns0="urn:schemas-microsoft-com:office:office" xmlns:ns1="urn:schemas-microsoft-com:vml"/>'
                    b'<b xmlns:ns2="urn:schemas-microsoft-com:vml"/><c xmlns:ns0="urn:schemas-microsoft-com:vml" '
                    b'xmlns:ns2="urn:schemas-microsoft-com:office:excel"/></xml>')
    got = _vml_prefixes(openpyxl_vml)
    assert got == {"urn:schemas-microsoft-com:vml": "ns1", "urn:schemas-microsoft-com:office:office": "ns0",
                   "urn:schemas-microsoft-com:office:excel": "x"}
