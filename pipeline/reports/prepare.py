"""Warnings made ready for people: where each goes, how its household is named, in visiting order."""

from __future__ import annotations

import pandas as pd

from pipeline.normalize.common import member
from pipeline.reports.workbook import UNRESOLVED_COUNTY, UNRESOLVED_TOWNSHIP

HOUSEHOLD_LABEL = "household_label"
CONTACT = "contact"


def contact_text(w: pd.DataFrame) -> pd.Series:
    r"""Where to find the person: the village, then the address without the province, city, county,
    township and village the list already names, then the phone; with no address, the hospital of
    the latest stay. The village is printed here: the 村(社区) column is on screen only.

    >>> contact_text(pd.DataFrame({"address": ["河南省焦作市解放区民生街道新华社区1号", None, "西街5号"],
    ...     "township": ["民生街道", "未确定乡镇", "民生街道"], "village": ["新华社区", None, "马村"],
    ...     "phone": ["13800000000", None, None], "hospital": [None, "焦作市人民医院", None]})).tolist()
    ['新华社区1号\n电话 13800000000', '就诊医院 焦作市人民医院', '马村 西街5号']
    """
    out = []
    for address, township, village, phone, hospital in zip(
        w["address"], w["township"], w["village"], w["phone"], w["hospital"], strict=True
    ):
        parts = []
        if isinstance(address, str) and address:
            if isinstance(township, str) and township in address:
                address = address.split(township, 1)[1] or address
            if isinstance(village, str) and village and village not in address:
                address = f"{village} {address}"
            parts.append(address)
        else:
            if isinstance(village, str) and village:
                parts.append(village)
            if isinstance(hospital, str) and hospital:
                parts.append(f"就诊医院 {hospital}")
        if isinstance(phone, str) and phone:
            parts.append(f"电话 {phone}")
        out.append("\n".join(parts))
    return pd.Series(out, index=w.index, dtype="object")


def household_labels(keys: pd.Series, households: pd.DataFrame, persons: pd.DataFrame) -> pd.Series:
    """A household as an officer knows it, per distinct key (households repeat across warnings).

    M:<户编号> → 监测户编号; A:<户主身份证号> → the head's name; A?:<name>:<township> → that name;
    P:<person> (no shared household record) → 单人户 or that person's name and the size.
    """
    distinct = pd.Series(keys.dropna().unique(), dtype="object")
    parsed = [(key, *key.partition(":")[::2]) for key in distinct]
    # Only the households, heads and persons tonight's keys name (a few thousand, not the city's
    # million): lookups in plain dicts.
    hh = households[member(households["household_key"], distinct)].drop_duplicates("household_key")
    size = dict(zip(hh["household_key"], hh["household_size"], strict=True))
    heads = persons[member(persons["id_number"], {rest for _, kind, rest in parsed if kind == "A"})]
    heads = heads.drop_duplicates("id_number")
    name_by_id = dict(zip(heads["id_number"], heads["name"], strict=True))
    alone = persons[
        member(persons["person_id"], {rest for _, kind, rest in parsed if kind not in ("M", "A", "A?")})
    ]
    name_by_person = dict(zip(alone["person_id"], alone["name"], strict=True))
    labels = {}
    for key, kind, rest in parsed:
        n = size.get(key)
        count = f"\n共{int(n)}人" if n is not None and n == n and n > 1 else ""
        if kind == "M":
            label = f"监测户\n{rest}{count}"
        elif kind == "A":
            head = name_by_id.get(rest)
            label = f"户主 {head}{count}" if isinstance(head, str) else f"低保名册户{count}"
        elif kind == "A?":
            label = f"户主 {rest.rsplit(':', 1)[0]}{count}"
        else:
            who = name_by_person.get(rest)
            label = "单人户" if not count else f"{who if isinstance(who, str) else ''}家{count}"
        labels[key] = label
    return keys.map(labels).fillna("")


def prepare(warnings: pd.DataFrame, households: pd.DataFrame, persons: pd.DataFrame) -> pd.DataFrame:
    """Warnings with the workbook's columns, placed (unknown → 未确定), sorted in visiting order:
    county, township, village, household, person, rule; ``seq`` numbers them within a township."""
    w = warnings.copy()
    if "economic_hint" not in w.columns:  # a night before the economic checks existed
        w["economic_hint"] = None
    w["county_code"] = w["county_code"].fillna(UNRESOLVED_COUNTY[0])
    w["county"] = w["county"].fillna(UNRESOLVED_COUNTY[1])
    unresolved = w["township_code"].isna()
    w.loc[unresolved, "township_code"] = UNRESOLVED_TOWNSHIP[0]
    w.loc[unresolved, "township"] = UNRESOLVED_TOWNSHIP[1]
    w["rule_label"] = w["rule"] + " " + w["rule_name"]
    w[HOUSEHOLD_LABEL] = household_labels(w["household_key"], households, persons)
    w[CONTACT] = contact_text(w)
    w["village"] = w["village"].astype("object")
    w = w.sort_values(
        ["county_code", "township_code", "village", "household_key", "person_id", "rule"],
        na_position="last",
        kind="stable",
    ).reset_index(drop=True)
    # Numbered within each workbook: a county's 未确定乡镇 list starts at 1 like any other.
    w["seq"] = w.groupby(["county_code", "township_code"]).cumcount() + 1
    return w


def prepare_revisits(
    revisits: pd.DataFrame, places: dict[str, tuple[str, str]], rule_names: dict[str, str] | None = None
) -> pd.DataFrame:
    """The revisits due with the 待回访 sheet's columns, placed like the warnings (``places``:
    township code -> (county, township)), numbered within each township."""
    r = revisits.copy()
    r["county_code"] = r["county_code"].fillna(UNRESOLVED_COUNTY[0])
    unresolved = r["township_code"].isna()
    r.loc[unresolved, "township_code"] = UNRESOLVED_TOWNSHIP[0]
    county_of = {code[:6]: county for code, (county, _) in places.items()}
    r["county"] = r["county_code"].map(county_of).fillna(UNRESOLVED_COUNTY[1])
    r["township"] = (
        r["township_code"].map({k: v[1] for k, v in places.items()}).fillna(UNRESOLVED_TOWNSHIP[1])
    )
    r["rule_label"] = r["rule"] + " " + r["rule"].map(rule_names or {}).fillna("")
    r = r.sort_values(["county_code", "township_code", "answer_date", "warning_id"], kind="stable")
    r = r.reset_index(drop=True)
    r["seq"] = r.groupby(["county_code", "township_code"]).cumcount() + 1
    return r
