"""UI labels come from templates/labels.yaml, in the output language.

Every label has both languages; a spec copy with a changed label changes the annotated
copy (异常清单 header, severity names) and the text output of `khbook check` (the total
line); a broken or incomplete labels.yaml is a SpecError naming the file and the key.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml

from khbook.base.errors import SpecError
from khbook.pipeline import check_file, refresh_file
from khbook.report.render import render_text
from khbook.spec import LANGS, Spec, Text, TextList, default_spec_dir, load_spec
from tests.rep import AS_OF, NOW, fill_messy, make_template

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory, spec: Spec) -> Path:
    d = tmp_path_factory.mktemp("labels")
    path, _ = fill_messy(make_template(d / "template.xlsx", spec), d / "messy.xlsx")
    return path


def _copy(tmp_path: Path) -> Path:
    d = tmp_path / "templates"
    shutil.copytree(default_spec_dir(), d)
    return d


def _raw(d: Path) -> dict[str, Any]:
    return yaml.safe_load((d / "labels.yaml").read_text(encoding="utf-8"))


def _write(d: Path, raw: dict[str, Any]) -> None:
    (d / "labels.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")


def test_every_label_has_both_languages(spec: Spec) -> None:
    raw = _raw(default_spec_dir())
    assert set(spec.labels) == {f"{area}.{key}" for area, entries in raw.items() for key in entries}
    for key, t in spec.labels.items():
        assert isinstance(t, (Text, TextList)), key
        for lang in LANGS:
            assert t(lang), key
        assert not CJK.search(str(t("en"))), key
    assert spec.text("check_text.total", "zh") == "合计"
    assert spec.text_list("annotated.findings_columns", "en")[0] == "Severity"
    assert spec.texts("severity", "zh") == {"error": "错误", "warning": "警告", "info": "提示"}


def test_changed_label_in_a_spec_copy_changes_the_output(tmp_path: Path, spec: Spec, messy: Path) -> None:
    d = _copy(tmp_path)
    raw = _raw(d)
    raw["annotated"]["findings_columns"]["zh"][0] = "级别"
    raw["severity"]["error"]["zh"] = "严重错误"
    raw["check_text"]["total"]["en"] = "All together"
    _write(d, raw)
    changed = load_spec(d)

    before = refresh_file(messy, tmp_path / "before.xlsx", spec=spec, as_of=AS_OF, now=NOW)
    after = refresh_file(messy, tmp_path / "after.xlsx", spec=changed, as_of=AS_OF, now=NOW)
    assert before.report.counts["error"] > 0
    old, new = openpyxl.load_workbook(before.output)["异常清单"], openpyxl.load_workbook(after.output)["异常清单"]
    assert (old["A1"].value, new["A1"].value) == ("严重程度", "级别")
    assert [c.value for c in new[1]][1:] == [c.value for c in old[1]][1:]
    assert old["A2"].value == "错误" and new["A2"].value == "严重错误"

    total = next(line for line in render_text(check_file(messy, spec, as_of=AS_OF, lang="en")).splitlines()
                 if line.startswith("Total: "))
    text = render_text(check_file(messy, changed, as_of=AS_OF, lang="en"))
    assert "All together: " + total.removeprefix("Total: ") in text.splitlines()
    assert "Total: " not in text


def test_missing_or_broken_labels_are_spec_errors(tmp_path: Path) -> None:
    d = _copy(tmp_path / "a")
    (d / "labels.yaml").unlink()
    with pytest.raises(SpecError, match=r"labels\.yaml"):
        load_spec(d)

    cases = [
        (lambda raw: raw["batch"]["title"].pop("en"), r"labels\.yaml.*batch\.title\.en"),
        (lambda raw: raw["annotated"]["changelog_columns"]["en"].pop(), r"labels\.yaml.*annotated\.changelog_columns.*equally long"),
        (lambda raw: raw["check_text"].pop("total"), r"labels\.yaml.*check_text\.total.*missing"),
        (lambda raw: raw["check_text"].update(customer_columns={"zh": "客户", "en": "Customers"}),
         r"labels\.yaml.*check_text\.customer_columns.*list"),
        (lambda raw: raw["severity"].update(error={"zh": "错误", "en": "error", "fr": "erreur"}),
         r"labels\.yaml.*severity\.error.*unknown"),
    ]
    for i, (edit, message) in enumerate(cases):
        d = _copy(tmp_path / str(i))
        raw = _raw(d)
        edit(raw)
        _write(d, raw)
        with pytest.raises(SpecError, match=message):
            load_spec(d)
