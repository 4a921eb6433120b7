"""The reason phrases (分类依据) in one language, and the number formats inside them.

Each phrase is a str.format template of reasons.yaml; :meth:`Words.bind` fills in the
constant parts (labels, thresholds) once so a reason per customer costs one format call.
Every label inside a phrase is the spec's label in the output language; every number is
formatted here (no trailing zeros). A phrase that is missing, or that uses a placeholder
its reason does not have, raises SpecError naming reasons.yaml and the key.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from khbook.base.errors import SpecError
from khbook.classify.facts import MICRO, day_date
from khbook.spec import Spec

Phrase = Callable[..., str]


def num(x: float | int | Fraction | Decimal) -> str:
    """A number without trailing zeros: 50, 49.99, 62.5."""
    if isinstance(x, Fraction):
        x = float(x)
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    if isinstance(x, int):
        return str(x)
    return f"{x:.6f}".rstrip("0").rstrip(".")


@lru_cache(maxsize=65536)
def wan(micro: int) -> str:
    """Millionths of a 万元 -> '62.5' (exact, no float formatting; the unit is in the phrase)."""
    q, r = divmod(micro, MICRO)
    return str(q) if not r else f"{q}.{r:06d}".rstrip("0")


def wan_short(micro: int) -> str:
    """A total in 万元 with one decimal at most (553.8), for the ABC base."""
    tenths = (micro * 10 + MICRO // 2) // MICRO
    q, r = divmod(tenths, 10)
    return f"{q}.{r}" if r else str(q)


@lru_cache(maxsize=4096)
def date_text(day: int) -> str:
    return day_date(day).isoformat()


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


class Words:
    """The reason phrases of reasons.yaml in one language, and the spec's labels in it."""

    def __init__(self, spec: Spec, lang: str = "zh") -> None:
        self.spec, self.lang = spec, lang
        self.path = str(spec.directory / "reasons.yaml")
        self.list_sep = self.text("list_sep")
        r = spec.rules
        self.won = self.label("deal_stage", r.stage.won_stage)
        self.lost = self.label("deal_stage", r.stage.lost_stage)
        self.amount_won = self.label("deal_stage", r.annual_amount.won_stage)

    def text(self, key: str) -> str:
        t = self.spec.reasons.get(key)
        if t is None:
            raise SpecError(self.path, key, "missing: the classifier needs this reason phrase (zh and en)")
        return t(self.lang)

    def label(self, list_name: str, value: str) -> str:
        """A canonical list value in the output language (unknown values unchanged)."""
        if self.lang == "zh" or list_name not in self.spec.lists:
            return value
        return self.spec.label(list_name, value, self.lang)

    def bind(self, key: str, *fields: str, **consts: object) -> Phrase:
        """The phrase `key` as a function of `fields` (texts, positional), `consts` filled in."""
        src = self.text(key)
        where = f"{key}.{self.lang}"
        parts = []
        try:
            for literal, name, spec, conv in string.Formatter().parse(src):
                parts.append(_escape(literal))
                if name is None:
                    continue
                if name in fields:
                    conv_spec = (f"!{conv}" if conv else "") + (f":{spec}" if spec else "")
                    parts.append(f"{{{fields.index(name)}{conv_spec}}}")
                elif name in consts:
                    value: object = consts[name]
                    if conv:
                        value = {"r": repr, "s": str, "a": ascii}[conv](value)
                    parts.append(_escape(format(value, spec or "")))
                else:
                    known = ", ".join(f"{{{n}}}" for n in (*fields, *consts)) or "none"
                    raise SpecError(self.path, where, f"unknown placeholder {{{name}}} (this reason has: {known})")
            fmt = "".join(parts)
            fmt.format(*[""] * len(fields))  # a bad format spec fails here, not per customer
        except (ValueError, KeyError, IndexError) as exc:
            raise SpecError(self.path, where, f"cannot fill in this phrase: {exc}") from None
        return fmt.format

    def say(self, key: str, **consts: object) -> str:
        """A phrase with every placeholder filled in."""
        return self.bind(key, **consts)()


def abc_base(spec: Spec, lang: str, *, scope: str = "book", total_micro: int | None = None) -> str:
    """The base of the ABC shares in words ("本工作簿年交易额合计 553.8 万元").

    `scope`: ``book`` (this workbook) or ``department`` (a batch); a company total set in
    rules.yaml (``abc.base: company``) wins over both. Without `total_micro` the book's
    base is named without a figure (the blank template does not know it yet).
    """
    W = Words(spec, lang)
    abc = spec.rules.abc
    if abc.base == "company" and abc.company_total is not None:
        return W.say("abc_base_company", total=wan_short(int(abc.company_total * MICRO)))
    if total_micro is None:
        return W.text("abc_base_book_open")
    return W.say("abc_base_department" if scope == "department" else "abc_base_book", total=wan_short(total_micro))


def abc_basis_text(spec: Spec, lang: str = "zh", *, scope: str = "book", total: float | None = None) -> str:
    """Which base and thresholds the ABC classes used, in a manager's words.

    e.g. "按本工作簿年交易额合计 553.8 万元计算：占比 20% 及以上为 A 类，5%–20% 为 B 类，其余为 C 类".
    `total`: the summed 年交易额 in 万元 (None: not known, e.g. for the blank template);
    `scope`: ``book`` or ``department`` (the batch's consolidated classes).
    """
    W = Words(spec, lang)
    abc = spec.rules.abc
    th = abc.thresholds
    micro = None if total is None else round(total * MICRO)
    base = abc_base(spec, lang, scope=scope, total_micro=micro)
    cls = {k: W.label("abc_class", k) for k in ("A", "B")}
    return W.say(f"abc_rule_{abc.method}", base=base, a=num(th.A), b=num(th.B), A=cls["A"], B=cls["B"],
                 C=W.label("abc_class", abc.fallback))
