"""The other channels end to end, hand-worked: hotline requests (R08), village reports (R09) and
the economic checks (核对提示), in one run over a small generated background plus the people below.

Run date D = 2026-11-29; the look-back window is (D - 365 days, D].
"""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from pipeline.runs import run_all
from pipeline.sample import SampleSpec, generate
from pipeline.settings import Settings
from tests.people import D, days_ago, pid

# 刘桂兰 (博爱县磨头镇东庄村): on the monitoring list with her phone; she calls 12345 about her
# husband's hospital bills and gives no ID, only her name, phone and address. Her household owns a
# car in use and two flats.
LIU = pid("410822", "19660214", "046")
LIU_HUSBAND = pid("410822", "19640903", "031")
# 王建国 (磨头镇西庄村): on 农村低保; a village assistant reports his illness anyway.
WANG = pid("410822", "19580611", "053")
# 李明 (磨头镇): calls about his electricity bill only.
LI = pid("410822", "19800101", "071")
# 赵秀英 (解放区民生街道新华社区): reported by the assistant, not on any roster.
ZHAO = pid("410802", "19520720", "062")
# 孙强 (民生街道): called about losing his job 400 days ago: outside the window.
SUN = pid("410802", "19781105", "017")

FILES: dict[str, tuple[str, list[list[str]]]] = {
    "monitoring": (
        "县(市、区),乡(镇、街道),行政村(社区),户编号,姓名,证件号码,与户主关系,性别,联系电话,"
        "监测对象类别,主要风险类型,风险是否已消除,家庭人口数,家庭年人均纯收入(元)",
        [
            [
                "博爱县",
                "磨头镇",
                "东庄村",
                "4108221050099001",
                "刘桂兰",
                LIU,
                "户主",
                "女",
                "13903911234",
                "边缘易致贫户",
                "因病",
                "是",
                "2",
                "9000",
            ],
            [
                "博爱县",
                "磨头镇",
                "东庄村",
                "4108221050099001",
                "张保国",
                LIU_HUSBAND,
                "配偶",
                "男",
                "",
                "边缘易致贫户",
                "因病",
                "是",
                "2",
                "9000",
            ],
        ],
    ),
    "assistance": (
        "县(市、区),乡(镇、街道),村(社区),户主姓名,户主身份证号,成员姓名,成员身份证号,与户主关系,"
        "救助类别,保障状态,月保障金额",
        [["博爱县", "磨头镇", "西庄村", "王建国", WANG, "王建国", WANG, "户主", "农村低保", "正常", "330"]],
    ),
    "hotline": (
        "工单编号,受理时间,诉求人姓名,联系电话,身份证号,诉求地址,诉求内容,诉求类别,办理状态",
        [
            [
                "1234520269000001",
                days_ago(30) + " 09:12",
                "刘桂兰",
                "13903911234",
                "",
                "博爱县磨头镇东庄村12号",
                "我老伴住院做了手术，医药费自己出了四万多，家里实在拿不出钱了。",
                "",
                "已受理",
            ],
            [
                "1234520269000002",
                days_ago(20) + " 15:40",
                "李明",
                "13903919876",
                LI,
                "博爱县磨头镇人民路8号",
                "这个月电费比上个月高了一倍，是不是电表坏了，请核查。",
                "",
                "已办结",
            ],
            [
                "1234520259000003",
                days_ago(400) + " 10:00",
                "孙强",
                "13903915555",
                SUN,
                "解放区民生街道新华社区9号",
                "我失业了，家里没有收入，请求帮助。",
                "",
                "已办结",
            ],
        ],
    ),
    "reports": (
        "上报日期,姓名,身份证号,现住址,所属乡镇,所属村(社区),困难情形,上报人,上报人电话",
        [
            [
                days_ago(40),
                "王建国",
                WANG,
                "磨头镇西庄村3号",
                "磨头镇",
                "西庄村",
                "该户户主患肺癌，长期住院治疗。",
                "周协理员",
                "13700000001",
            ],
            [
                days_ago(10),
                "赵秀英",
                ZHAO,
                "民生街道新华社区5号",
                "民生街道",
                "新华社区",
                "该户为独居老人，老伴去年去世，无人照料，生活困难。",
                "吴网格员",
                "13700000002",
            ],
        ],
    ),
    "vehicles": (
        "车主姓名,车主身份证号,号牌号码,车辆类型,使用性质,初次登记日期,状态",
        [
            ["张保国", LIU_HUSBAND, "豫HA1234", "小型轿车", "非营运", "2019-05-01", "正常"],
            ["张保国", LIU_HUSBAND, "豫HB5678", "轻型普通货车", "营运", "2015-05-01", "正常"],
        ],
    ),
    "property": (
        "权利人姓名,权利人身份证号,坐落,建筑面积,用途,登记日期",
        [
            ["刘桂兰", LIU, "焦作市博爱县幸福花园3号楼1单元201室", "96.5", "住宅", "2012-03-01"],
            ["张保国", LIU_HUSBAND, "焦作市博爱县和平小区8号楼2单元502室", "89.3", "住宅", "2018-07-01"],
        ],
    ),
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("channels_e2e")
    extracts = root / "extracts"
    generate(SampleSpec(households=300, seed=3), extracts)
    for source, (header, rows) in FILES.items():
        with open(extracts / source / "story.csv", "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(header.split(","))
            w.writerows(rows)
    return run_all(Settings.build(extracts=extracts, out=root / "out", state=root / "state", run_date=D))


@pytest.fixture(scope="module")
def warnings(run_dir: Path) -> pd.DataFrame:
    return pd.read_parquet(run_dir / "data" / "warnings.parquet")


def rules_of(warnings: pd.DataFrame, id18: str) -> set[str]:
    return set(warnings.loc[warnings["id_number"] == id18, "rule"])


def test_a_caller_without_an_id_is_linked_by_phone_and_address(warnings: pd.DataFrame) -> None:
    # The warning carries her ID, known only from the monitoring list: the request was linked.
    assert rules_of(warnings, LIU) == {"R08"}
    r08 = warnings[(warnings["id_number"] == LIU) & (warnings["rule"] == "R08")].iloc[0]
    assert "story.csv 第2行" in r08["evidence"] and "我老伴住院做了手术" in r08["evidence"]
    assert "因病:" in r08["evidence"] and "“住院”" in r08["evidence"]
    assert "姓名相同、电话相同、同村(社区)" in r08["evidence"]
    assert r08["township"] == "磨头镇"


def test_the_household_vehicles_and_flats_are_shown(warnings: pd.DataFrame, run_dir: Path) -> None:
    r08 = warnings[(warnings["id_number"] == LIU) & (warnings["rule"] == "R08")].iloc[0]
    # The operating truck does not count; the flats are summed over both members.
    assert r08["economic_hint"] == "名下非营运车辆1辆(小型轿车);房产2套,共186㎡"
    book = next((run_dir / "publish" / "townships").rglob("*磨头镇.xlsx"))
    ws = openpyxl.load_workbook(book)["预警名单"]
    header = [c.value for c in ws[3]]
    col = header.index("核对提示")
    values = [r[col] for r in ws.iter_rows(min_row=4, values_only=True)]
    assert "名下非营运车辆1辆(小型轿车);房产2套,共186㎡" in values


def test_a_report_about_someone_on_dibao_raises_nothing(warnings: pd.DataFrame) -> None:
    assert rules_of(warnings, WANG) == set()


def test_a_request_about_a_bill_raises_nothing(warnings: pd.DataFrame) -> None:
    assert rules_of(warnings, LI) == set()


def test_a_request_outside_the_window_raises_nothing(warnings: pd.DataFrame) -> None:
    assert rules_of(warnings, SUN) == set()


def test_a_village_report_not_acted_on_is_listed_with_its_words(warnings: pd.DataFrame) -> None:
    assert rules_of(warnings, ZHAO) == {"R09"}
    r09 = warnings[warnings["id_number"] == ZHAO].iloc[0]
    assert "该户为独居老人" in r09["evidence"] and "吴网格员" in r09["evidence"]
    assert "上报困难类别" in r09["evidence"]


def test_the_summary_counts_warnings_by_channel(run_dir: Path, warnings: pd.DataFrame) -> None:
    html = (run_dir / "publish" / "summary.html").read_text(encoding="utf-8")
    assert "按渠道" in html
    for name, rules in (("热线诉求", ["R08"]), ("协理员上报", ["R09"])):
        count = int(warnings["rule"].isin(rules).sum())
        assert f'<td>{name}</td><td>{rules[0]}</td><td class="num">{count:,}</td>' in html
