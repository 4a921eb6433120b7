"""The fast JSON writer of `check --format json` writes what the standard library writes, byte for byte."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np

from khbook.report.render import render_json


def _stdlib(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, indent=2, default=str)


def test_same_text_as_json_dumps_on_every_kind_of_value() -> None:
    payload = {
        "empty_list": [], "empty_dict": {}, "nested": [{"a": {"b": [{}]}}, [[]], (1, (2, []))],
        "numbers": [0, -3, 10**20, 2.5, -0.0, 1e16, float("nan"), float("inf"), -float("inf"), np.float64(1.25)],
        "flags": [True, False, None], "int_leaf": 7, "none_leaf": None, "bool_leaf": True,
        "text": "客户 \"引号\" \\ 换行\n制表\t\x01\x7f\u2028é",
        "other": [dt.date(2026, 11, 24), np.int64(3)],
    }
    assert render_json(payload) == _stdlib(payload)
    for scalar in ["s", 1, None, 1.5, [], {}]:
        assert render_json(scalar) == _stdlib(scalar)


def test_non_text_keys_take_the_standard_way() -> None:
    payload = {"a": {1: "x", None: 2, 1.5: [3]}}
    assert render_json(payload) == _stdlib(payload)
