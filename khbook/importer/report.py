"""The import report in words: each sheet found, each column's target with its evidence, the
counts, the defaults used and the check of the result (labels.yaml area ``importer``)."""

from __future__ import annotations

from khbook.importer.mapping import evidence, target_text
from khbook.importer.run import ImportResult
from khbook.spec import Spec


def render_text(result: ImportResult, spec: Spec, lang: str) -> str:
    def t(key: str, **kw: object) -> str:
        return spec.text(f"importer.{key}", lang).format(**kw)

    lines: list[str] = []
    for s in result.sources:
        if s.header_row:
            lines.append(t("sheet_header", file=s.file, sheet=s.sheet, row=s.header_row, rows=len(s.data)))
        else:
            lines.append(t("sheet_no_header", file=s.file, sheet=s.sheet, rows=len(s.data)))
        if not s.has_customers:
            lines.append(t("sheet_skipped", raw=spec.text("importer.raw_sheet", lang)))
        for c in s.columns:
            ev = evidence(spec, c, lang)
            target = target_text(spec, c.target, lang)
            lines.append(t("column", letter=c.letter, target=target, evidence=ev) if target
                         else t("column_remark", letter=c.letter, evidence=ev))
    if result.map_written:
        lines.append(t("map_written", path=result.map_written))
    if result.output is None:
        return "\n".join(lines)
    lines.append(t("summary", rows=result.rows_read, created=len(result.created), contacts=result.contacts,
                   followups=result.followups, deals=result.deals,
                   merged=result.merged_rows + result.continuation_rows, existing=len(result.existing),
                   unmapped=result.unmapped_values, raw=spec.text("importer.raw_sheet", lang), guesses=result.guesses))
    for cid, name in result.existing:
        lines.append(t("existing", id=cid, name=name))
    vocab_values = {"deal_stage": "deal_stage_with_amount", "followup_method": "followup_method"}
    if result.defaults:
        from khbook.spec.vocab import import_vocab

        vocab = import_vocab(spec)
        for key, n in sorted(result.defaults.items()):
            value = getattr(vocab, vocab_values[key])
            value = spec.label(key, value, lang) if key in spec.lists else value
            lines.append(t(f"default_{key}", n=n, value=value))
    lines.append(t("wrote", path=result.output))
    if result.report is not None:
        c = result.report.counts
        lines.append(t("check", error=c.get("error", 0), warning=c.get("warning", 0), info=c.get("info", 0),
                       path=result.output))
    return "\n".join(lines)
