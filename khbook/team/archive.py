"""`khbook batch --archive DIR`: keep each month's submissions and results, traceably.

After a batch run, its inputs (the reps' workbooks as submitted) and its outputs (annotated
copies, 汇总.xlsx, report.html, batch.json) are copied into a dated folder under DIR::

    DIR/2026-11-24/inputs/王磊.xlsx ...
    DIR/2026-11-24/outputs/汇总.xlsx ...
    DIR/2026-11-24/SHA256SUMS        (``sha256sum -c SHA256SUMS`` checks every file)
    DIR/2026-11-24/manifest.json     (as-of date, time of the run, every file with size and SHA-256)

The folder is named by the run's as-of date (``-2``, ``-3``... for another run of the same
date) and appears whole or not at all (built beside it, then renamed). ``--previous DIR``
accepts the archive folder: the latest archived run is compared with.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from khbook.base.errors import Hint, WorkbookError
from khbook.base.fsutil import make_folder

SUMS_NAME = "SHA256SUMS"
MANIFEST_NAME = "manifest.json"
JSON_NAME = "batch.json"


@dataclass
class Archived:
    folder: Path
    inputs: int
    outputs: int


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _folder_name(root: Path, as_of: dt.date) -> str:
    name, n = as_of.isoformat(), 2
    while (root / name).exists():
        name, n = f"{as_of.isoformat()}-{n}", n + 1
    return name


def archive_run(result: Any, root: str | Path, *, now: dt.datetime | None = None) -> Archived:
    """Copy a :class:`~khbook.batch.run.BatchResult`'s inputs and outputs into a dated folder of `root`."""
    base = Path(root)
    make_folder(base)
    src, out = Path(result.directory), Path(result.outdir)
    inputs = sorted({e.file for e in result.entries if e.status.value != "skipped"})  # what the reps handed in
    outputs = sorted({e.output for e in result.entries if e.output}
                     | {p.relative_to(out).as_posix() for p in result.outputs.values() if out in p.parents})
    stage = Path(tempfile.mkdtemp(prefix=".khbook-archive-", dir=base))
    entries: list[dict[str, Any]] = []
    try:
        for kind, folder, names in (("inputs", src, inputs), ("outputs", out, outputs)):
            for rel in names:
                source = folder / rel
                if not source.is_file():
                    continue
                target = stage / kind / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
                entries.append({"path": f"{kind}/{rel}", "bytes": target.stat().st_size, "sha256": sha256(target)})
        (stage / SUMS_NAME).write_text("".join(f"{e['sha256']}  {e['path']}\n" for e in entries), encoding="utf-8")
        manifest = {"as_of": result.as_of.isoformat(), "created": (now or dt.datetime.now()).isoformat(timespec="seconds"),
                    "source": str(src), "files": entries}
        (stage / MANIFEST_NAME).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        os.chmod(stage, 0o755)
        final = base / _folder_name(base, result.as_of)
        os.rename(stage, final)
    except OSError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        reason = exc.strerror or str(exc)
        raise WorkbookError(str(base), f"cannot write: {reason}", Hint("check_output", "check the output folder and run again"),
                            code="unwritable", params={"reason": reason}) from None
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    n_in = sum(1 for e in entries if e["path"].startswith("inputs/"))
    return Archived(final, n_in, len(entries) - n_in)


def resolve_previous(path: str | Path) -> Path:
    """What ``--previous`` names: a batch OUTDIR, one archived run, or an archive folder
    (its latest run, by as-of date and time of the run). Anything else is returned as given,
    for the batch to refuse with its own message."""
    p = Path(path)
    if (p / JSON_NAME).is_file():
        return p
    if (p / "outputs" / JSON_NAME).is_file():
        return p / "outputs"
    runs = []
    if p.is_dir():
        for d in p.iterdir():
            if d.is_dir() and not d.name.startswith(".") and (d / "outputs" / JSON_NAME).is_file():
                runs.append((_run_key(d), d))
    if not runs:
        return p
    return max(runs)[1] / "outputs"


def _run_key(folder: Path) -> tuple[str, str]:
    try:
        m = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
        return str(m.get("as_of", "")), str(m.get("created", ""))
    except (OSError, ValueError):
        return folder.name[:10], ""
