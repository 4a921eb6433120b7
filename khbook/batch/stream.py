"""The big sheets of 汇总.xlsx, numbered and compressed as the books come in.

全部问题 needs nothing of the other books but how many rows and links came before, so its
rows (rendered by the workers, :mod:`khbook.batch.rows`) are numbered, encoded and deflated
while the other books are still being read (:class:`FindingSheet`, fed in folder order by
:func:`khbook.batch.run.run_batch`); 客户总表 waits for the department's ABC classes
(:class:`CustomerSheet`). The XML before the rows (column widths, the sheet's dimension) is
only known at the end, so each sheet is a list of separately deflated segments: a raw
deflate stream may be cut into blocks ended by a sync flush, and the zip entry is their
concatenation, its CRC combined from theirs
(:func:`khbook.ooxml.deflate.crc32_combine`). :func:`write_zip` writes the package.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from khbook.batch import rows
from khbook.batch.records import FileSummary
from khbook.ooxml.deflate import crc32_combine
from khbook.ooxml.zipraw import append_raw

LEVEL = 1                # deflate level of the big sheets: about 8 times as fast as 6, 30 % larger
MAX_LINKS = 65000        # Excel's limit of hyperlinks per worksheet is 65,530
HYPERLINK = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"
RELS_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">')
RELS_TAIL = "</Relationships>"


# --------------------------------------------------------------------------- deflate segments


@dataclass
class Segment:
    """A piece of a zip entry: raw deflate blocks ending byte-aligned (sync flush), with the CRC
    and length of what they hold."""

    data: list[bytes] = field(default_factory=list)
    crc: int = 0
    size: int = 0
    level: int = LEVEL

    def __post_init__(self) -> None:
        self._z = zlib.compressobj(self.level, zlib.DEFLATED, -15)

    def write(self, text: str | bytes) -> None:
        raw = text.encode("utf-8") if isinstance(text, str) else text
        self.crc = zlib.crc32(raw, self.crc)
        self.size += len(raw)
        out = self._z.compress(raw)
        if out:
            self.data.append(out)

    def close(self, last: bool = False) -> Segment:
        """Flush (the entry's last segment finishes the stream)."""
        self.data.append(self._z.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH))
        return self


def segment(text: str | bytes, *, last: bool = False, level: int = LEVEL) -> Segment:
    s = Segment(level=level)
    s.write(text)
    return s.close(last)


@dataclass
class Entry:
    """A zip entry made of segments (all closed, the last one finishing the stream)."""

    name: str
    segments: list[Segment]

    def crc_size(self) -> tuple[int, int]:
        crc, size = 0, 0
        for s in self.segments:
            crc, size = crc32_combine(crc, s.crc, s.size), size + s.size
        return crc, size


def write_zip(path: Path, entries: Iterable[Entry]) -> None:
    """A zip file of the entries, deflated, in order, each written from its segments."""
    with zipfile.ZipFile(path, "w") as zf:
        for e in entries:
            zi = zipfile.ZipInfo(e.name, date_time=(1980, 1, 1, 0, 0, 0))  # as XlsxWriter dates its parts
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16  # rw for its owner once unzipped, as the refresh writes its new parts
            zi.CRC, zi.file_size = e.crc_size()
            zi.compress_size = sum(len(b) for s in e.segments for b in s.data)
            append_raw(zf, zi, (b for s in e.segments for b in s.data))


# --------------------------------------------------------------------------- the sheets


class CustomerSheet:
    """客户总表's rows, numbered from row 3 when the department's classes are known."""

    def __init__(self) -> None:
        self.body = Segment()
        self.count = 0

    def add(self, texts: list[str], fill: Callable[[int, str], str]) -> None:
        """One book's rows (Excel's last row is the limit); `fill(i, text)` puts in its SLOT."""
        start = 3 + self.count
        texts = texts[:max(0, rows.MAX_ROWS - start + 1)]
        self.body.write("".join([fill(i, x).replace(rows.ROW, str(n)) for i, (n, x) in enumerate(zip(
            range(start, start + len(texts)), texts, strict=True))]))
        self.count += len(texts)

    def entry(self, name: str, xml: str) -> Entry:
        head, tail = _split(xml, self.count)
        return Entry(name, [segment(head), self.body.close(), segment("</sheetData>" + tail, last=True)])


class FindingSheet:
    """全部问题's rows, numbered from row 3 and deflated as each book comes in (in folder order),
    each finding's cell a link to the annotated copy (up to Excel's limit of links)."""

    def __init__(self) -> None:
        self.body, self.links, self.rels = Segment(), Segment(), Segment()
        self.count = 0
        self.link_count = 0
        self.widths: dict[int, int] = {}
        self.files: list[str] = []
        self.broken = False

    def add(self, summary: FileSummary) -> None:
        """The next book's rows (a book without rendered rows spoils the stream: it is made again)."""
        p = summary.parts
        if p is None or self.broken:
            self.broken = True
            return
        self.files.append(summary.file)
        for c, w in p.finding_widths.items():
            if w > self.widths.get(c, 0):
                self.widths[c] = w
        start = 3 + self.count
        texts = p.finding_rows[:max(0, rows.MAX_ROWS - start + 1)]
        room = max(0, MAX_LINKS - self.link_count)
        if len(p.links) > room:    # past Excel's limit of links: the cell's text without its link
            texts = list(texts)
            for i, _, _, link, plain in p.links[room:]:
                if i < len(texts):
                    texts[i] = texts[i].replace(link, plain, 1)
        self.body.write("".join([x.replace(rows.ROW, str(n)) for n, x in zip(
            range(start, start + len(texts)), texts, strict=True)]))
        self.count += len(texts)
        col = rows.COLUMNS[rows.FINDING_CELL]
        links, rels = [], []
        for i, target, location, _, _ in p.links[:room]:
            if i >= len(texts):
                break
            n = self.link_count + 1
            links.append(f'<hyperlink ref="{col}{start + i}" r:id="rId{n}" location="{location}"/>')
            rels.append(f'<Relationship Id="rId{n}" Type="{HYPERLINK}" Target="{target}" TargetMode="External"/>')
            self.link_count = n
        self.links.write("".join(links))
        self.rels.write("".join(rels))

    def entries(self, name: str, rels_name: str, xml: str) -> list[Entry]:
        head, tail = _split(xml, self.count)
        if not self.link_count:
            return [Entry(name, [segment(head), self.body.close(), segment("</sheetData>" + tail, last=True)])]
        at = min(i for i in (tail.find("<printOptions"), tail.find("<pageMargins"), len(tail)) if i >= 0)
        return [Entry(name, [segment(head), self.body.close(), segment("</sheetData>" + tail[:at] + "<hyperlinks>"),
                             self.links.close(), segment("</hyperlinks>" + tail[at:], last=True)]),
                Entry(rels_name, [segment(RELS_HEAD), self.rels.close(), segment(RELS_TAIL, last=True)])]


def _split(xml: str, count: int) -> tuple[str, str]:
    """XlsxWriter's sheet XML around the end of its rows, the dimension reaching the last row."""
    head, _, tail = xml.partition("</sheetData>")
    if count:
        head = _dimension(head, 2 + count)
    return head, tail


def _dimension(head: str, last: int) -> str:
    at = head.find('<dimension ref="')
    if at < 0:
        return head
    end = head.index('"', at + 16)
    ref = head[at + 16:end]
    first, _, second = ref.partition(":")
    col = (second or first).rstrip("0123456789")
    return f'{head[:at + 16]}{first}:{col}{last}{head[end:]}'
