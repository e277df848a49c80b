"""The channels besides department extracts: hotline tickets, village assistants' reports, and the
economic checks (vehicles, real estate), drawn from the same synthetic population with their truth.

A hotline request or report is written from a template of its true hardship categories (or of a
request that is not about hardship: noise, parking, bills, a consultation, a thank-you), so the
truth says what a perfect reader would find; the classifier (pipeline/eligibility/requests.py)
never sees these templates, and its own precision is measured on a hand-written set in tests/.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from pipeline.sample.extracts import PID

HARDSHIP = "_hardship"  # the true categories of a request or report, ";"-joined ("" for none)

_ILLNESS = ("脑梗", "尿毒症", "肺癌", "白血病", "心脏病", "糖尿病并发症", "股骨头坏死", "乳腺癌", "肝硬化")
_RELATIVE = ("我母亲", "我父亲", "我爱人", "我儿子", "我女儿", "家里老人", "我老伴", "我")
_DISABILITY = ("瘫痪在床", "双目失明", "腿脚残疾走不了路", "智力残疾", "精神残疾,离不开人", "截肢了")

# Templates by true category; {who} {ill} {dis} {amount} {k} are filled per request.
_TEMPLATES: dict[str, tuple[str, ...]] = {
    "因病": (
        "{who}得了{ill},住院花了{amount}万,家里实在拿不出钱了,希望政府帮帮我们。",
        "{who}患{ill}多年,每月吃药要一千多,家里没有别的收入,申请救助。",
        "反映{who}因{ill}做了手术,医疗费报销后自己还要出{amount}万,生活很困难。",
        "{who}长期透析,家里为了看病借了不少钱,请问能不能给办低保。",
    ),
    "因残": (
        "{who}{dis},家里没人能出去打工,日子过不下去了。",
        "{who}是残疾人,{dis},想问问有没有补贴,家里生活困难。",
        "反映家中{who}{dis},需要人照顾,生活困难,请求帮助。",
    ),
    "因学": (
        "孩子今年考上大学,学费{k}千多块凑不齐,希望能申请助学救助。",
        "家里两个孩子上学,负担太重,学费交不起了。",
        "{who}在读高中,家里困难,学费和生活费都成问题。",
    ),
    "因灾/意外": (
        "前几天家里着火,房子烧毁了,一家人没地方住。",
        "{who}出了车祸,花了很多钱,对方没有赔偿,家里困难。",
        "暴雨把家里的房子冲塌了,现在借住在亲戚家,请求救助。",
        "{who}干活时从高处摔下来受了重伤,没法干活了,家里没有收入。",
    ),
    "失业": (
        "{who}失业半年了,一直找不到工作,家里没有收入,请求帮助。",
        "厂子倒闭了,{who}下岗在家,房贷和孩子的开销都还不上。",
    ),
    "丧偶/亡故": (
        "我爱人今年去世了,留下两个孩子,家里没有经济来源。",
        "孩子他爸病故了,剩下我和孩子,生活没有着落。",
    ),
    "其他": (
        "家里生活困难,吃饭都成问题,请求政府给予救助。",
        "我是独居老人,无儿无女,没有收入,生活困难。",
    ),
}
# Requests that are not about hardship (the hotline's daily business), and hardship already dealt with.
_NOT_HARDSHIP = (
    "小区楼下饭店油烟太大,晚上噪音扰民,请相关部门处理。",
    "小区门口乱停车,车辆堵路,出行不便。",
    "家里电费突然比上月高了一倍,怀疑电表有问题,请核查。",
    "燃气费缴费后一直没到账,请帮忙查询。",
    "村里道路坑洼不平,下雨天无法通行,希望修一下。",
    "咨询一下残疾人两项补贴的申请条件和需要的材料。",
    "咨询低保申请需要准备哪些材料,在哪里办理。",
    "上次反映{who}住院的救助问题已经解决了,感谢工作人员。",
    "之前申请的临时救助已经到账,问题已解决,不需要再回访。",
    "路灯坏了一个多月了,晚上太黑,请尽快维修。",
    "自来水水质发黄,请自来水公司来看看。",
)
_REPORT_TEMPLATES: dict[str, tuple[str, ...]] = {
    "因病": (
        "走访发现{who}患{ill},长期住院治疗,医疗支出大,家庭收入低。",
        "该户{who}{ill}术后在家休养,需长期服药,家庭负担重。",
    ),
    "因残": (
        "该户{who}{dis},无劳动能力,家庭无稳定收入。",
        "走访发现{who}{dis},需专人照护,家庭困难。",
    ),
    "因学": ("该户两名子女在校就读,家庭收入低,教育支出大。",),
    "因灾/意外": (
        "该户住房因暴雨受损严重,存在安全隐患,需临时救助。",
        "该户{who}因交通事故受伤,丧失劳动能力,家庭收入骤降。",
    ),
    "失业": ("该户主要劳动力失业在家,无稳定收入来源。",),
    "丧偶/亡故": ("该户{who}的配偶近期去世,家庭失去主要收入来源。",),
    "其他": ("该户为独居老人,无子女赡养,生活困难。",),
}
_REPORT_FINE = (
    "走访了解该户已纳入低保,生活基本稳定,暂无其他困难。",
    "回访该户,前期困难已解决,目前生活正常。",
)
_STATUSES = ("已办结", "办理中", "已受理", "已回访")
_CATEGORIES = ("社会救助", "民政", "", "", "城市管理", "其他")


def _fill(template: str, rng: np.random.Generator, who: str) -> str:
    return template.format(
        who=who,
        ill=_ILLNESS[int(rng.integers(0, len(_ILLNESS)))],
        dis=_DISABILITY[int(rng.integers(0, len(_DISABILITY)))],
        amount=int(rng.integers(3, 30)),
        k=int(rng.integers(5, 10)),
    )


def _category_for(row: pd.Series, rng: np.random.Generator) -> str:
    """The hardship a household's own situation suggests, else a random one."""
    options = [
        c for c, flag in (("因病", row["_ill"]), ("因残", row["_dis"]), ("丧偶/亡故", row["_dead"])) if flag
    ]
    if row["_student"]:
        options.append("因学")
    if options and rng.random() < 0.85:
        return options[int(rng.integers(0, len(options)))]
    rest = ("因灾/意外", "失业", "其他", "因病")
    return rest[int(rng.integers(0, len(rest)))]


def _address(p: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """As callers say it: city and county often dropped, village and house number kept."""
    full = (
        "焦作市" + p["county"] + p["township"] + p["village"] + p["house_no"].astype(str) + "号"
    ).to_numpy()
    no_city = (p["county"] + p["township"] + p["village"] + p["house_no"].astype(str) + "号").to_numpy()
    short = (p["township"] + p["village"] + p["house_no"].astype(str) + "号").to_numpy()
    r = rng.random(len(p))
    return np.where(r < 0.4, full, np.where(r < 0.75, no_city, short))


def signals(pop_persons: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per household: which hardship its records show (illness, disability, a death, a student)."""
    hh_of = pop_persons.set_index("pid")["hh"]
    out = pd.DataFrame(index=pd.Index(pop_persons["hh"].unique(), name="hh"))
    for col, source in (
        ("_ill", "medical"),
        ("_dis", "disability"),
        ("_dead", "deaths"),
        ("_student", "students"),
    ):
        out[col] = out.index.isin(set(frames[source][PID].map(hh_of)))
    out["_monitored"] = out.index.isin(set(frames["monitoring"][PID].map(hh_of)))
    out["_assisted"] = out.index.isin(set(frames["assistance"][PID].map(hh_of)))
    return out


def _adults(people: pd.DataFrame) -> pd.DataFrame:
    a = people[(people["age"] >= 18) & (people["age"] <= 85)]
    return a.sort_values(["hh", "position"]).drop_duplicates("hh")  # the first adult: usually the head


def hotline(
    people: pd.DataFrame, signals: pd.DataFrame, rng: np.random.Generator, as_of: date
) -> pd.DataFrame:
    """12345 tickets: hardship requests from households with signs of hardship (and a few without),
    and the hotline's everyday requests from anyone."""
    s = signals.reindex(people["hh"].unique())
    needy = s["_ill"] | s["_dis"] | s["_dead"] | s["_monitored"]
    p = np.where(needy, 0.03, 0.002)
    hard_hh = set(s.index[rng.random(len(s)) < p])
    other_hh = set(s.index[rng.random(len(s)) < 0.006]) - hard_hh
    callers = _adults(people[people["hh"].isin(hard_hh | other_hh)]).copy()
    callers = callers.join(s, on="hh")
    n = len(callers)
    texts, truth = [], []
    for hard, (_, row) in zip(callers["hh"].isin(hard_hh), callers.iterrows(), strict=True):
        who = _RELATIVE[int(rng.integers(0, len(_RELATIVE)))]
        if hard:
            cat = _category_for(row, rng)
            pool = _TEMPLATES[cat]
            texts.append(_fill(pool[int(rng.integers(0, len(pool)))], rng, who))
            truth.append(cat)
        else:
            texts.append(_fill(_NOT_HARDSHIP[int(rng.integers(0, len(_NOT_HARDSHIP)))], rng, who))
            truth.append("")
    start = datetime.combine(as_of, datetime.min.time())
    when = [
        start - timedelta(days=int(d)) + timedelta(minutes=int(m))
        for d, m in zip(rng.integers(1, 540, n), rng.integers(480, 1080, n), strict=True)
    ]
    # The caller's own phone, else the household's (a borrowed phone now and then).
    hh_phone = people.dropna(subset=["phone"]).drop_duplicates("hh").set_index("hh")["phone"]
    phone = callers["phone"].where(callers["phone"].notna(), callers["hh"].map(hh_phone))
    ids = np.where(rng.random(n) < 0.3, callers["id18"].to_numpy(dtype=object), np.array(None, dtype=object))
    return pd.DataFrame(
        {
            "工单编号": [f"12345{d.year}{k:07d}" for d, k in zip(when, rng.permutation(n) + 1, strict=True)],
            "受理时间": when,
            "诉求人姓名": callers["name"].to_numpy(),
            "联系电话": phone.to_numpy(),
            "身份证号": ids,
            "诉求地址": _address(callers, rng),
            # Dispatched to the county's civil-affairs bureau; now and then left blank.
            "承办单位": np.where(
                rng.random(n) < 0.9,
                (callers["county"] + "民政局").to_numpy(dtype=object),
                np.array(None, dtype=object),
            ),
            "诉求内容": texts,
            "诉求类别": rng.choice(_CATEGORIES, n),
            "办理状态": rng.choice(_STATUSES, n),
            PID: callers["pid"].to_numpy(),
            "_county_code": callers["county_code"].to_numpy(),
            HARDSHIP: truth,
        }
    )


def reports(
    people: pd.DataFrame, signals: pd.DataFrame, rng: np.random.Generator, as_of: date
) -> pd.DataFrame:
    """Village assistants' visit reports: mostly households with signs of hardship; a few about
    households already helped (some of those say so)."""
    s = signals.reindex(people["hh"].unique())
    needy = s["_ill"] | s["_dis"] | s["_dead"] | s["_monitored"]
    chosen = set(s.index[rng.random(len(s)) < np.where(needy, 0.03, 0.001)])
    subjects = _adults(people[people["hh"].isin(chosen)]).copy().join(s, on="hh")
    n = len(subjects)
    texts, truth = [], []
    for _, row in subjects.iterrows():
        who = ("户主", "其母亲", "其父亲", "其配偶", "本人")[int(rng.integers(0, 5))]
        if row["_assisted"] and rng.random() < 0.3:
            texts.append(_REPORT_FINE[int(rng.integers(0, len(_REPORT_FINE)))])
            truth.append("")
            continue
        cat = _category_for(row, rng)
        pool = _REPORT_TEMPLATES[cat]
        texts.append(_fill(pool[int(rng.integers(0, len(pool)))], rng, who))
        truth.append(cat)
    reported = [as_of - timedelta(days=int(d)) for d in rng.integers(1, 450, n)]
    surnames = np.array(list("王李张刘陈杨赵黄周吴"))
    return pd.DataFrame(
        {
            "上报日期": reported,
            "姓名": subjects["name"].to_numpy(),
            "身份证号": np.where(
                rng.random(n) < 0.85, subjects["id18"].to_numpy(dtype=object), np.array(None, dtype=object)
            ),
            "现住址": (
                subjects["township"] + subjects["village"] + subjects["house_no"].astype(str) + "号"
            ).to_numpy(),
            "所属乡镇": subjects["township"].to_numpy(),
            "所属村(社区)": subjects["village"].to_numpy(),
            "困难情形": texts,
            "上报人": np.char.add(rng.choice(surnames, n), "协理员"),
            "上报人电话": [f"13{int(x):09d}" for x in rng.integers(0, 10**9, n)],
            PID: subjects["pid"].to_numpy(),
            "_county_code": subjects["county_code"].to_numpy(),
            HARDSHIP: truth,
        }
    )


def _scope(signals: pd.DataFrame, frames: dict[str, pd.DataFrame], hh_of: pd.Series) -> pd.Index:
    """The households the bureau sends for economic checks: its low-income population (monitored,
    assisted, disabled) and everyone who asked or was reported."""
    asked = set(frames["hotline"][PID].map(hh_of)) | set(frames["reports"][PID].map(hh_of))
    s = signals
    return s.index[(s["_monitored"] | s["_assisted"] | s["_dis"]).to_numpy() | s.index.isin(asked)]


def _owners(
    people: pd.DataFrame,
    signals: pd.DataFrame,
    frames: dict[str, pd.DataFrame],
    rng: np.random.Generator,
    share: tuple[float, float],
    how_many: dict[int, float],
) -> pd.DataFrame:
    """The checked households' first adults who own something (``share``: urban, rural), each
    repeated once per thing owned (``how_many``: count -> probability)."""
    scope = _scope(signals, frames, people.set_index("pid")["hh"])
    owners = _adults(people[people["hh"].isin(scope)])
    owners = owners[rng.random(len(owners)) < np.where(owners["urban"], *share)]
    counts = rng.choice(list(how_many), len(owners), p=list(how_many.values()))
    return owners.loc[owners.index.repeat(counts)]


def vehicles(
    people: pd.DataFrame,
    signals: pd.DataFrame,
    frames: dict[str, pd.DataFrame],
    rng: np.random.Generator,
    as_of: date,
) -> pd.DataFrame:
    owners = _owners(people, signals, frames, rng, (0.18, 0.12), {1: 0.9, 2: 0.1})
    n = len(owners)
    kinds = rng.choice(
        ["小型轿车", "小型普通客车", "轻型普通货车", "普通二轮摩托车", "三轮汽车"],
        n,
        p=[0.45, 0.15, 0.12, 0.2, 0.08],
    )
    use = np.where(rng.random(n) < 0.88, "非营运", rng.choice(["营运", "货运", "出租客运"], n))
    status = rng.choice(["正常", "注销", "报废", "违法未处理"], n, p=[0.8, 0.08, 0.07, 0.05])
    letters = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ"))
    plates = [
        f"豫H{letters[int(a)]}{int(b):04d}"
        for a, b in zip(rng.integers(0, 24, n), rng.integers(0, 10000, n), strict=True)
    ]
    return pd.DataFrame(
        {
            "车主姓名": owners["name"].to_numpy(),
            "车主身份证号": owners["id18"].to_numpy(),
            "号牌号码": plates,
            "车辆类型": kinds,
            "使用性质": use,
            "初次登记日期": [as_of - timedelta(days=int(d)) for d in rng.integers(30, 365 * 15, n)],
            "状态": status,
            PID: owners["pid"].to_numpy(),
            "_county_code": owners["county_code"].to_numpy(),
        }
    )


def real_estate(
    people: pd.DataFrame,
    signals: pd.DataFrame,
    frames: dict[str, pd.DataFrame],
    rng: np.random.Generator,
    as_of: date,
) -> pd.DataFrame:
    owners = _owners(people, signals, frames, rng, (0.4, 0.05), {1: 0.85, 2: 0.12, 3: 0.03})
    n = len(owners)
    use = rng.choice(["住宅", "住宅", "住宅", "商业", "车库"], n)
    area = np.where(use == "住宅", rng.normal(95, 25, n), np.where(use == "商业", rng.normal(60, 30, n), 18))
    area = np.round(np.clip(area, 12, 260), 2)
    estates = ("幸福花园", "建业森林半岛", "山阳小区", "和平小区", "丰收家园", "锦祥花园")
    where = [
        f"焦作市{c}{estates[int(e)]}{int(b)}号楼{int(u)}单元{int(r)}室"
        for c, e, b, u, r in zip(
            owners["county"],
            rng.integers(0, len(estates), n),
            rng.integers(1, 30, n),
            rng.integers(1, 5, n),
            rng.integers(101, 2602, n),
            strict=True,
        )
    ]
    return pd.DataFrame(
        {
            "权利人姓名": owners["name"].to_numpy(),
            "权利人身份证号": owners["id18"].to_numpy(),
            "坐落": where,
            "建筑面积": area.astype(str),
            "用途": use,
            "登记日期": [as_of - timedelta(days=int(d)) for d in rng.integers(30, 365 * 20, n)],
            PID: owners["pid"].to_numpy(),
            "_county_code": owners["county_code"].to_numpy(),
        }
    )
