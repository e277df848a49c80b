"""A synthetic 焦作 population: households, people and their true identities (vectorized numpy).

Nothing here is real: names are drawn from surname frequencies and common given names, IDs are
built to GB 11643 with random sequence numbers. The truth (who each person is) is kept so that
benchmarks can measure accuracy; the pipeline never reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from pipeline.normalize.ids import check_chars
from pipeline.normalize.places import Gazetteer
from pipeline.sample import vocab

# Area codes of people born elsewhere who live here (济源, 郑州, 新乡, 洛阳, 南阳, other provinces).
_MIGRANT_AREAS = np.array(
    ["410881", "410102", "410105", "410702", "410302", "411302", "130102", "370102", "140105"]
)


@dataclass
class Population:
    households: pd.DataFrame  # hh, township_code, township, county_code, county, urban, village, size
    persons: pd.DataFrame  # pid, hh, position, relation, name, surname, sex, birth, id18, phone, ...


def _given_names(rng: np.random.Generator, male: np.ndarray) -> np.ndarray:
    n = len(male)
    ranks = np.arange(1, len(vocab.COMMON_GIVEN) + 1)
    # Zipf-like with exponent 0.7 over the 50 commonest names, drawn for 5% of people: 伟 then
    # comes out near 0.4% of the population, about its real share (张伟: ~0.3% of people named 张).
    weights = ranks**-0.7
    common = np.array(vocab.COMMON_GIVEN)[rng.choice(len(ranks), n, p=weights / weights.sum())]
    pool_m = np.array(list(vocab.GIVEN_CHARS_M + vocab.GIVEN_CHARS_ANY))
    pool_f = np.array(list(vocab.GIVEN_CHARS_F + vocab.GIVEN_CHARS_ANY))
    c1 = np.where(male, rng.choice(pool_m, n), rng.choice(pool_f, n))
    c2 = np.where(male, rng.choice(pool_m, n), rng.choice(pool_f, n))
    two = rng.random(n) < 0.7
    other = np.where(two, np.char.add(c1, c2), c1)
    return np.where(rng.random(n) < 0.05, common, other)


def make_population(n_households: int, seed: int, as_of: date, gazetteer: Gazetteer) -> Population:
    rng = np.random.default_rng(seed)
    towns = [t for t in gazetteer.townships]
    t_weight = np.array([0.3 if t.kind == "其他" else 1.0 for t in towns])
    t_idx = rng.choice(len(towns), n_households, p=t_weight / t_weight.sum())
    t_code = np.array([t.code for t in towns])[t_idx]
    t_name = np.array([t.name for t in towns])[t_idx]
    c_code = np.array([t.county_code for t in towns])[t_idx]
    c_name = np.array([t.county for t in towns])[t_idx]
    urban = np.array([t.kind == "街道" for t in towns])[t_idx]
    stems = rng.choice(list(vocab.VILLAGE_STEMS), (n_households, 2))
    village = np.where(
        urban,
        np.char.add(np.char.add(stems[:, 0], stems[:, 1]), rng.choice(vocab.COMMUNITY_TAILS, n_households)),
        np.char.add(
            np.char.add(np.char.add(stems[:, 0], stems[:, 1]), rng.choice(vocab.VILLAGE_TAILS, n_households)),
            "村",
        ),
    )
    # A township has 12-40 villages (社区 in a 街道) of a few hundred households each, not one name
    # per household: each household joins the village its drawn name falls into (the draws above
    # are kept, so everything drawn after them is the same as before).
    vrng = np.random.default_rng(seed + 4)
    per_town = vrng.integers(12, 41, len(towns))[t_idx]
    stem_code = (
        pd.Series(stems[:, 0]).map({c: i for i, c in enumerate(vocab.VILLAGE_STEMS)}).to_numpy()
        * len(vocab.VILLAGE_STEMS)
        + pd.Series(stems[:, 1]).map({c: i for i, c in enumerate(vocab.VILLAGE_STEMS)}).to_numpy()
    )
    bucket = t_idx.astype(np.int64) * 1000 + stem_code % per_town
    village = pd.Series(village).groupby(bucket).transform("first").to_numpy()
    size = rng.choice([1, 2, 3, 4, 5, 6], n_households, p=[0.14, 0.26, 0.25, 0.2, 0.1, 0.05])
    households = pd.DataFrame(
        {
            "hh": np.arange(n_households),
            "township_code": t_code,
            "township": t_name,
            "county_code": c_code,
            "county": c_name,
            "urban": urban,
            "village": village,
            "size": size,
            "house_no": rng.integers(1, 300, n_households),
        }
    )

    hh = np.repeat(np.arange(n_households), size)
    n = len(hh)
    starts = np.repeat(np.cumsum(size) - size, size)
    position = np.arange(n) - starts
    head_age = np.clip(rng.normal(54, 14, n_households), 22, 92).astype(int)
    head_age_p = head_age[hh]
    old_head = head_age_p >= 58
    has_spouse = np.repeat(rng.random(n_households) < 0.8, size)
    relation = np.full(n, "子女", dtype=object)
    relation[position == 0] = "户主"
    relation[(position == 1) & has_spouse] = "配偶"
    grandchild = (position >= 3) & old_head & (rng.random(n) < 0.6)
    relation[grandchild] = "孙子女"
    age = np.where(
        position == 0,
        head_age_p,
        np.where(
            relation == "配偶",
            head_age_p + rng.integers(-4, 5, n),
            np.where(grandchild, head_age_p - rng.integers(46, 62, n), head_age_p - rng.integers(21, 36, n)),
        ),
    )
    # A child "born before its parent was 21" would be negative: spread those over the years the
    # parent has been an adult instead of piling them all up at age 0.
    young = age < 0
    span = np.maximum(head_age_p - 19, 1)
    age = np.where(young, (rng.random(n) * span).astype(int), age)
    age = np.clip(age, 0, 99)
    # A few newborns, so that hospital stays under a parent's ID occur.
    newborn = (relation != "户主") & (relation != "配偶") & (rng.random(n) < 0.05) & (head_age_p < 45)
    age = np.where(newborn, 0, age)
    head_male = rng.random(n_households) < 0.85
    male = np.where(
        position == 0,
        head_male[hh],
        np.where(relation == "配偶", ~head_male[hh], rng.random(n) < 0.52),
    )
    birth = (
        np.datetime64(as_of)
        - (age * 365.25).astype("timedelta64[D]")
        - rng.integers(1, 365, n).astype("timedelta64[D]")
    )
    # Twins: a younger child born on the same day as the previous one, sequence numbers adjacent.
    twin = (position >= 2) & (relation == "子女") & (np.roll(relation, 1) == "子女") & (rng.random(n) < 0.03)
    birth = np.where(twin, np.roll(birth, 1), birth)

    s_names = np.array(list(vocab.SURNAMES))
    s_w = np.array(list(vocab.SURNAMES.values()))
    head_surname = rng.choice(s_names, n_households, p=s_w / s_w.sum())
    own_surname = rng.choice(s_names, n, p=s_w / s_w.sum())
    surname = np.where(relation == "配偶", own_surname, head_surname[hh])
    given = _given_names(rng, male)
    name = np.char.add(surname.astype(str), given.astype(str))

    county = c_code[hh]
    area = county.copy()
    by = birth.astype("datetime64[Y]").astype(int) + 1970
    area = np.where(county == "410871", rng.choice(["410811", "410823", "410825"], n), area)
    area = np.where((county == "410882") & (by < 1989) & (rng.random(n) < 0.7), "410824", area)
    area = np.where(
        (county == "410883") & (by >= 1986) & (by <= 1995) & (rng.random(n) < 0.5), "410826", area
    )
    area = np.where(rng.random(n) < 0.05, rng.choice(_MIGRANT_AREAS, n), area)
    ymd = pd.to_datetime(birth).strftime("%Y%m%d").to_numpy()
    seq = rng.integers(0, 500, n) * 2 + male.astype(int)
    seq = np.where(twin, (np.roll(seq, 1) + 2) % 1000, seq)
    prefix = np.char.add(area.astype(str), ymd.astype(str))
    # Sequence numbers are unique per (area, birth date): redraw the rare collisions.
    for _ in range(20):
        first17 = np.char.add(prefix, np.char.zfill(seq.astype(str), 3))
        dup = pd.Series(first17).duplicated().to_numpy()
        if not dup.any():
            break
        seq[dup] = rng.integers(0, 500, int(dup.sum())) * 2 + male[dup].astype(int)
    first17 = np.char.add(prefix, np.char.zfill(seq.astype(str), 3))
    id18 = np.char.add(first17, check_chars(first17))

    adult = (age >= 18) & (age <= 78)
    mobiles = np.char.add(
        np.char.add("1", rng.choice(list("35789"), n)),
        np.char.zfill(rng.integers(0, 10**9, n).astype(str), 9),
    ).astype(object)
    phone = np.where(
        adult & (rng.random(n) < 0.85),
        mobiles,
        np.array(None, dtype=object),
    )
    persons = pd.DataFrame(
        {
            "pid": np.arange(n),
            "hh": hh,
            "position": position,
            "relation": relation,
            "name": name,
            "sex": np.where(male, "男", "女"),
            "birth": pd.to_datetime(birth),
            "age": age,
            "id18": id18,
            "phone": phone,
        }
    )
    return Population(households, persons)
