"""Encrypted township workbooks: each opens with its township's password only, and comes back in."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest

from pipeline.cases.store import CaseStore
from pipeline.contracts import SUMMARY_XLSX
from pipeline.contracts import TOWNSHIPS as TOWNSHIPS_DIR
from pipeline.errors import ConfigError
from pipeline.protect import decrypt, encrypt_in_place, is_encrypted, load_passwords
from tests.test_feedback import BY_ID, CR, MOTOU, TOWNSHIPS, D, answer, books, fill, first_night

PASSWORDS = {"410822105": "moutou-2026!", "410822101": "baishan-2026!", "410822000": "boai-county-2026"}


def test_every_township_list_opens_with_its_password_only(tmp_path: Path) -> None:
    out = books(tmp_path / "townships")
    for path in out.rglob("*.xlsx"):
        code = path.name.split("_")[0]
        encrypt_in_place(path, PASSWORDS[code])
        assert is_encrypted(path)
        with pytest.raises(Exception):  # noqa: B017 (zip readers refuse it in several ways)
            openpyxl.load_workbook(path)
        wb = openpyxl.load_workbook(io.BytesIO(decrypt(path, PASSWORDS[code])))
        assert wb.sheetnames[0] == "预警名单"
        with pytest.raises(ValueError):
            decrypt(path, "wrong-password")


def test_a_returned_encrypted_workbook_is_imported_with_its_townships_password(tmp_path: Path) -> None:
    store = CaseStore(f"sqlite:///{tmp_path / 'cases.sqlite'}")
    try:
        first_night(store)
        path = books(tmp_path / "townships") / MOTOU
        fill(path, {"R01-P01": answer("不符合")})
        encrypt_in_place(path, PASSWORDS["410822105"])  # the officer saved it with its password
        from pipeline.cases.feedback import import_workbook

        today = D + timedelta(days=5)
        refused = import_workbook(store, path, BY_ID, CR, TOWNSHIPS, today)
        assert refused.error and "已加密" in refused.error and refused.applied == 0
        done = import_workbook(store, path, BY_ID, CR, TOWNSHIPS, today, passwords=PASSWORDS)
        assert done.applied == 1 and done.file == path.name
        assert store.frame().set_index("warning_id").loc["R01-P01", "answer"] == "不符合"
    finally:
        store.dispose()


def test_the_passwords_file_covers_every_township(tmp_path: Path) -> None:
    p = tmp_path / "passwords.yaml"
    p.write_text("410822105: moutou-2026!\n410822101: short\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_passwords(p, ["410822105", "410822101", "410822102"])
    assert "shorter than 8 characters for 410822101" in str(e.value) and "no password for 410822102" in str(
        e.value
    )


@pytest.mark.slow
def test_a_night_with_a_passwords_file_writes_only_encrypted_lists(
    tmp_path: Path, sample_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.normalize.places import Gazetteer
    from pipeline.runs import run_all
    from pipeline.settings import PROJECT_ROOT, Settings

    gaz = Gazetteer.from_csv(PROJECT_ROOT / "rules" / "reference" / "jiaozuo_townships_2022.csv")
    codes = {t.code for t in gaz.townships} | {f"{t.county_code}000" for t in gaz.townships} | {"000000000"}
    secrets = tmp_path / "secrets" / "passwords.yaml"
    secrets.parent.mkdir()
    secrets.write_text("".join(f'"{c}": "pw-{c}-x"\n' for c in sorted(codes)), encoding="utf-8")
    monkeypatch.setenv("AD_WORKBOOK_PASSWORDS", str(secrets))
    run = run_all(Settings.build(extracts=sample_dir, out=tmp_path / "out", state=tmp_path / "state"))
    lists = sorted(TOWNSHIPS_DIR.at(run).rglob("*.xlsx"))
    assert lists and all(is_encrypted(p) for p in lists)
    code = lists[0].name.split("_")[0]
    assert openpyxl.load_workbook(io.BytesIO(decrypt(lists[0], f"pw-{code}-x")))["预警名单"]["A1"].value
    assert not is_encrypted(SUMMARY_XLSX.at(run))  # no personal data there
