"""The typed records of a batch: what travels between discovery, the workers, the
consolidation and the renderers.

Every record is a dataclass of plain values (picklable: workers return them across
processes; ``dataclasses.asdict`` turns them into the JSON of batch.json). Labels inside
are canonical (the zh labels of lists.yaml); renderers word them in the output language.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum

from khbook.findings import Finding


class Status(StrEnum):
    """What a batch did with one file of the folder."""

    PROCESSED = "processed"      # read, checked, annotated copy written
    REFUSED = "refused"          # not readable as a workbook: the reason `khbook check` gives
    SKIPPED = "skipped"          # left out on purpose (lock file, hidden, khbook's own output, ...)


@dataclass(frozen=True)
class Task:
    """One workbook for a worker: source path, path relative to the folder, output folder, spec, date, language,
    the password encrypted books are read with (never printed), and whether to mask the shared outputs."""

    src: str
    rel: str
    outdir: str
    spec_dir: str
    as_of: str
    lang: str
    password: str | None = field(default=None, repr=False)
    mask: bool = False


@dataclass(frozen=True)
class Skip:
    """A file discovery leaves out on purpose: `why` is a key of labels.yaml ``batch_files.skip_*``."""

    rel: str
    why: str
    other: str = ""              # the original an annotated copy belongs to


@dataclass(frozen=True)
class Discovery:
    """Discovery's answer: the workbooks to run, the files skipped on purpose, copies read for a missing original."""

    tasks: list[str]             # relative paths, sorted
    skipped: list[Skip]
    copies_read: list[str]       # relative paths of annotated copies read because their original is absent


@dataclass
class CustomerRow:
    """One customer of one file (canonical labels; `abc_class` becomes the department's class)."""

    file: str
    row: int | None
    customer_id: str
    name: str | None
    owner: str | None
    annual_amount: float | None      # 万元
    value_tier: str
    abc_class: str
    stage: str
    tags: tuple[str, ...]
    region: str | None
    industry: str | None
    credit_code: str | None
    name_key: str
    last_followup: str | None
    followed: bool
    abc_class_file: str | None = None
    rep: str = ""


@dataclass
class FindingRow(Finding):
    """One finding of one file (``file`` is its path in the folder), with the column's type (for
    masking) and the file's rep."""

    kind: str = "text"
    rep: str = ""


@dataclass
class FileParts:
    """One book's share of the consolidated outputs, rendered by its worker (:mod:`khbook.batch.rows`).

    ``customer_rows``: 客户总表 rows, ``rows.SLOT`` where the department's ABC class goes,
    ``tall`` the rows that are tall (their ABC cell takes the row's format); ``finding_rows``:
    全部问题 rows, each finding's cell a link to the annotated copy; ``links``: per link (row in
    this book, target and location attributes, the link's cell, the plain cell that replaces it
    past Excel's limit of links); ``customer_json``: its customers' batch.json objects (indented
    for their place, joined as the list joins them) split where each one's department class
    goes; ``churn_json`` and ``overdue_json``: its items of those two lists of batch.json.
    """

    customer_rows: list[str]
    customer_widths: dict[int, int]
    tall: set[int]
    finding_rows: list[str]
    finding_widths: dict[int, int]
    links: list[tuple[int, str, str, str, str]]
    customer_json: list[str]
    churn_json: list[str]            # its customers at churn risk, as batch.json lists them
    overdue_json: list[str]          # its overdue follow-ups, as batch.json lists them
    fix_counts: tuple[dict, dict] = field(default_factory=lambda: ({}, {}))   # consolidate.fix_counts of its findings


@dataclass
class FileSummary:
    """A workbook the worker read: its customers, findings and the figures of the quality score."""

    file: str
    output: str                      # the annotated copy, relative to the output folder
    counts: dict[str, int]
    rows: int
    key_filled: int
    key_total: int
    customers: list[CustomerRow]
    findings: list[FindingRow]
    rep: str = ""
    masked: bool = False             # findings and credit codes masked by the worker (--mask)
    parts: FileParts | None = None   # this book's rows of the consolidated outputs, rendered by the worker


@dataclass
class Failure:
    """A workbook the worker could not read: the reason in the run's language and in English, the error code."""

    file: str
    reason: str
    reason_en: str
    code: str = ""
    detail: str = ""                 # the reader library's own words, when it gave some (batch.json only)


@dataclass
class FileEntry:
    """One line of the file accounting (文件清单): every file under the folder."""

    file: str
    status: Status
    reason: str = ""                 # why refused / skipped, or a note for a processed file (in the run's language)
    reason_en: str = ""              # the same in English (scripts)
    code: str = ""                   # the refusal's error code, or the skip key
    owner: str | None = None
    customers: int = 0
    errors: int = 0
    output: str | None = None        # the annotated copy, relative to the output folder
    detail: str = ""                 # a refusal's technical detail (the reader library's words), for scripts


@dataclass
class RepQuality:
    rep: str
    files: int
    customers: int
    rows: int
    errors: int
    warnings: int
    completeness: float
    followed_share: float
    score: int | None


@dataclass
class Problem:
    rule: str
    severity: str
    count: int


@dataclass
class CustomerErrors:
    customer_id: str
    name: str | None
    file: str
    errors: int
    warnings: int


@dataclass
class FixFirst:
    """Per rep, what to fix first: the most frequent rules and the customers with the most errors."""

    rep: str
    problems: list[Problem]
    customers: list[CustomerErrors]


@dataclass
class Duplicate:
    basis: str                       # credit_code | name
    key: str
    file_a: str
    owner_a: str | None
    customer_id_a: str
    name_a: str | None
    file_b: str
    owner_b: str | None
    customer_id_b: str
    name_b: str | None


@dataclass
class Share:
    """One bucket of a breakdown: customers and 年交易额 (万元), and the bucket's share of the total amount."""

    label: str
    count: int
    amount: float
    share: float


@dataclass
class Breakdown:
    dim: str                         # rep | value_tier | abc_class | stage | region | industry
    rows: list[Share]


@dataclass
class RepMoney:
    """Per rep: total 年交易额 and the part at churn risk (stage churned or churn risk)."""

    rep: str
    customers: int
    amount: float
    churn_customers: int
    churn_amount: float


@dataclass
class Brief:
    customer_id: str | None
    name: str | None
    file: str | None
    owner: str | None


@dataclass
class Change:
    customer_id: str | None
    name: str | None
    file: str | None
    owner: str | None
    field: str
    old: str | None
    new: str | None
    old_file: str | None


@dataclass
class ScoreChange:
    rep: str
    old: int | None
    new: int | None
    delta: int | None


@dataclass
class AmountChange:
    """A rep's total 年交易额 last run and now (the department's: rep ``""``)."""

    rep: str
    old: float | None
    new: float | None
    delta: float | None


@dataclass
class MonthOverMonth:
    previous_as_of: str | None
    changes: list[Change] = field(default_factory=list)
    new: list[Brief] = field(default_factory=list)
    gone: list[Brief] = field(default_factory=list)
    reps: list[ScoreChange] = field(default_factory=list)
    amounts: list[AmountChange] = field(default_factory=list)
    department: AmountChange | None = None


@dataclass
class Consolidated:
    """The per-file records brought together (before month over month)."""

    files: list[FileSummary]
    customers: list[CustomerRow]       # rep set; abc_class = the department's class
    findings: list[FindingRow]         # rep set; masked with --mask
    reps: list[RepQuality]
    duplicates: list[Duplicate]


@dataclass
class PreviousRun:
    """What month over month needs of an earlier run's batch.json."""

    as_of: str | None
    customers: list[CustomerRow]
    scores: dict[str, int | None]


@contextmanager
def no_gc() -> Iterator[None]:
    """Python's cycle collector paused (restored after): a batch makes many small acyclic objects
    (records, unpickled results), and the collector's passes over them cost more than they free."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            # what was made meanwhile goes to the oldest generation unscanned (a collection of the young
            # ones would walk them all), then the collector runs on as before
            gc.freeze()
            gc.unfreeze()
            gc.enable()
