"""Legacy cell comments (xl/commentsN.xml) and their VML note shapes.

khbook's comments are those whose author is ``khbook``. On each patch they are removed
(with their note shapes) and the new ones added; every other comment, and every other
VML shape (form-control buttons, other people's notes), is left untouched. A cell that
already holds someone else's comment does not get khbook's: it is reported as skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from khbook.base.errors import WorkbookError
from khbook.ooxml.package import Package
from khbook.ooxml.xmlutil import (
    CT_COMMENTS,
    CT_VML,
    MAIN,
    REL_NS,
    RT_COMMENTS,
    RT_VML,
    WORKSHEET_ORDER,
    cell_text,
    esc_text,
    insert_ordered,
    make_ref,
    nsmap_for,
    parse,
    q,
    serialize,
    split_ref,
)

AUTHOR = "khbook"
V = "urn:schemas-microsoft-com:vml"
OFF = "urn:schemas-microsoft-com:office:office"
X = "urn:schemas-microsoft-com:office:excel"
_NOTE_TYPE = "_x0000_t202"
_SHAPE_ID = re.compile(r"^_x0000_s(\d+)$")
_IDMAP = re.compile(rb'<o:idmap[^>]*\bdata="([0-9,\s]*)"')


@dataclass
class CommentResult:
    added: int = 0
    removed: int = 0
    skipped: list[str] = field(default_factory=list)


class ShapeIds:
    """Allocates VML shape-id blocks (1024 ids per o:idmap number) unused in the workbook."""

    def __init__(self, pkg: Package) -> None:
        used = [0]
        for name in pkg.part_names():
            if name.lower().endswith(".vml"):
                for m in _IDMAP.finditer(pkg.read(name)):
                    used += [int(x) for x in re.split(r"[,\s]+", m.group(1).decode()) if x]
        self.next_block = max(used) + 1

    def blocks(self, n_shapes: int) -> list[int]:
        count = max(1, -(-n_shapes // 1023))
        out = list(range(self.next_block, self.next_block + count))
        self.next_block += count
        return out


def patch_comments(pkg: Package, sheet_part: str, sheet: etree._Element, comments: dict[str, str],
                   ids: ShapeIds) -> CommentResult:
    """Replace khbook's comments on one worksheet by `comments` (cell ref -> text)."""
    res = CommentResult()
    found = pkg.targets(sheet_part, RT_COMMENTS)
    comments_part = found[0][1] if found else None
    croot = pkg.xml(comments_part) if comments_part and pkg.exists(comments_part) else None

    removed: set[tuple[int, int]] = set()
    user: set[tuple[int, int]] = set()
    kb_author: int | None = None
    if croot is not None:
        authors = croot.find(q("authors"))
        names = [a.text or "" for a in authors.iterchildren(q("author"))] if authors is not None else []
        kb_ids = {str(i) for i, n in enumerate(names) if n == AUTHOR}
        kb_author = names.index(AUTHOR) if AUTHOR in names else None
        clist = croot.find(q("commentList"))
        for c in list(clist.iterchildren(q("comment"))) if clist is not None else []:
            pos = split_ref(c.get("ref", "A1").split(":")[0])
            if c.get("authorId") in kb_ids:
                clist.remove(c)
                removed.add(pos)
                res.removed += 1
            else:
                user.add(pos)
    removed -= user

    todo: dict[tuple[int, int], str] = {}
    for ref, text in comments.items():
        pos = split_ref(ref)
        if pos in user:
            res.skipped.append(ref)
        else:
            todo[pos] = text
    if not todo and not removed:
        return res

    # comments part
    if croot is None:
        croot = etree.Element(q("comments"), nsmap={None: MAIN})
        etree.SubElement(croot, q("authors"))
        etree.SubElement(croot, q("commentList"))
        comments_part = pkg.free_name("xl/comments{}.xml")
        pkg.add_rel(sheet_part, RT_COMMENTS, comments_part)
    if todo and kb_author is None:
        authors = croot.find(q("authors"))
        kb_author = len(authors.findall(q("author")))
        etree.SubElement(authors, q("author")).text = AUTHOR
    clist = croot.find(q("commentList"))
    if clist is None:
        clist = etree.SubElement(croot, q("commentList"))
    kb = str(kb_author)
    items = [f'<comment ref="{make_ref(r, c)}" authorId="{kb}"><text><r>{_RPR}<t xml:space="preserve">'
             f"{esc_text(cell_text(text))}</t></r></text></comment>".encode() for (r, c), text in sorted(todo.items())]
    res.added += len(items)
    pkg.put(comments_part, _splice(croot, clist, items, f'xmlns="{MAIN}"', {None: MAIN}), CT_COMMENTS)
    del croot, clist, items

    # VML note shapes
    vml_part = _vml_part(pkg, sheet_part, sheet)
    if vml_part is None:
        vml_part = pkg.free_name("xl/drawings/vmlDrawing{}.vml")
        vroot, prefixes = _new_vml(), dict(_CONVENTIONAL)
        rid = pkg.add_rel(sheet_part, RT_VML, vml_part)
        insert_ordered(sheet, etree.Element(q("legacyDrawing"), {f"{{{REL_NS}}}id": rid}, nsmap=nsmap_for(sheet, REL_NS)),
                       WORKSHEET_ORDER)
    else:
        vroot, prefixes = _parse_vml(pkg, vml_part)
    pkg.ensure_default("vml", CT_VML)
    for shape in list(vroot.iter(f"{{{V}}}shape")):
        cd = shape.find(f"{{{X}}}ClientData")
        if cd is None or cd.get("ObjectType") != "Note":
            continue
        try:
            pos = (int(cd.findtext(f"{{{X}}}Row")) + 1, int(cd.findtext(f"{{{X}}}Column")) + 1)
        except (TypeError, ValueError):
            continue
        if pos in removed or pos in todo:
            if pos not in user:
                shape.getparent().remove(shape)
    shapes = _add_note_shapes(vroot, sorted(todo), ids, prefixes) if todo else []
    decls = " ".join(f'xmlns:{prefixes[uri]}="{uri}"' for uri in (V, OFF, X))
    pkg.put(vml_part, _splice(vroot, vroot, shapes, decls, {prefixes[uri]: uri for uri in (V, OFF, X)},
                              declaration=False))
    return res


_CONVENTIONAL = {V: "v", OFF: "o", X: "x"}
_XMLNS = re.compile(rb"""xmlns:([A-Za-z_][\w.-]*)\s*=\s*["']([^"']*)["']""")
_VML_PREFIXED = re.compile(rb"(</?|\s)(v|o|x):")


def _vml_prefixes(data: bytes) -> dict[str, str]:
    """The prefix khbook writes for each VML namespace.

    Some readers (Gnumeric among them) resolve a prefix by its first declaration in the
    document, whatever element it is on: so a namespace gets the first prefix whose first
    declaration binds it, else its conventional prefix (v, o, x) when the part never
    binds that to something else, else a fresh one. Office's own VML declares v, o, x
    once on the root, and keeps them.
    """
    first: dict[str, str] = {}   # prefix -> the namespace of its first declaration
    for m in _XMLNS.finditer(data):
        first.setdefault(m.group(1).decode(), m.group(2).decode("utf-8", "replace"))
    out: dict[str, str] = {}
    for uri, conventional in _CONVENTIONAL.items():
        mine = [p for p, u in first.items() if u == uri and p not in out.values()]
        if mine:
            out[uri] = mine[0]
        elif first.get(conventional, uri) == uri and conventional not in out.values():
            out[uri] = conventional
        else:
            n = 1
            while f"{conventional}{n}" in first or f"{conventional}{n}" in out.values():
                n += 1
            out[uri] = f"{conventional}{n}"
    return out


def _with_prefixes(shape: bytes, prefixes: dict[str, str]) -> bytes:
    """Note-shape text written with v/o/x, in the part's own prefixes."""
    if prefixes == _CONVENTIONAL:
        return shape
    by_short = {_CONVENTIONAL[uri].encode(): p.encode() for uri, p in prefixes.items()}
    return _VML_PREFIXED.sub(lambda m: m.group(1) + by_short[m.group(2)] + b":", shape)


_RPR = '<rPr><sz val="9"/><color indexed="81"/><rFont val="Tahoma"/><family val="2"/></rPr>'
_SPLICE = "khbook-splice"


def _splice(root: etree._Element, parent: etree._Element, fragment: list[bytes], ns_decls: str,
            nsmap: dict[str | None, str], *, declaration: bool = True) -> bytes | list[bytes]:
    """Serialise `root` with the XML pieces `fragment` (UTF-8) appended to `parent`'s children
    (the part's bytes, or the pieces they are the concatenation of).

    The fragment is written with the prefixes of `nsmap`. When `parent` sees exactly those
    bindings (the usual case) the pieces are pasted into the serialised bytes at a
    placeholder processing instruction (one join, no intermediate string of the whole
    fragment), so thousands of comments and note shapes are never built as elements;
    otherwise the fragment is parsed (wrapped in `ns_decls`) and appended.
    """
    def finish(tree: etree._Element) -> bytes:
        return serialize(tree) if declaration else etree.tostring(tree, encoding="UTF-8", xml_declaration=False)

    if not fragment:
        return finish(root)
    scope = parent.nsmap
    if all(scope.get(k) == v for k, v in nsmap.items()) and (None in nsmap or None not in scope):
        # the PI gets text: lxml writes an empty one as "<?target ?>" (with a space)
        pi = etree.ProcessingInstruction(_SPLICE, "here")
        parent.append(pi)
        out = finish(root)
        parent.remove(pi)
        marker = f"<?{_SPLICE} here?>".encode()
        if out.count(marker) == 1:
            head, tail = out.split(marker)
            return [head, *fragment, tail]   # pieces: Package.put joins a small part, deflates a large one piecewise
    wrapper = etree.fromstring(b"".join([f"<w {ns_decls}>".encode(), *fragment, b"</w>"]))
    parent.extend(list(wrapper))
    return finish(root)


def _vml_part(pkg: Package, sheet_part: str, sheet: etree._Element) -> str | None:
    ld = sheet.find(q("legacyDrawing"))
    if ld is None:
        return None
    rid = ld.get(f"{{{REL_NS}}}id")
    for rel, target in pkg.targets(sheet_part):
        if rel.id == rid:
            return target
    return None


def _new_vml() -> etree._Element:
    root = etree.Element("xml", nsmap={"v": V, "o": OFF, "x": X})
    layout = etree.SubElement(root, f"{{{OFF}}}shapelayout", {f"{{{V}}}ext": "edit"})
    etree.SubElement(layout, f"{{{OFF}}}idmap", {f"{{{V}}}ext": "edit", "data": ""})
    return root


def _parse_vml(pkg: Package, part: str) -> tuple[etree._Element, dict[str, str]]:
    data = pkg.read(part)
    prefixes = _vml_prefixes(data)
    try:
        return parse(data, part, str(pkg.src)), prefixes
    except WorkbookError:
        # old Excel writes HTML-ish <br> inside note text boxes
        return parse(re.sub(rb"<br\s*>", b"<br/>", data), part, str(pkg.src)), prefixes


def _ensure_note_type(root: etree._Element, prefixes: dict[str, str]) -> None:
    for st in root.iter(f"{{{V}}}shapetype"):
        if st.get("id") == _NOTE_TYPE:
            return
    st = etree.Element(f"{{{V}}}shapetype", id=_NOTE_TYPE, coordsize="21600,21600",
                       path="m,l,21600r21600,l21600,xe", nsmap={prefixes[V]: V, prefixes[OFF]: OFF})
    st.set(f"{{{OFF}}}spt", "202")
    etree.SubElement(st, f"{{{V}}}stroke", joinstyle="miter")
    etree.SubElement(st, f"{{{V}}}path", {"gradientshapeok": "t", f"{{{OFF}}}connecttype": "rect"})
    layout = root.find(f"{{{OFF}}}shapelayout")
    if layout is not None:
        layout.addnext(st)
    else:
        root.insert(0, st)


def _add_note_shapes(root: etree._Element, cells: list[tuple[int, int]], ids: ShapeIds,
                     prefixes: dict[str, str]) -> list[bytes]:
    """Reserve shape ids (o:idmap) for note shapes on `cells`; returns the shapes' VML text
    (in the part's `prefixes`; one UTF-8 piece per shape) for the caller to append to `root`.
    """
    _ensure_note_type(root, prefixes)
    idmap = root.find(f"{{{OFF}}}shapelayout/{{{OFF}}}idmap")
    if idmap is None:
        layout = root.find(f"{{{OFF}}}shapelayout")
        if layout is None:
            layout = etree.Element(f"{{{OFF}}}shapelayout", {f"{{{V}}}ext": "edit"},
                                   nsmap={prefixes[OFF]: OFF, prefixes[V]: V})
            root.insert(0, layout)
        idmap = etree.SubElement(layout, f"{{{OFF}}}idmap", {f"{{{V}}}ext": "edit", "data": ""})
    have = [int(x) for x in re.split(r"[,\s]+", idmap.get("data", "")) if x.isdigit()]
    used = set()
    z = 0
    for shape in root.iter(f"{{{V}}}shape"):
        z += 1
        m = _SHAPE_ID.match(shape.get("id", ""))
        if m:
            used.add(int(m.group(1)))
    free = [b * 1024 + i for b in have for i in range(1, 1024) if b * 1024 + i not in used]
    if len(free) < len(cells):
        blocks = ids.blocks(len(cells) - len(free))
        have += blocks
        free += [b * 1024 + i for b in blocks for i in range(1, 1024)]
    idmap.set("data", ",".join(str(b) for b in have))
    out: list[bytes] = []
    for shape_id, (r, c) in zip(free, cells, strict=False):
        z += 1
        top = max(r - 2, 0)
        out.append(
            f'<v:shape id="_x0000_s{shape_id}" type="#{_NOTE_TYPE}" style="position:absolute;'
            f"margin-left:{59.25 + 48 * c:g}pt;margin-top:{1.5 + 15 * top:g}pt;width:144pt;height:60pt;"
            f'z-index:{z};visibility:hidden" fillcolor="#ffffe1" o:insetmode="auto">'
            '<v:fill color2="#ffffe1"/><v:shadow on="t" color="black" obscured="t"/>'
            '<v:path o:connecttype="none"/><v:textbox style="mso-direction-alt:auto">'
            '<div style="text-align:left"/></v:textbox><x:ClientData ObjectType="Note">'
            f"<x:MoveWithCells/><x:SizeWithCells/><x:Anchor>{c}, 15, {top}, 10, {c + 3}, 15, {top + 4}, 4"
            f"</x:Anchor><x:AutoFill>False</x:AutoFill><x:Row>{r - 1}</x:Row><x:Column>{c - 1}</x:Column>"
            "</x:ClientData></v:shape>".encode())
    return [_with_prefixes(shape, prefixes) for shape in out]
