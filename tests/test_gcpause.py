"""relaxed_gc raises the collector's thresholds for a call, never lowers them, and puts back what it found."""

from __future__ import annotations

import datetime as dt
import gc
from pathlib import Path

from khbook.base.gcpause import RELAXED, pause_while_starting, paused_gc, relaxed_gc, started
from khbook.pipeline import check_file

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def test_raised_inside_restored_after_even_nested_or_failing() -> None:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        with relaxed_gc():
            assert gc.get_threshold() == RELAXED
            with relaxed_gc():
                assert gc.get_threshold() == RELAXED
            assert gc.get_threshold() == RELAXED
        assert gc.get_threshold() == (700, 10, 10)
        try:
            with relaxed_gc():
                raise ValueError("boom")
        except ValueError:
            pass
        assert gc.get_threshold() == (700, 10, 10)
        gc.set_threshold(100_000, 5, 5)  # a host that collects even less often keeps its setting
        with relaxed_gc():
            assert gc.get_threshold() == (100_000, 5, 5)
        assert gc.get_threshold() == (100_000, 5, 5)
    finally:
        gc.set_threshold(*before)


def test_a_check_leaves_the_host_thresholds_as_they_were() -> None:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        report = check_file(SAMPLES / "messy_filled.xlsx", as_of=dt.date(2026, 11, 24))
        assert report.findings and gc.get_threshold() == (700, 10, 10)
    finally:
        gc.set_threshold(*before)


def test_a_command_pauses_the_collector_while_it_starts_then_freezes_what_it_imported() -> None:
    frozen = gc.get_freeze_count()
    started()  # never paused (a program calling the CLI's main): nothing changes
    assert gc.isenabled() and gc.get_freeze_count() == frozen
    try:
        pause_while_starting()
        assert not gc.isenabled()
        imported = [object() for _ in range(10)]  # what the imports make
        started()
        assert gc.isenabled() and gc.get_freeze_count() >= frozen + len(imported)
        started()  # once only
        assert gc.isenabled()
    finally:
        gc.unfreeze()
        gc.enable()


def test_a_host_that_turned_the_collector_off_keeps_it_off() -> None:
    gc.disable()
    frozen = gc.get_freeze_count()
    try:
        pause_while_starting()
        started()
        assert not gc.isenabled() and gc.get_freeze_count() == frozen
    finally:
        gc.enable()


def test_paused_nested_and_failing_and_left_off_when_it_was_off() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block still runs
    assert gc.isenabled()
    try:
        with paused_gc():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # a collector someone else turned off stays off
    finally:
        gc.enable()


def test_a_check_leaves_the_collector_as_it_found_it() -> None:
    check_file(SAMPLES / "messy_filled.xlsx", as_of=dt.date(2026, 11, 24))
    assert gc.isenabled()
