"""Who may see what. Every page, file and case the portal serves is checked here, and nowhere else.

Places are codes: a township ``410825105``, a county ``410825``, and a county's list of warnings
with no township, ``410825000`` (未确定乡镇: the county routes those). A township account sees its
townships; a county account its counties' townships and 未确定 lists; analysts and admins all.

>>> from portal.accounts import User
>>> t = User("wd", "township", ("410825105",), "武德镇", "h")
>>> c = User("wx", "county", ("410825",), "温县", "h")
>>> may_see(t, "410825105"), may_see(t, "410825106"), may_see(t, "410825000"), may_see(t, "410825")
(True, False, False, False)
>>> may_see(c, "410825105"), may_see(c, "410825000"), may_see(c, "410825"), may_see(c, "410822001")
(True, True, True, False)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from portal.accounts import ADMIN, ANALYST, COUNTY, TOWNSHIP, User

TOWNSHIP_CODE = re.compile(r"\d{9}")
COUNTY_CODE = re.compile(r"\d{6}")
UNPLACED = "000"  # the last three digits of a county's 未确定乡镇 list


def is_city(user: User) -> bool:
    """Analysts and admins: every place, the city pages, the audit trail."""
    return user.role in (ANALYST, ADMIN)


def may_see(user: User, code: str) -> bool:
    """Whether ``user`` may see the place ``code`` (township, county or county 未确定 list)."""
    if not (TOWNSHIP_CODE.fullmatch(code) or COUNTY_CODE.fullmatch(code)):
        return False
    if is_city(user):
        return True
    if user.role == TOWNSHIP:
        return code in user.codes
    if user.role == COUNTY:
        return code[:6] in user.codes
    return False


def sees_full_id(user: User) -> bool:
    """Township staff visit the person and need the whole ID number; everyone else sees it masked."""
    return user.role == TOWNSHIP


def book_of_case(case: Mapping[str, Any]) -> str | None:
    """The workbook a case is listed in: its routed township, else its township, else its county's
    未确定 list (the same rule the importer and the night use)."""
    for key in ("routed_township_code", "township_code"):
        v = case.get(key)
        if isinstance(v, str) and v:
            return v
    county = case.get("county_code")
    return f"{county}{UNPLACED}" if isinstance(county, str) and county else None


def may_see_case(user: User, case: Mapping[str, Any]) -> bool:
    code = book_of_case(case)
    return is_city(user) if code is None else may_see(user, code)


def home(user: User) -> str:
    """Where a user lands after login."""
    if is_city(user):
        return "/city"
    if user.role == COUNTY:
        return f"/county/{user.codes[0]}"
    return f"/t/{user.codes[0]}"


__all__ = ["book_of_case", "home", "is_city", "may_see", "may_see_case", "sees_full_id"]
