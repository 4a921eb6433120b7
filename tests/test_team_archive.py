"""`khbook batch --archive DIR`: each run's inputs and outputs in a dated folder with
checksums; `--previous DIR` takes the latest archived run."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import subprocess

from khbook.cli import main
from khbook.spec import load_spec
from khbook.team.archive import resolve_previous
from khbook.team.split import split_book
from khbook.template.writer import write_template
from tests.rep import AS_OF


def test_batch_archives_inputs_and_outputs_and_previous_takes_the_latest_run(tmp_path, capsys):
    spec = load_spec()
    master = write_template(spec, tmp_path / "部门.xlsx", examples=6, as_of=AS_OF)
    split_book(master, tmp_path / "提交", spec=spec, as_of=AS_OF)
    archive = tmp_path / "归档"
    assert main(["batch", str(tmp_path / "提交"), "-o", str(tmp_path / "out1"), "--as-of", AS_OF.isoformat(),
                 "--jobs", "1", "--archive", str(archive)]) in (0, 1)
    assert "已归档到" in capsys.readouterr().out
    run = archive / AS_OF.isoformat()
    inputs = sorted(p.name for p in (run / "inputs").iterdir())
    assert inputs == sorted(p.name for p in (tmp_path / "提交").iterdir())
    outputs = {p.relative_to(run / "outputs").as_posix() for p in (run / "outputs").rglob("*") if p.is_file()}
    assert {"汇总.xlsx", "report.html", "batch.json"} <= outputs
    assert {f"{n[:-5]}.checked.xlsx" for n in inputs} <= outputs
    sums = (run / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    assert len(sums) == len(inputs) + len(outputs)
    for line in sums:
        digest, rel = line.split("  ", 1)
        assert hashlib.sha256((run / rel).read_bytes()).hexdigest() == digest
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["as_of"] == AS_OF.isoformat() and len(manifest["files"]) == len(sums)
    if shutil.which("sha256sum"):
        assert subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=run).returncode == 0
    assert not [p for p in archive.iterdir() if p.name.startswith(".")]      # no half-built folder left

    # a month later: --previous takes the archive folder (its latest run); the run is archived beside it
    later = AS_OF + dt.timedelta(days=30)
    assert resolve_previous(archive) == run / "outputs"
    assert main(["batch", str(tmp_path / "提交"), "-o", str(tmp_path / "out2"), "--as-of", later.isoformat(),
                 "--jobs", "1", "--previous", str(archive), "--archive", str(archive), "--format", "json"]) in (0, 1)
    data = json.loads(capsys.readouterr().out)
    assert data["month_over_month"] is not None
    assert sorted(p.name for p in archive.iterdir()) == [AS_OF.isoformat(), later.isoformat()]
    assert resolve_previous(archive) == archive / later.isoformat() / "outputs"
    # the same date again gets its own folder
    assert main(["batch", str(tmp_path / "提交"), "-o", str(tmp_path / "out3"), "--as-of", later.isoformat(),
                 "--jobs", "1", "--archive", str(archive)]) in (0, 1)
    assert (archive / f"{later.isoformat()}-2" / "SHA256SUMS").is_file()
