"""Reading a spec file and naming where a problem is: the one-line "file: key: problem" errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from khbook.base.errors import SpecError
from khbook.spec.model import SPEC_FILES, Text


def read_yaml(directory: Path, name: str) -> Any:
    import yaml  # on first use: a cached spec (khbook.base.cache) needs no YAML parser

    # libyaml's safe loader where PyYAML was built with it (ten times faster), else the pure-Python one.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    path = directory / name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(str(path), "", "file not found (a spec directory needs " + ", ".join(SPEC_FILES) + ")") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(str(path), "", f"cannot read: {exc}") from None
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader: libyaml's, else PyYAML's
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        raise SpecError(str(path), where, f"not valid YAML: {getattr(exc, 'problem', exc)}") from None


class Ctx:
    """Where we are while validating, for error messages."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def fail(self, key: str, message: str) -> SpecError:
        return SpecError(self.path, key, message)

    def mapping(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping, got {type(value).__name__}")
        return value

    def seq(self, value: Any, key: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, got {type(value).__name__}")
        return value

    def text(self, value: Any, key: str, *, required: bool = True) -> Text:
        if value is None and not required:
            return Text("", "")
        if isinstance(value, str):
            return Text(value, value)
        m = self.mapping(value, key)
        zh, en = m.get("zh"), m.get("en")
        if not isinstance(zh, str) or not zh.strip():
            raise self.fail(f"{key}.zh", "missing Chinese text")
        if not isinstance(en, str) or not en.strip():
            raise self.fail(f"{key}.en", "missing English text")
        return Text(zh, en)

    def strings(self, value: Any, key: str) -> tuple[str, ...]:
        if value is None:
            return ()
        out = []
        for i, v in enumerate(self.seq(value, key)):
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                v = str(v)
            if not isinstance(v, str) or not v.strip():
                raise self.fail(f"{key}[{i}]", "expected a non-empty text")
            out.append(v)
        return tuple(out)
