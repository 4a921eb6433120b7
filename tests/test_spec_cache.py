"""The parsed-spec cache (khbook.base.cache): a cached spec is the spec the files say, a changed
file is parsed again, and a broken, stale or unwritable cache is never a failure."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import khbook.spec.load as spec_load
from khbook.base.cache import CACHE_ENV, cache_dir, cached
from khbook.base.errors import SpecError
from khbook.spec import default_spec_dir, load_spec

TOTAL = '  total: {zh: "合计", en: "Total"}\n'
ERROR = 'en: "khbook: error: {message}"}\n'  # the line before console.wrote
WROTE = ERROR + '  wrote: {zh: "已写入 {path}", en: "wrote {path}"}\n'
#: functools caches of the built-in files: cleared to act as a new process would (only the file cache left)
_MEMOS = (spec_load._builtin_label_texts, spec_load._builtin_labels, spec_load._builtin_checks)


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(folder))
    return folder


@pytest.fixture()
def copy(tmp_path: Path) -> Path:
    d = tmp_path / "my-spec"
    shutil.copytree(default_spec_dir(), d)
    return d


@pytest.fixture()
def new_process() -> Iterator[None]:
    """Forget the built-in files parsed in this process before and after the test."""
    for memo in _MEMOS:
        memo.cache_clear()
    yield
    for memo in _MEMOS:
        memo.cache_clear()


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("spec-*.pickle"))


def _edit(directory: Path, old: str, new: str) -> None:
    path = directory / "labels.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_cached_spec_is_the_spec_the_files_say(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = load_spec()
    assert len(_entries(cache)) == 1
    again = load_spec()  # from the cache
    monkeypatch.setenv(CACHE_ENV, "off")
    parsed = load_spec()
    assert again == parsed == first
    assert again is not first and again.directory == parsed.directory == default_spec_dir()


def test_a_changed_yaml_file_is_parsed_again(cache: Path, copy: Path) -> None:
    before = load_spec(copy)
    entries = _entries(cache)
    assert len(entries) == 1 and before.text("check_text.total", "en") == "Total"
    _edit(copy, TOTAL, TOTAL.replace('"Total"', '"All together"'))
    after = load_spec(copy)
    assert after.text("check_text.total", "en") == "All together"
    assert _entries(cache) == entries  # the same entry, rewritten
    assert load_spec(copy).text("check_text.total", "en") == "All together"
    _edit(copy, TOTAL.replace('"Total"', '"All together"'), TOTAL)
    assert load_spec(copy) == before


def test_a_spec_copy_follows_the_built_in_labels_it_falls_back_on(
        cache: Path, copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, new_process: None) -> None:
    builtin = tmp_path / "built-in"
    shutil.copytree(default_spec_dir(), builtin)
    monkeypatch.setattr(spec_load, "default_spec_dir", lambda: builtin)
    _edit(copy, WROTE, ERROR)  # the copy leaves out a console text: it takes the built-in one
    assert load_spec(copy).text("console.wrote", "en") == "wrote {path}"
    _edit(builtin, WROTE, WROTE.replace('"wrote {path}"', '"saved {path}"'))
    for memo in _MEMOS:
        memo.cache_clear()
    assert load_spec(copy).text("console.wrote", "en") == "saved {path}"


def test_a_broken_entry_is_rebuilt(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = load_spec()
    (entry,) = _entries(cache)
    whole = entry.read_bytes()
    for garbage in (b"", b"not a cache entry", whole[:200], whole.replace(b"khbook-cache-1", b"khbook-cache-0")):
        entry.write_bytes(garbage)
        assert load_spec() == good
        rewritten = entry.read_bytes()
        assert rewritten.startswith(b"khbook-cache-1\n") and len(rewritten) > 1000
    # and the rewritten entry is what the next load uses: nothing is parsed
    monkeypatch.setattr(spec_load, "_build_spec", lambda *a, **k: pytest.fail("parsed again"))
    assert load_spec() == good


def test_an_unusable_cache_folder_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "cache"))
    assert load_spec().text("check_text.total", "en") == "Total"
    assert list(tmp_path.iterdir()) == [blocker]
    monkeypatch.setenv(CACHE_ENV, "off")
    assert cache_dir() is None


def test_a_broken_spec_is_an_error_every_time_and_never_cached(cache: Path, copy: Path) -> None:
    lists = (copy / "lists.yaml").read_text(encoding="utf-8")
    (copy / "lists.yaml").write_text("region: [unclosed\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(SpecError, match="lists.yaml"):
            load_spec(copy)
    assert _entries(cache) == []
    (copy / "lists.yaml").write_text(lists, encoding="utf-8")
    (copy / "rules.yaml").unlink()
    with pytest.raises(SpecError, match="rules.yaml: file not found"):
        load_spec(copy)
    assert _entries(cache) == []


def test_the_directory_is_the_one_asked_for(cache: Path, copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_spec(copy).directory == copy
    monkeypatch.chdir(copy.parent)
    relative = load_spec(Path(copy.name))  # the same entry, under the name it was asked by
    assert relative.directory == Path(copy.name)
    assert len(_entries(cache)) == 1


def test_cached_builds_once_per_content(cache: Path, tmp_path: Path) -> None:
    source = tmp_path / "source.txt"
    source.write_text("one")
    calls: list[str] = []

    def build() -> str:
        calls.append(source.read_text())
        return calls[-1].upper()

    assert cached("demo", [source], build) == "ONE"
    assert cached("demo", [source], build) == "ONE"
    assert calls == ["one"]
    source.write_text("two")
    assert cached("demo", [source], build) == "TWO"
    assert calls == ["one", "two"]
    source.unlink()  # an unreadable source: no cache, the builder reports the problem
    with pytest.raises(FileNotFoundError):
        cached("demo", [source], build)
