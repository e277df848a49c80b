"""Why a person's records were joined: for analysts and for the warning evidence."""

from __future__ import annotations

import pandas as pd

from pipeline import schema as S
from pipeline.match import EVIDENCE, LINK_RULE, LINKED_VIA, MATCH_PROBABILITY, MATCH_WEIGHT, PERSON_ID

RULE_ZH = {"id": "身份证号一致", "model": "概率匹配", "review": "人工复核判定", "none": "未与其他记录关联"}


def explain(person_id: str, person_index: pd.DataFrame) -> pd.DataFrame:
    """The records joined into ``person_id`` and, for each, how it joined and on what evidence.

    ``person_index`` is reports/<run_date>/data/person_index.parquet.
    """
    rows = person_index[person_index[PERSON_ID] == person_id]
    out = rows[
        [S.SOURCE, S.FILE, S.ROW, LINK_RULE, MATCH_PROBABILITY, MATCH_WEIGHT, LINKED_VIA, EVIDENCE]
    ].copy()
    out.insert(4, "how", out[LINK_RULE].map(RULE_ZH))
    return out.sort_values([LINK_RULE, S.SOURCE, S.FILE, S.ROW]).reset_index(drop=True)
