"""Build the team kit: a folder and its zip (see :mod:`khbook.kit`).

Layout of the folder (names of the zh kit; labels.yaml area ``kit`` has both languages)::

    使用说明.txt                 plain-language instructions (UTF-8 with BOM, CRLF)
    安装.bat                     Windows installer (CRLF)      install.command / install.sh  (macOS / Linux)
    客户管理模板.xlsm  .py        the button workbook and its companion module
    拖入工作簿-检查.bat/.command   drop a workbook: khbook refresh, the annotated copy opens
    拖入文件夹-月度汇总.bat/.command drop a folder: khbook batch, report.html opens
    安装包/khbook-*.whl          the wheel (安装包/windows/: every dependency for offline installs, optional)
    xlwings-Lite/main.py, requirements.txt

Every installer creates the environment at :data:`ENV_WIN` / :data:`ENV_POSIX` (in the user's
profile, not in the kit, which may sit on a read-only share), and the workbook's hidden
``xlwings.conf`` sheet names that environment's Python (:func:`xlwings_settings`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from khbook.base.errors import Hint, WorkbookError
from khbook.base.fsutil import atomic_output
from khbook.kit.scripts import render
from khbook.spec import Spec
from khbook.spec.load import default_spec_dir

#: Where the installers put khbook's environment (the profile; expanded by cmd and by xlwings' VBA).
ENV_WIN = r"%USERPROFILE%\.khbook\env"
#: The same on macOS/Linux (``$HOME`` is expanded by sh and by xlwings' VBA on macOS).
ENV_POSIX = "$HOME/.khbook/env"
#: The oldest Python khbook runs on (pyproject's requires-python).
PYTHON_MIN = "3.11"
#: The sub-folder of the packages folder with the Windows wheels for an offline install.
WINDOWS_DIR = "windows"
#: Requirements only Windows has (pip evaluates markers for the machine it runs on, not for
#: --platform, so these are named): xlwings needs pywin32 there; pandas' time zones need tzdata.
WINDOWS_ONLY = ("pywin32>=224", "tzdata")
#: Where requirements.txt points until the ops person names the team's web address.
LITE_URL_PLACEHOLDER = "https://example.com/khbook"


def xlwings_settings() -> dict[str, str]:
    """The kit workbook's ``xlwings.conf`` sheet: the Python of the installer's environment.

    ``python.exe`` rather than ``pythonw.exe``: xlwings sends the interpreter's stderr to the
    error box the rep sees, and runs the console hidden anyway.
    """
    return {
        "Interpreter_Win": ENV_WIN + r"\Scripts\python.exe",
        "Interpreter_Mac": ENV_POSIX + "/bin/python",
    }


@dataclass
class KitResult:
    """What :func:`build_kit` wrote."""

    folder: Path
    zip: Path
    wheel: Path
    files: list[str] = field(default_factory=list)            # relative to the folder, "/"-separated
    windows_wheels: list[str] = field(default_factory=list)   # file names in the offline folder


def _kit_templates(spec: Spec) -> Path:
    own = Path(spec.directory) / "kit"
    return own if own.is_dir() else default_spec_dir() / "kit"


def source_root() -> Path | None:
    """The checkout khbook runs from (its pyproject.toml), or None for an installed wheel."""
    root = Path(__file__).resolve().parent.parent.parent
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and 'name = "khbook"' in pyproject.read_text(encoding="utf-8"):
        return root
    return None


def _pip(args: list[str], what: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        lines = [ln for ln in (done.stderr or done.stdout).splitlines() if ln.strip() and "WARNING" not in ln]
        detail = lines[-1] if lines else f"pip exit status {done.returncode}"
        raise WorkbookError("pip", f"{what} failed: {detail}", Hint("pip_network", "check the network and the package index, "
                            "or pass --wheel FILE"), code="pip_failed", params={"detail": detail})


def build_wheel(dest: Path) -> Path:
    """Build khbook's wheel from the checkout into ``dest`` (``pip wheel --no-deps``)."""
    root = source_root()
    if root is None:
        raise WorkbookError("khbook", "is installed from a wheel, so it cannot build one",
                            Hint("pass_wheel", "pass --wheel FILE (in a checkout, make dist writes dist/khbook-*.whl)"),
                            code="no_source_tree")
    _pip(["wheel", "--no-deps", "--quiet", "--wheel-dir", str(dest), str(root)], "building the khbook wheel")
    wheels = sorted(dest.glob("khbook-*.whl"))
    if not wheels:
        raise WorkbookError(str(dest), "building the khbook wheel wrote no khbook-*.whl",
                            Hint("pass_wheel", "pass --wheel FILE (in a checkout, make dist writes dist/khbook-*.whl)"),
                            code="no_wheel_built")
    return wheels[-1]


def download_windows_wheels(wheel: Path, xlwings: str, python: str, dest: Path) -> list[str]:
    """Every dependency of ``wheel`` and xlwings as Windows (win_amd64) wheels for CPython ``python``."""
    _pip(["download", "--quiet", "--only-binary=:all:", "--platform", "win_amd64", "--implementation", "cp",
          "--python-version", python, "--dest", str(dest), str(wheel), f"xlwings=={xlwings}", *WINDOWS_ONLY],
         f"downloading the Windows wheels for Python {python}")
    return sorted(p.name for p in dest.glob("*.whl"))


def _write(path: Path, text: str, *, crlf: bool = False, bom: bool = False, executable: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if crlf:
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    path.write_bytes(("\ufeff" if bom else "").encode("utf-8") + text.encode("utf-8"))
    if executable:
        path.chmod(0o755)


def _zip(folder: Path, target: Path) -> None:
    with atomic_output(target) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            arc = f"{folder.name}/{path.relative_to(folder).as_posix()}"
            if path.is_dir():
                continue
            info = zipfile.ZipInfo.from_file(path, arc)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = ((0o755 if path.stat().st_mode & 0o111 else 0o644) | 0o100000) << 16
            zf.writestr(info, path.read_bytes())


def _is_kit(folder: Path, spec: Spec) -> bool:
    from khbook.spec import LANGS

    return any((folder / spec.text("kit.file_readme", lang)).is_file() for lang in LANGS)


def build_kit(output: str | Path, *, spec: Spec, lang: str = "zh", wheel: str | Path | None = None,
              windows_python: str | None = None, lite_url: str | None = None) -> KitResult:
    """Write the kit folder ``output`` and ``output.zip``.

    ``wheel``: khbook's wheel to ship (default: built from the checkout). ``windows_python``
    (e.g. ``"3.12"``): also put the Windows wheels of every dependency in the kit, for that
    CPython, so the installer works offline (it then asks ``py`` for that version).
    ``lite_url``: the web folder where the team hosts the wheel for xlwings Lite.
    An existing kit at ``output`` is replaced; any other existing folder is refused.
    """
    from khbook import __version__
    from khbook.batch.run import DEFAULT_OUTDIR, HTML_NAME
    from khbook.template.macro import companion_name, xlwings_version
    from khbook.template.writer import write_template

    folder = Path(output)
    if folder.exists() and (not folder.is_dir() or (any(folder.iterdir()) and not _is_kit(folder, spec))):
        raise WorkbookError(str(folder), "exists and is not a khbook kit", Hint("new_folder", "choose a new folder with -o"),
                            code="not_a_kit")
    if wheel is not None and not (Path(wheel).is_file() and Path(wheel).name.startswith("khbook-")
                                  and Path(wheel).suffix == ".whl"):
        raise WorkbookError(str(wheel), "--wheel expects khbook's wheel file (khbook-*.whl)",
                            Hint("pass_wheel", "pass --wheel FILE (in a checkout, make dist writes dist/khbook-*.whl)"),
                            code="bad_wheel")
    t = spec.texts("kit", lang)
    xlwings = xlwings_version()
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        kit = staging / folder.name
        packages = kit / t["folder_packages"]
        packages.mkdir(parents=True)
        if wheel is None:
            with tempfile.TemporaryDirectory() as tmp:
                built = build_wheel(Path(tmp))
                shutil.copy2(built, packages / built.name)
                wheel_name = built.name
        else:
            wheel_name = Path(wheel).name
            shutil.copy2(wheel, packages / wheel_name)
        offline: list[str] = []
        if windows_python:
            offline = download_windows_wheels(packages / wheel_name, xlwings, windows_python, packages / WINDOWS_DIR)

        workbook = t["file_workbook"]
        write_template(spec, kit / workbook, lang=lang, macro=True, xlwings_conf=xlwings_settings())
        context = {
            "t": t, "lang": lang, "version": __version__, "xlwings": xlwings, "python_min": PYTHON_MIN,
            "env_win": ENV_WIN, "env_posix": ENV_POSIX, "wheel": wheel_name, "packages": t["folder_packages"],
            "windows_dir": WINDOWS_DIR, "offline": bool(windows_python), "offline_python": windows_python or "",
            "py_select": f"-{windows_python}" if windows_python else "-3",
            "workbook": workbook, "companion": companion_name(workbook), "lite": t["folder_lite"],
            "installer": f"{t['file_install']}.bat", "installer_mac": "install.command",
            "drop_check": t["file_drop_check"], "drop_batch": t["file_drop_batch"],
            "batch_dir": DEFAULT_OUTDIR, "report": HTML_NAME,
        }
        templates = _kit_templates(spec)

        def put(name: str, template: str, **how: bool) -> None:
            _write(kit / name, render(templates, template, context), **how)

        put(t["file_readme"], "readme.txt.j2", crlf=True, bom=True)
        put(context["installer"], "install.bat.j2", crlf=True)
        put("install.command", "install.sh.j2", executable=True)
        put("install.sh", "install.sh.j2", executable=True)
        put(f"{t['file_drop_check']}.bat", "drop_check.bat.j2", crlf=True)
        put(f"{t['file_drop_batch']}.bat", "drop_batch.bat.j2", crlf=True)
        put(f"{t['file_drop_check']}.command", "drop_check.command.j2", executable=True)
        put(f"{t['file_drop_batch']}.command", "drop_batch.command.j2", executable=True)

        lite_main = (Path(spec.directory) / "xlwings_lite_main.py")
        if not lite_main.is_file():
            lite_main = default_spec_dir() / "xlwings_lite_main.py"
        main_py = lite_main.read_text(encoding="utf-8").replace('LANG = "zh"', f'LANG = "{lang}"')
        _write(kit / t["folder_lite"] / "main.py", main_py)
        url = (lite_url or LITE_URL_PLACEHOLDER).rstrip("/") + "/" + wheel_name
        _write(kit / t["folder_lite"] / "requirements.txt", url + "\n")

        files = sorted(p.relative_to(kit).as_posix() for p in kit.rglob("*") if p.is_file())
        if folder.exists():
            shutil.rmtree(folder)
        kit.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    target = folder.with_name(folder.name + ".zip")
    _zip(folder, target)
    return KitResult(folder, target, folder / t["folder_packages"] / wheel_name, files, offline)
