"""Household keys, encoded in one place.

A household is named by the strongest identifier its records carry, as a tagged string:

- ``M:<户编号>``: the monitoring list's household number (监测户);
- ``A:<户主身份证号>``: the assistance roster's household, by its head's usable ID;
- ``A?:<户主姓名>:<乡镇代码>``: a roster household whose head's ID is unusable;
- ``P:<person_id>``: people in no listed household (one person, or a student with a guardian);
- ``G:<监护人身份证号>``: the matcher only: a student-roll row whose guardian is on no roster lives
  with that guardian, so two such rows naming different guardians are two households.

The matcher and the households stage both build their keys here, so "the same household" means the
same string in both.
"""

from __future__ import annotations

import pandas as pd

from pipeline import schema as S

MONITORED, HEAD, HEAD_NAMED, PERSON, GUARDIAN = "M:", "A:", "A?:", "P:", "G:"
# Natural keys (``match.prepare.natural_keys``) are persisted in the state folder's person_keys and
# were first written with ``H:`` for a monitored household: that spelling is frozen there, or every
# person keyed by name and household would get a new ID.
_NATURAL_MONITORED = "H:"


def _tagged(tag: str, values: pd.Series) -> pd.Series:
    return (tag + values.astype("object")).where(values.notna(), None)


def monitored(household_no: pd.Series) -> pd.Series:
    """``M:<户编号>`` where the number is present, else None.

    >>> monitored(pd.Series(["4108220001", None])).tolist()
    ['M:4108220001', None]
    """
    return _tagged(MONITORED, household_no)


def of_head(usable_ids: pd.Series) -> pd.Series:
    """``A:<ID>`` for IDs already known usable."""
    return _tagged(HEAD, usable_ids)


def headed(head_id: pd.Series, head_id_status: pd.Series) -> pd.Series:
    """``A:<户主身份证号>`` where the head's ID is usable (valid or upgraded), else None."""
    usable = head_id_status.isin([s.value for s in S.USABLE_ID])
    return of_head(head_id).where(usable, None)


def head_named(head_name: pd.Series, township_code: pd.Series) -> pd.Series:
    """``A?:<户主姓名>:<乡镇代码>``: a roster household whose head has no usable ID."""
    return HEAD_NAMED + head_name.astype("object") + ":" + township_code.astype("object")


def person(person_id: str) -> str:
    return f"{PERSON}{person_id}"


def is_monitored(keys: pd.Series) -> pd.Series:
    return keys.fillna("").str.startswith(MONITORED)


def is_headed(keys: pd.Series) -> pd.Series:
    """True for ``A:`` keys (a head's usable ID), not for ``A?:`` ones."""
    return keys.fillna("").str.startswith(HEAD)


def head_id(keys: pd.Series) -> pd.Series:
    """The head's ID inside ``A:`` keys.

    >>> head_id(pd.Series(["A:11010519491231002X"])).tolist()
    ['11010519491231002X']
    """
    return keys.str.slice(len(HEAD))


def in_natural_key(keys: pd.Series) -> pd.Series:
    """A household key as spelled inside a persisted natural key (see ``_NATURAL_MONITORED``)."""
    return keys.where(~is_monitored(keys), _NATURAL_MONITORED + keys.str.slice(len(MONITORED)))
