"""Department extracts drawn from a synthetic population, clean, with the true person of each row.

Each builder returns a frame whose columns are the source's standard headers plus ``_pid`` (the
true person) and helper columns starting with ``_`` that the writer uses and drops.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from pipeline.sample import vocab
from pipeline.sample.population import Population

PID = "_pid"
DATE_COLS = "_dates"  # not a column: the attribute name listing a frame's date headers


def person_frame(pop: Population) -> pd.DataFrame:
    return pop.persons.merge(pop.households, on="hh", how="left")


def death_dates(pop: Population, rng: np.random.Generator, as_of: date, monitored: set[int]) -> pd.Series:
    """The date each person died in the two years before ``as_of`` (NaT for the living).

    Rates over two years by age; adults of monitored households (often poor because of illness)
    die more often, which also gives the student roll its children whose guardian died.
    """
    p = pop.persons
    age = p["age"].to_numpy()
    rate = np.select(
        [age >= 80, age >= 70, age >= 60, age >= 18],
        [0.12, 0.05, 0.02, 0.004],
        0.0005,
    )
    rate = np.where(p["hh"].isin(monitored).to_numpy() & (age >= 18) & (age < 60), 0.03, rate)
    dies = rng.random(len(p)) < rate
    days = rng.integers(0, 730, len(p))
    death = pd.Series(pd.NaT, index=p["pid"].to_numpy(), dtype="datetime64[s]")
    when = pd.Timestamp(as_of) - pd.to_timedelta(days, unit="D")
    # Never before birth (infants who died are rare, but must be born first).
    when = when.where(when > p["birth"].to_numpy(), p["birth"].to_numpy() + pd.Timedelta(days=1))
    death[dies] = when[dies].to_numpy()
    return death


def monitoring(pop: Population, rng: np.random.Generator, as_of: date) -> pd.DataFrame:
    hh = pop.households
    p = np.where(hh["urban"], 0.03, 0.10)
    chosen = hh[rng.random(len(hh)) < p].copy()
    chosen["category"] = rng.choice(vocab.MONITOR_CATEGORIES, len(chosen), p=[0.5, 0.35, 0.15])
    chosen["risk"] = rng.choice(vocab.RISK_TYPES, len(chosen), p=[0.35, 0.25, 0.1, 0.05, 0.05, 0.15, 0.05])
    chosen["eliminated"] = np.where(rng.random(len(chosen)) < 0.6, "是", "否")
    chosen["income"] = np.round(rng.gamma(4.0, 2200, len(chosen)), 0)
    chosen["hh_no"] = chosen["township_code"] + chosen["hh"].astype(str).str.zfill(7)
    people = pop.persons.merge(chosen, on="hh")
    head_phone = people.groupby("hh")["phone"].transform("first")
    return pd.DataFrame(
        {
            "县(市、区)": people["county"],
            "乡(镇、街道)": people["township"],
            "行政村(社区)": people["village"],
            "户编号": people["hh_no"],
            "姓名": people["name"],
            "证件号码": people["id18"],
            "与户主关系": people["relation"],
            "性别": people["sex"],
            "联系电话": people["phone"].where(people["phone"].notna(), head_phone),
            "监测对象类别": people["category"],
            "主要风险类型": people["risk"],
            "风险是否已消除": people["eliminated"],
            "家庭人口数": people["size"].astype(str),
            "家庭年人均纯收入(元)": people["income"].astype(int).astype(str),
            PID: people["pid"],
            "_county_code": people["county_code"],
        }
    )


def disability(pop: Population, rng: np.random.Generator, as_of: date, monitored: set[int]) -> pd.DataFrame:
    people = person_frame(pop)
    p = 0.025 + 0.06 * (people["age"] >= 60) + 0.12 * people["hh"].isin(monitored)
    d = people[rng.random(len(people)) < p].copy()
    n = len(d)
    cat = rng.choice(list("1234567"), n, p=[0.12, 0.15, 0.02, 0.4, 0.1, 0.12, 0.09])
    grade = rng.choice(list("1234"), n, p=[0.12, 0.22, 0.3, 0.36])
    cat_names = dict(zip("1234567", ["视力", "听力", "言语", "肢体", "智力", "精神", "多重"], strict=True))
    grade_names = dict(zip("1234", ["一级", "二级", "三级", "四级"], strict=True))
    issue = [as_of - timedelta(days=int(x)) for x in rng.integers(30, 365 * 12, n)]
    address = "河南省焦作市" + d["county"] + d["township"] + d["village"] + d["house_no"].astype(str) + "号"
    return pd.DataFrame(
        {
            "姓名": d["name"],
            "性别": d["sex"],
            "身份证号": d["id18"],
            "残疾证号": d["id18"] + cat + grade,
            "残疾类别": [cat_names[c] + ("残疾" if rng.random() < 0.5 else "") for c in cat],
            "残疾等级": [grade_names[g] for g in grade],
            "户籍地址": address,
            "所属县区": d["county"],
            "所属乡镇": d["township"],
            "联系电话": d["phone"],
            "发证日期": issue,
            PID: d["pid"],
            "_county_code": d["county_code"],
            "_grade": grade,
        }
    )


def assistance(
    pop: Population, rng: np.random.Generator, as_of: date, at_risk: set[int], death: pd.Series
) -> pd.DataFrame:
    hh = pop.households
    p = np.where(hh["hh"].isin(at_risk), 0.3, 0.045)
    chosen = hh[rng.random(len(hh)) < p].copy()
    n = len(chosen)
    kind = rng.choice(["低保", "特困", "低保边缘"], n, p=[0.75, 0.08, 0.17])
    kind = np.where((kind == "特困") & (chosen["size"].to_numpy() > 1), "低保", kind)
    place = np.where(chosen["urban"], "城市", "农村")
    chosen["category"] = np.where(kind == "低保边缘", kind, np.char.add(place.astype(str), kind.astype(str)))
    chosen["status"] = np.where(rng.random(n) < 0.88, "正常", "停发")
    chosen["enrolled"] = [as_of - timedelta(days=int(x)) for x in rng.integers(30, 365 * 10, n)]
    people = pop.persons.merge(chosen, on="hh")
    # A member who died is usually stopped (停发) once the township hears of it; those who died in
    # the last three months, and one in five of the others, are still 正常: what R07 looks for.
    died = people["pid"].map(death)
    recent = died > pd.Timestamp(as_of) - pd.Timedelta(days=90)
    stopped = died.notna() & ~recent & (rng.random(len(people)) < 0.8)
    people["status"] = people["status"].where(~stopped.to_numpy(), "停发")
    heads = people[people["position"] == 0].set_index("hh")
    amount = np.where(people["category"].str.contains("特困"), 900, np.where(people["urban"], 420, 330))
    return pd.DataFrame(
        {
            "县(市、区)": people["county"],
            "乡(镇、街道)": people["township"],
            "村(社区)": people["village"],
            "户主姓名": people["hh"].map(heads["name"]),
            "户主身份证号": people["hh"].map(heads["id18"]),
            "成员姓名": people["name"],
            "成员身份证号": people["id18"],
            "与户主关系": people["relation"],
            "救助类别": people["category"],
            "保障状态": people["status"],
            "纳入时间": people["enrolled"],
            "月保障金额": np.where(people["category"] == "低保边缘", 0, amount).astype(str),
            PID: people["pid"],
            "_county_code": people["county_code"],
        }
    )


def subsidy(
    pop: Population,
    rng: np.random.Generator,
    as_of: date,
    dis: pd.DataFrame,
    assist: pd.DataFrame,
    death: pd.Series,
) -> pd.DataFrame:
    people = person_frame(pop).set_index("pid")
    active_dibao = assist[(assist["保障状态"] == "正常") & assist["救助类别"].str.contains("低保")]
    dibao_pids = set(active_dibao[PID])
    rows = []
    first = as_of.replace(day=1)
    months = [date(first.year - (first.month - k <= 0), (first.month - k - 1) % 12 + 1, 1) for k in (1, 2, 3)]
    for pid, grade in zip(dis[PID], dis["_grade"], strict=True):
        kinds = []
        if pid in dibao_pids and rng.random() < 0.88:
            kinds.append(("困难残疾人生活补贴", "80"))
        if grade in ("1", "2") and rng.random() < 0.85:
            kinds.append(("重度残疾人护理补贴", "100"))
        died = death.get(pid)
        for k, amt in kinds:
            for m in months:
                if pd.notna(died) and pd.Timestamp(m) > died:
                    continue  # no payment for a month begun after the death
                rows.append((pid, k, m, amt))
    if not rows:
        return pd.DataFrame(
            columns=[
                "县(市、区)",
                "乡(镇、街道)",
                "姓名",
                "身份证号",
                "补贴类别",
                "发放年月",
                "发放金额",
                PID,
            ]
        )
    f = pd.DataFrame(rows, columns=[PID, "k", "m", "amt"])
    p = people.loc[f[PID]]
    return pd.DataFrame(
        {
            "县(市、区)": p["county"].to_numpy(),
            "乡(镇、街道)": p["township"].to_numpy(),
            "姓名": p["name"].to_numpy(),
            "身份证号": p["id18"].to_numpy(),
            "补贴类别": f["k"].to_numpy(),
            "发放年月": [m.strftime("%Y-%m") for m in f["m"]],
            "发放金额": f["amt"].to_numpy(),
            PID: f[PID].to_numpy(),
            "_county_code": p["county_code"].to_numpy(),
            "_month": [m.strftime("%Y-%m") for m in f["m"]],
        }
    )


def medical(pop: Population, rng: np.random.Generator, as_of: date, death: pd.Series) -> pd.DataFrame:
    people = person_frame(pop)
    p = 0.03 + 0.08 * (people["age"] >= 60) + 0.5 * (people["age"] == 0)
    patients = people[rng.random(len(people)) < p]
    stays = patients.loc[
        patients.index.repeat(rng.choice([1, 2, 3], len(patients), p=[0.7, 0.22, 0.08]))
    ].copy()
    n = len(stays)
    # Stays fall in the last two years, and never before the patient was born.
    born = stays["birth"].dt.date.to_numpy()
    discharge = [
        max(as_of - timedelta(days=int(x)), b + timedelta(days=3))
        for x, b in zip(rng.integers(1, 700, n), born, strict=True)
    ]
    # Nobody leaves hospital after their death (many die in it: discharged on the day).
    died = stays["pid"].map(death).dt.date.to_numpy()
    discharge = [d if pd.isna(x) or d <= x else x for d, x in zip(discharge, died, strict=True)]
    # Hospitals record the age at admission: whole years completed by then.
    age_at_event = np.array([(d - b).days for d, b in zip(discharge, born, strict=True)]) // 365.25
    los = rng.integers(2, 30, n)
    admit = [d - timedelta(days=int(k)) for d, k in zip(discharge, los, strict=True)]
    total = np.round(np.exp(rng.normal(9.3, 0.9, n)), 2)
    fund = np.round(total * rng.uniform(0.45, 0.7, n), 2)
    critical = np.round(np.where(total > 30000, total * 0.1, 0), 2)
    aid = np.round(np.where(rng.random(n) < 0.1, total * 0.05, 0), 2)
    oop = np.round(np.maximum(total - fund - critical - aid, 0), 2)
    # Infants are settled under a parent's ID (the head's, or the spouse's): same ID, other name.
    # The parent is the household head (newborns are never heads or spouses).
    heads = people[people["position"] == 0].set_index("hh")["id18"]
    infant = (age_at_event == 0) & (stays["position"] > 0).to_numpy() & (rng.random(n) < 0.7)
    ids = np.where(infant, stays["hh"].map(heads).to_numpy(), stays["id18"].to_numpy())
    blank = rng.random(n) < 0.03  # blank ID: walk-in, paper claim
    ids = np.where(blank, np.array(None, dtype=object), ids.astype(object))
    sequence = rng.permutation(n) + 1
    return pd.DataFrame(
        {
            "结算单号": [f"JS{d.year}{s:08d}" for d, s in zip(discharge, sequence, strict=True)],
            "姓名": stays["name"].to_numpy(),
            "证件号码": ids,
            "性别": stays["sex"].to_numpy(),
            "年龄": age_at_event.astype(int).astype(str),
            "参保地": ("焦作市" + stays["county"]).to_numpy(),
            "定点医疗机构": rng.choice(vocab.HOSPITALS, n),
            "入院日期": admit,
            "出院日期": discharge,
            "出院诊断": rng.choice(vocab.DIAGNOSES, n),
            "医疗费总额": total.astype(str),
            "统筹基金支付": fund.astype(str),
            "大病保险支付": critical.astype(str),
            "医疗救助支付": aid.astype(str),
            "个人自付": oop.astype(str),
            PID: stays["pid"].to_numpy(),
            "_county_code": stays["county_code"].to_numpy(),
            "_year": [d.year for d in discharge],
            "_tag": np.where(blank, "id_blank", np.where(infant, "infant_parent_id", "")),
        }
    )


def deaths(pop: Population, rng: np.random.Generator, as_of: date, death: pd.Series) -> pd.DataFrame:
    """The funeral homes' cremation records (殡葬/火化信息) of the people who died."""
    people = person_frame(pop)
    d = people[people["pid"].map(death).notna().to_numpy()].copy()
    n = len(d)
    died = d["pid"].map(death).dt.date.to_numpy()
    cremated = [x + timedelta(days=int(k)) for x, k in zip(died, rng.integers(1, 6, n), strict=True)]
    cremated = [c if c <= as_of else None for c in cremated]
    address = "河南省焦作市" + d["county"] + d["township"] + d["village"] + d["house_no"].astype(str) + "号"
    return pd.DataFrame(
        {
            "姓名": d["name"],
            "身份证号": d["id18"],
            "性别": d["sex"],
            "死亡日期": list(died),
            "火化日期": cremated,
            "户籍地址": address,
            "殡仪馆": d["county"] + "殡仪馆",
            PID: d["pid"],
            "_county_code": d["county_code"],
            "_year": [x.year for x in died],
        }
    )


_GRADES = {
    6: ("小学", "一年级"),
    7: ("小学", "二年级"),
    8: ("小学", "三年级"),
    9: ("小学", "四年级"),
    10: ("小学", "五年级"),
    11: ("小学", "六年级"),
    12: ("初中", "七年级"),
    13: ("初中", "八年级"),
    14: ("初中", "九年级"),
    15: ("高中", "高一"),
    16: ("高中", "高二"),
    17: ("高中", "高三"),
}


def students(pop: Population, rng: np.random.Generator, as_of: date, death: pd.Series) -> pd.DataFrame:
    """The student roll (学生学籍): children of school age, each with a guardian from the household.

    The guardian is the household head for a grandchild, else the head or (less often) the spouse.
    The roll is updated once a school year, so a guardian who died since still stands on it.
    """
    people = person_frame(pop)
    kids = people[
        people["age"].between(6, 17)
        & people["relation"].isin(["子女", "孙子女"])
        & (rng.random(len(people)) < 0.95)
    ].copy()
    n = len(kids)
    heads = people[people["position"] == 0].set_index("hh")
    spouses = people[people["relation"] == "配偶"].drop_duplicates("hh").set_index("hh")
    use_spouse = (
        (kids["relation"] == "子女").to_numpy()
        & kids["hh"].isin(spouses.index).to_numpy()
        & (rng.random(n) < 0.3)
    )
    g_name = np.where(use_spouse, kids["hh"].map(spouses["name"]), kids["hh"].map(heads["name"]))
    g_id = np.where(use_spouse, kids["hh"].map(spouses["id18"]), kids["hh"].map(heads["id18"]))
    stage = [_GRADES[int(a)][0] for a in kids["age"]]
    grade = [_GRADES[int(a)][1] for a in kids["age"]]
    school = np.where(
        np.array(stage) == "小学",
        kids["township"].str.replace(r"(街道|镇|乡)$", "", regex=True) + "中心小学",
        np.where(
            np.array(stage) == "初中",
            kids["county"]
            + "第"
            + pd.Series(rng.integers(1, 6, n).astype(str), index=kids.index)
            + "初级中学",
            kids["county"]
            + "第"
            + pd.Series(rng.integers(1, 4, n).astype(str), index=kids.index)
            + "高级中学",
        ),
    )
    address = (
        "河南省焦作市"
        + kids["county"]
        + kids["township"]
        + kids["village"]
        + kids["house_no"].astype(str)
        + "号"
    )
    return pd.DataFrame(
        {
            "学生姓名": kids["name"],
            "学生身份证号": kids["id18"],
            "学校名称": school,
            "学段": stage,
            "年级": grade,
            "监护人姓名": g_name,
            "监护人身份证号": g_id,
            "家庭住址": address,
            "所属乡镇": kids["township"],
            PID: kids["pid"],
            "_county_code": kids["county_code"],
        }
    )
