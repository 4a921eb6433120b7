"""Fixtures shared by the test modules.

- ``spec``: the built-in spec, loaded once per session (tests that change it work on a copy);
- ``template``: a blank template written once per module from that spec.

The run keeps its parsed-spec cache (khbook.base.cache) in a folder of its own, never the user's.

Shared helpers that are not fixtures live in plain modules: ``tests/rep.py`` (fill a template
as a rep would), ``tests/clients.py`` (schema checker, Excel lint, LibreOffice),
``tests/ooxml_fixtures.py``, ``tests/xlwings_support.py`` and ``tests/corpus/``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from khbook.base.cache import CACHE_ENV
from khbook.spec import Spec, load_spec
from tests.rep import make_template


@pytest.fixture(scope="session")
def spec() -> Spec:
    return load_spec()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, spec: Spec) -> Path:
    return make_template(tmp_path_factory.mktemp("tpl") / "template.xlsx", spec)


_OWN_CACHE: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    if CACHE_ENV not in os.environ:  # the commands the tests start inherit it
        _OWN_CACHE.append(tempfile.mkdtemp(prefix="khbook-test-cache-"))
        os.environ[CACHE_ENV] = _OWN_CACHE[0]


def pytest_unconfigure(config: pytest.Config) -> None:
    for folder in _OWN_CACHE:
        shutil.rmtree(folder, ignore_errors=True)


_REAL_CLIENTS = ("libreoffice", "chromium", "gnumeric", "uno")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that start a real client (LibreOffice, Chromium, Gnumeric) are slow by nature:
    mark them so ``-m "not slow"`` gives a fast loop (``make test`` runs everything)."""
    for item in items:
        if any(word in item.name.lower() for word in _REAL_CLIENTS):
            item.add_marker(pytest.mark.slow)
