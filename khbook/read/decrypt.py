"""Password-protected (encrypted) workbooks: the decryption step before the safety gate.

An .xlsx saved with an open password is an OLE2 compound file holding the encrypted
package (Office "agile" or "standard" encryption). Given the password, :func:`readable`
decrypts it with msoffcrypto-tool into a private temporary file, yields that file to the
reader (the safety gate then inspects the decrypted package like any other) and removes it
afterwards. Without a password nothing happens here: the gate refuses the encrypted file
with its own one-line error. A wrong password is a one-line error too; the password itself
is never part of a message.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from khbook.base.errors import Hint, WorkbookError

PASSWORD_ENV = "KHBOOK_PASSWORD"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HINT_WRONG = Hint("check_password", f"check the password given with --password or the {PASSWORD_ENV} environment variable")


def password_from_env() -> str | None:
    """The password in the environment variable (empty means none)."""
    return os.environ.get(PASSWORD_ENV) or None


def is_encrypted(path: str | Path) -> bool:
    """True when `path` is an encrypted Office file (an OLE2 container with an encrypted package)."""
    try:
        with open(path, "rb") as fh:
            if fh.read(8) != _OLE_MAGIC:
                return False
            fh.seek(0)
            import msoffcrypto

            return bool(msoffcrypto.OfficeFile(fh).is_encrypted())
    except Exception:  # noqa: BLE001 - unreadable or not Office: the gate says what it is
        return False


def decrypt_file(src: Path, dst: Path, password: str) -> None:
    """Decrypt `src` into `dst`; a WorkbookError naming `src` when the password is wrong."""
    import msoffcrypto
    from msoffcrypto.exceptions import DecryptionError, InvalidKeyError

    try:
        with open(src, "rb") as fh, open(dst, "wb") as out:
            office = msoffcrypto.OfficeFile(fh)
            office.load_key(password=password, verify_password=True)
            office.decrypt(out)
    except (InvalidKeyError, DecryptionError):
        raise WorkbookError(str(src), "the password is wrong", _HINT_WRONG, code="wrong_password") from None
    except Exception as exc:  # noqa: BLE001 - msoffcrypto's format errors
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise WorkbookError(str(src), f"cannot be decrypted ({detail})", _HINT_WRONG, code="undecryptable",
                            params={"detail": detail}) from None


@contextlib.contextmanager
def readable(path: str | Path, password: str | None) -> Iterator[Path]:
    """Yield a path the reader can open: `path` itself, or (encrypted, with a password) a
    decrypted private copy that is removed afterwards. Errors about the copy name `path`."""
    p = Path(path)
    if not password or not is_encrypted(p):
        yield p
        return
    folder = tempfile.mkdtemp(prefix="khbook-plain-")
    plain = Path(folder) / ("book.xlsm" if p.suffix.lower() == ".xlsm" else "book.xlsx")
    try:
        decrypt_file(p, plain, password)
        try:
            yield plain
        except WorkbookError as exc:
            if exc.path != str(plain):
                raise
            raise WorkbookError(str(p), exc.message, Hint(exc.hint_code, exc.hint), code=exc.code,
                                params=exc.params) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
