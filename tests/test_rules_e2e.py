"""The rules end to end, hand-worked: the seed article's three stories and each rule's edges.

One extracts folder: a small generated background population (so the matching model has data to
estimate from) plus one extra file per source holding the people below, written as a department
would. The whole pipeline runs once (no Prefect) with run date D = 2026-11-29; each test checks the
exact set of warnings of its people. Every person has a distinct valid ID (built with the check
character), so nothing here collides with the background.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from pipeline.runs import run_all
from pipeline.sample import SampleSpec, generate
from pipeline.settings import Settings
from tests.people import D, days_ago, pid


def typo(id18: str) -> str:
    """One digit of the sequence changed: the check character no longer holds."""
    return id18[:15] + str((int(id18[15]) + 3) % 10) + id18[16:]


# --- the people -----------------------------------------------------------------------------
# 孟平 (博爱县磨头镇): sudden cerebral haemorrhage, heavy costs, later 肢体一级; monitored as a
# household with sudden hardship, risk not eliminated, income below 1.5 x 12 x ¥470 = ¥8,460.
MENG = pid("410822", "19680315", "031")
MENG_WIFE = pid("410822", "19700822", "042")
# 张磊 (沁阳市王曲乡): a monitored household, risk open, three disabled members, no 低保. The son's
# nursing subsidy row carries his ID with a typo: it must still count as his.
ZHANG = pid("410882", "19750610", "013")
ZHANG_FATHER = pid("410882", "19480203", "019")
ZHANG_MOTHER = pid("410882", "19500511", "028")
ZHANG_SON = pid("410882", "20020918", "015")
# 马丽 (武陟县大虹桥乡): husband died in an accident this year, two children in school, no 低保.
MA = pid("410823", "19850407", "026")
MA_HUSBAND = pid("410823", "19830912", "035")
MA_GIRL = pid("410823", "20140301", "024")
MA_BOY = pid("410823", "20170620", "013")
# Edges (解放区民生街道 and others).
OOP_EXACT = pid("410802", "19600101", "011")  # out-of-pocket exactly ¥20,000 in the window
OOP_BELOW = pid("410802", "19600102", "011")  # ¥19,999.99
DAY_364 = pid("410802", "19600103", "011")  # discharged 364 days before D: inside (D-365, D]
DAY_365 = pid("410802", "19600104", "011")  # 365 days: outside
DAY_366 = pid("410802", "19600105", "011")  # 366 days: outside
GRADE_3 = pid("410802", "19600106", "022")  # 三级 in an open monitored household: R01 only
STOPPED = pid("410802", "19600107", "011")  # roster 停发: not assistance; disabled 二级
EDGE = pid("410802", "19600108", "011")  # 低保边缘 正常, 一级, high income: R02 through the edge flag
DIBAO = pid("410802", "19600109", "022")  # 农村低保 正常, 二级: R03 and R04, not R01/R02
DEAD_ON_ROSTER = pid("410802", "19400110", "011")  # 低保 正常 and a death record: R07 only
DEAD_STOPPED = pid("410802", "19400111", "011")  # 停发 and a death record: nothing
DEAD_DISABLED = pid("410802", "19500112", "011")  # 一级 without subsidy but dead: nothing
# 一级 without subsidy, died two days ago; the cremation date, as exported, is after the run date.
# Only that field is blanked: the death record stays and nobody visits a dead man (nothing).
DEAD_LATE_CREMATION = pid("410802", "19500115", "011")
GUARDIAN_364 = pid("410802", "19800113", "011")
GUARDIAN_365 = pid("410802", "19800114", "011")
STUDENT_364 = pid("410802", "20120113", "011")
STUDENT_365 = pid("410802", "20120114", "011")

EXPECTED = {
    "孟平": {"R01", "R02", "R03", "R05"},
    "李秀英": set(),
    "张磊": set(),
    "张德胜": {"R01"},
    "王桂兰": {"R01"},
    "张小龙": {"R01"},
    "马丽": set(),
    "赵强": set(),
    "赵欣怡": {"R06"},
    "赵子轩": {"R06"},
    "周正好": {"R05"},
    "吴差一分": set(),
    "郑三六四": {"R05"},
    "冯三六五": set(),
    "陈三六六": set(),
    "褚三级": {"R01"},
    "卫停发": {"R01", "R03"},
    "蒋边缘": {"R02", "R03"},
    "沈低保": {"R03", "R04"},
    "韩已故": {"R07"},
    "杨已停": set(),
    "朱已故": set(),
    "许晚火": set(),
    "秦学生甲": {"R06"},
    "秦学生乙": set(),
    "秦监护甲": set(),
    "秦监护乙": set(),
}

MONITORING = [
    # 县, 乡, 村, 户编号, 姓名, 证件号码, 与户主关系, 性别, 类别, 风险类型, 风险是否已消除, 人口, 收入
    [
        "博爱县",
        "磨头镇",
        "磨头村",
        "4108221050009001",
        "孟平",
        MENG,
        "户主",
        "男",
        "突发严重困难户",
        "因病",
        "否",
        "2",
        "7000",
    ],
    [
        "博爱县",
        "磨头镇",
        "磨头村",
        "4108221050009001",
        "李秀英",
        MENG_WIFE,
        "配偶",
        "女",
        "突发严重困难户",
        "因病",
        "否",
        "2",
        "7000",
    ],
    [
        "沁阳市",
        "王曲乡",
        "王曲村",
        "4108822020009002",
        "张磊",
        ZHANG,
        "户主",
        "男",
        "边缘易致贫户",
        "因残",
        "否",
        "4",
        "9500",
    ],
    [
        "沁阳市",
        "王曲乡",
        "王曲村",
        "4108822020009002",
        "张德胜",
        ZHANG_FATHER,
        "父亲",
        "男",
        "边缘易致贫户",
        "因残",
        "否",
        "4",
        "9500",
    ],
    [
        "沁阳市",
        "王曲乡",
        "王曲村",
        "4108822020009002",
        "王桂兰",
        ZHANG_MOTHER,
        "母亲",
        "女",
        "边缘易致贫户",
        "因残",
        "否",
        "4",
        "9500",
    ],
    [
        "沁阳市",
        "王曲乡",
        "王曲村",
        "4108822020009002",
        "张小龙",
        ZHANG_SON,
        "子女",
        "男",
        "边缘易致贫户",
        "因残",
        "否",
        "4",
        "9500",
    ],
    [
        "解放区",
        "民生街道",
        "新华社区",
        "4108020010009003",
        "褚三级",
        GRADE_3,
        "户主",
        "女",
        "脱贫不稳定户",
        "因残",
        "否",
        "1",
        "9000",
    ],
    [
        "解放区",
        "民生街道",
        "新华社区",
        "4108020010009004",
        "卫停发",
        STOPPED,
        "户主",
        "男",
        "脱贫不稳定户",
        "因残",
        "否",
        "1",
        "20000",
    ],
]
DISABILITY = [
    # 姓名, 性别, 身份证号, 残疾证号, 残疾类别, 残疾等级, 户籍地址, 所属县区, 所属乡镇
    ["孟平", "男", MENG, MENG + "41", "肢体", "一级", "", "博爱县", "磨头镇"],
    ["张德胜", "男", ZHANG_FATHER, ZHANG_FATHER + "43", "肢体", "三级", "", "沁阳市", "王曲乡"],
    ["王桂兰", "女", ZHANG_MOTHER, ZHANG_MOTHER + "14", "视力", "四级", "", "沁阳市", "王曲乡"],
    ["张小龙", "男", ZHANG_SON, ZHANG_SON + "52", "智力", "二级", "", "沁阳市", "王曲乡"],
    ["褚三级", "女", GRADE_3, GRADE_3 + "43", "肢体", "三级", "", "解放区", "民生街道"],
    ["卫停发", "男", STOPPED, STOPPED + "42", "肢体", "二级", "", "解放区", "民生街道"],
    ["蒋边缘", "男", EDGE, EDGE + "41", "肢体", "一级", "", "解放区", "民生街道"],
    ["沈低保", "女", DIBAO, DIBAO + "62", "精神", "二级", "", "解放区", "民生街道"],
    ["朱已故", "男", DEAD_DISABLED, DEAD_DISABLED + "41", "肢体", "一级", "", "解放区", "民生街道"],
    [
        "许晚火",
        "男",
        DEAD_LATE_CREMATION,
        DEAD_LATE_CREMATION + "41",
        "肢体",
        "一级",
        "",
        "解放区",
        "民生街道",
    ],
]
ASSISTANCE = [
    # 县, 乡, 村, 户主姓名, 户主身份证号, 成员姓名, 成员身份证号, 关系, 救助类别, 保障状态
    ["解放区", "民生街道", "新华社区", "卫停发", STOPPED, "卫停发", STOPPED, "户主", "城市低保", "停发"],
    ["解放区", "民生街道", "新华社区", "蒋边缘", EDGE, "蒋边缘", EDGE, "户主", "低保边缘", "正常"],
    ["解放区", "民生街道", "新华社区", "沈低保", DIBAO, "沈低保", DIBAO, "户主", "城市低保", "正常"],
    [
        "解放区",
        "民生街道",
        "新华社区",
        "韩已故",
        DEAD_ON_ROSTER,
        "韩已故",
        DEAD_ON_ROSTER,
        "户主",
        "城市特困",
        "正常",
        "560",
    ],
    [
        "解放区",
        "民生街道",
        "新华社区",
        "杨已停",
        DEAD_STOPPED,
        "杨已停",
        DEAD_STOPPED,
        "户主",
        "城市低保",
        "停发",
    ],
]
SUBSIDY = [
    # 县, 乡, 姓名, 身份证号, 补贴类别, 发放年月, 发放金额
    ["沁阳市", "王曲乡", "张小龙", typo(ZHANG_SON), "重度残疾人护理补贴", "2026-10", "100"],
    ["沁阳市", "王曲乡", "张小龙", typo(ZHANG_SON), "重度残疾人护理补贴", "2026-09", "100"],
]
MEDICAL = [
    # 结算单号, 姓名, 证件号码, 性别, 年龄, 参保地, 入院日期, 出院日期, 个人自付
    ["JS-M1", "孟平", MENG, "男", "58", "博爱县", days_ago(200), days_ago(180), "14000.00"],
    ["JS-M2", "孟平", MENG, "男", "58", "博爱县", days_ago(120), days_ago(100), "8500.00"],
    ["JS-E1", "周正好", OOP_EXACT, "男", "66", "解放区", days_ago(60), days_ago(50), "12000.00"],
    ["JS-E2", "周正好", OOP_EXACT, "男", "66", "解放区", days_ago(30), days_ago(20), "8000.00"],
    ["JS-E3", "吴差一分", OOP_BELOW, "男", "66", "解放区", days_ago(30), days_ago(20), "19999.99"],
    ["JS-E4", "郑三六四", DAY_364, "男", "65", "解放区", days_ago(380), days_ago(364), "20000.00"],
    ["JS-E5", "冯三六五", DAY_365, "男", "65", "解放区", days_ago(380), days_ago(365), "20000.00"],
    ["JS-E6", "陈三六六", DAY_366, "男", "65", "解放区", days_ago(380), days_ago(366), "20000.00"],
]
DEATHS = [
    # 姓名, 身份证号, 性别, 死亡日期, 火化日期, 户籍地址, 殡仪馆
    [
        "赵强",
        MA_HUSBAND,
        "男",
        "2026-05-10",
        "2026-05-13",
        "河南省焦作市武陟县大虹桥乡大虹桥村8号",
        "武陟县殡仪馆",
    ],
    [
        "韩已故",
        DEAD_ON_ROSTER,
        "男",
        days_ago(30),
        days_ago(27),
        "河南省焦作市解放区民生街道新华社区1号",
        "焦作市殡仪馆",
    ],
    [
        "杨已停",
        DEAD_STOPPED,
        "男",
        days_ago(200),
        days_ago(197),
        "河南省焦作市解放区民生街道新华社区2号",
        "焦作市殡仪馆",
    ],
    [
        "朱已故",
        DEAD_DISABLED,
        "男",
        days_ago(100),
        days_ago(97),
        "河南省焦作市解放区民生街道新华社区3号",
        "焦作市殡仪馆",
    ],
    [
        "许晚火",
        DEAD_LATE_CREMATION,
        "男",
        days_ago(2),
        days_ago(-3),
        "河南省焦作市解放区民生街道新华社区5号",
        "焦作市殡仪馆",
    ],
    [
        "秦监护甲",
        GUARDIAN_364,
        "男",
        days_ago(364),
        days_ago(361),
        "河南省焦作市解放区民生街道新华社区4号",
        "焦作市殡仪馆",
    ],
    [
        "秦监护乙",
        GUARDIAN_365,
        "男",
        days_ago(365),
        days_ago(362),
        "河南省焦作市解放区民生街道新华社区5号",
        "焦作市殡仪馆",
    ],
]
STUDENTS = [
    # 学生姓名, 学生身份证号, 学校, 学段, 年级, 监护人姓名, 监护人身份证号, 家庭住址, 所属乡镇
    [
        "赵欣怡",
        MA_GIRL,
        "大虹桥中心小学",
        "小学",
        "六年级",
        "赵强",
        MA_HUSBAND,
        "武陟县大虹桥乡大虹桥村8号",
        "大虹桥乡",
    ],
    [
        "赵子轩",
        MA_BOY,
        "大虹桥中心小学",
        "小学",
        "三年级",
        "赵强",
        MA_HUSBAND,
        "武陟县大虹桥乡大虹桥村8号",
        "大虹桥乡",
    ],
    [
        "秦学生甲",
        STUDENT_364,
        "民生小学",
        "小学",
        "六年级",
        "秦监护甲",
        GUARDIAN_364,
        "解放区民生街道新华社区4号",
        "民生街道",
    ],
    [
        "秦学生乙",
        STUDENT_365,
        "民生小学",
        "小学",
        "六年级",
        "秦监护乙",
        GUARDIAN_365,
        "解放区民生街道新华社区5号",
        "民生街道",
    ],
]
# 马丽 herself appears on the student roll's household only through her children; she and the
# monitoring-only wife are there to show that family members are not warned for nothing.
EXTRA_PEOPLE = {"马丽": MA}

HEADERS = {
    "monitoring": "县(市、区),乡(镇、街道),行政村(社区),户编号,姓名,证件号码,与户主关系,性别,"
    "监测对象类别,主要风险类型,风险是否已消除,家庭人口数,家庭年人均纯收入(元)",
    "disability": "姓名,性别,身份证号,残疾证号,残疾类别,残疾等级,户籍地址,所属县区,所属乡镇",
    "assistance": "县(市、区),乡(镇、街道),村(社区),户主姓名,户主身份证号,成员姓名,成员身份证号,"
    "与户主关系,救助类别,保障状态,月保障金额",
    "subsidy": "县(市、区),乡(镇、街道),姓名,身份证号,补贴类别,发放年月,发放金额",
    "medical": "结算单号,姓名,证件号码,性别,年龄,参保地,入院日期,出院日期,个人自付",
    "deaths": "姓名,身份证号,性别,死亡日期,火化日期,户籍地址,殡仪馆",
    "students": "学生姓名,学生身份证号,学校名称,学段,年级,监护人姓名,监护人身份证号,家庭住址,所属乡镇",
}
ROWS = {
    "monitoring": MONITORING,
    "disability": DISABILITY,
    "assistance": ASSISTANCE,
    "subsidy": SUBSIDY,
    "medical": MEDICAL,
    "deaths": DEATHS,
    "students": STUDENTS,
}
# 马丽 is on the monitoring list after the death (the township found the family): add her.
MONITORING.append(
    [
        "武陟县",
        "大虹桥乡",
        "大虹桥村",
        "4108232050009005",
        "马丽",
        MA,
        "户主",
        "女",
        "突发严重困难户",
        "因意外事故",
        "否",
        "3",
        "12000",
    ]
)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rules_e2e")
    extracts = root / "extracts"
    generate(SampleSpec(households=300, seed=3), extracts)
    for source, rows in ROWS.items():
        with open(extracts / source / "story.csv", "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            header = HEADERS[source].split(",")
            w.writerow(header)
            w.writerows([[*row, *[""] * (len(header) - len(row))] for row in rows])
    run_dir = run_all(Settings.build(extracts=extracts, out=root / "out", state=root / "state", run_date=D))
    summary = json.loads((run_dir / "data_quality" / "summary.json").read_text(encoding="utf-8"))
    assert all(e["status"] == "ok" for e in summary["sources"].values())
    return run_dir


@pytest.fixture(scope="module")
def warnings(run_dir: Path) -> pd.DataFrame:
    return pd.read_parquet(run_dir / "data" / "warnings.parquet")


def _story_ids() -> dict[str, str]:
    ids = {}
    for source, rows in ROWS.items():
        for r in rows:
            if source == "monitoring":
                ids[r[4]] = r[5]
            elif source == "assistance":
                ids[r[5]] = r[6]
            elif source == "medical":
                ids[r[1]] = r[2]
            elif source in ("disability", "students"):
                ids[r[0]] = r[2] if source == "disability" else r[1]
                if source == "students":
                    ids[r[5]] = r[6]
            elif source == "deaths":
                ids[r[0]] = r[1]
    return {**ids, **EXTRA_PEOPLE}


def rules_of(warnings: pd.DataFrame, name: str) -> set[str]:
    id18 = _story_ids()[name]
    return set(warnings.loc[warnings["id_number"] == id18, "rule"])


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_person_gets_exactly_the_expected_warnings(warnings: pd.DataFrame, name: str) -> None:
    # The stories (孟平, 张磊's family — the 二级 son's nursing subsidy row has an ID typo and still
    # counts —, 马丽's family) and the edges, as grouped in EXPECTED.
    assert rules_of(warnings, name) == EXPECTED[name]


def test_warnings_carry_checkable_evidence(warnings: pd.DataFrame) -> None:
    meng = warnings[warnings["id_number"] == MENG].set_index("rule")
    r05 = meng.loc["R05"]
    # Both stays, by file and row, with their amounts; the sum the rule compared.
    assert "story.csv 第2行" in r05["evidence"] and "story.csv 第3行" in r05["evidence"]
    assert "14,000" in r05["evidence"] and "22,500" in r05["evidence"]
    refs = json.loads(r05["evidence_records"])
    assert {(r["source"], r["row"]) for r in refs} == {("medical", 2), ("medical", 3)}
    assert r05["warning_id"] == f"R05-{r05['person_id']}" and r05["match_confidence"] == 1.0
    assert meng.loc["R01", "township"] == "磨头镇" and meng.loc["R01", "county"] == "博爱县"
    assert meng.loc["R01", "village"] == "磨头村" and meng.loc["R01", "age"] == 58
    r07 = warnings[warnings["id_number"] == DEAD_ON_ROSTER].iloc[0]
    assert "身份证号完全一致" in r07["evidence"] and "殡葬火化信息" in r07["evidence"]
    # Died 2026-10-30, still 正常 at D = 2026-11-29 with ¥560 a month: one month, ¥560 overpaid.
    assert "死亡后仍在保月数 1" in r07["evidence"] and "估计死亡后多发金额(元) 560" in r07["evidence"]
    # The money each warning is about, for the summary: R07's estimate, R05's out-of-pocket sum.
    assert r07["amount"] == 560 and r05["amount"] == 22_500
    assert "近一年住院个人自付(元) 22,500" in r05["evidence"]  # the same figure the township reads
    assert meng.loc["R01", "amount"] != meng.loc["R01", "amount"]  # R01 is about no amount (NaN)
    r06 = warnings[(warnings["id_number"] == MA_GIRL)].iloc[0]
    assert "赵强" in r06["evidence"] and "2026-05-10" in r06["evidence"]
    # The household's four monitoring rows differ only in the name: one line names all rows and
    # members, and every row is still cited.
    father = warnings[(warnings["id_number"] == ZHANG_FATHER) & (warnings["rule"] == "R01")].iloc[0]
    monitoring = [line for line in father["evidence"].split("\n") if line.startswith("【防返贫监测】")]
    assert len(monitoring) == 1 and "第4–7行:户编号 4108822020009002" in monitoring[0]  # rows 4 to 7
    assert "姓名 张磊、张德胜、王桂兰、张小龙" in monitoring[0] and "家庭年人均纯收入 9,500" in monitoring[0]
    refs = json.loads(father["evidence_records"])
    assert sum(r["source"] == "monitoring" for r in refs) == 4


def test_a_bad_quoted_field_blanks_the_value_not_the_row(run_dir: Path) -> None:
    """许晚火's death record has a cremation date after the run date: the record is kept (so he
    gets no R01-R06 above), the date is blanked, and the row says why."""
    records = pd.read_parquet(run_dir / "data" / "records.parquet")
    row = records[(records["source"] == "deaths") & (records["id_number"] == DEAD_LATE_CREMATION)]
    assert len(row) == 1 and pd.isna(row["cremation_date"].iloc[0]) and pd.notna(row["death_date"].iloc[0])
    assert "火化日期不合理" in row["flags"].iloc[0] and "已置空" in row["flags"].iloc[0]


def test_evidence_speaks_plain_words(warnings: pd.DataFrame) -> None:
    """How a record was linked is said in words (姓名相同、…,系统判定为同一人); the matcher's weights
    stay in person_index."""
    assert not warnings["evidence"].str.contains(r"\([+-]\d", regex=True).any()
    assert not warnings["evidence"].str.contains("模型关联|概率").any()


def test_one_warning_per_rule_and_person(warnings: pd.DataFrame) -> None:
    assert not warnings.duplicated(["rule", "person_id"]).any()
    assert warnings["warning_id"].is_unique
