"""Optional encryption of the township workbooks: each township's list opens only with its password.

A passwords file (AD_WORKBOOK_PASSWORDS; YAML ``<township code>: <password>``, and
``<county code>000`` for a county's 未确定乡镇 list) makes every township workbook an encrypted
Office file (ECMA-376 agile encryption, which Excel, WPS and LibreOffice open after asking for the
password). The file itself is personal data about passwords: keep it outside the reports folder,
readable by the bureau's service account only. A returned encrypted workbook is decrypted with its
township's password by the feedback import.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

from pipeline.errors import ConfigError, read_yaml


def load_passwords(path: Path, required: Iterable[str] = ()) -> dict[str, str]:
    """Township code -> password; every code of ``required`` must have one (a list written without
    one would leave that township's people readable by anyone with the file)."""
    doc = read_yaml(path, "workbook passwords")
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected `<township code>: <password>` lines")
    out = {str(k): str(v) for k, v in doc.items() if v is not None and str(v)}
    short = sorted(k for k, v in out.items() if len(v) < 8)
    missing = sorted(set(required) - set(out))
    problems = []
    if short:
        problems.append(f"passwords shorter than 8 characters for {', '.join(short)}")
    if missing:
        problems.append(f"no password for {', '.join(missing[:20])}{' …' if len(missing) > 20 else ''}")
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    return out


def encrypt_in_place(path: Path, password: str) -> None:
    import msoffcrypto

    plain = path.read_bytes()
    out = io.BytesIO()
    msoffcrypto.OfficeFile(io.BytesIO(plain)).encrypt(password, out)
    path.write_bytes(out.getvalue())


def is_encrypted(path: Path) -> bool:
    import msoffcrypto

    try:
        with path.open("rb") as f:
            return bool(msoffcrypto.OfficeFile(f).is_encrypted())
    except Exception:  # not an Office file at all: the reader says so
        return False


def decrypt(path: Path, password: str) -> bytes:
    """The workbook's plain bytes; raises ValueError for a wrong password."""
    import msoffcrypto

    with path.open("rb") as f:
        office = msoffcrypto.OfficeFile(f)
        office.load_key(password=password)
        out = io.BytesIO()
        try:
            office.decrypt(out)
        except Exception as e:  # msoffcrypto raises its own InvalidKeyError and others
            raise ValueError(f"cannot decrypt {path.name}: {type(e).__name__}") from e
    return out.getvalue()
