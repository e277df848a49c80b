"""``active-discovery portal`` and ``active-discovery user …``: start the portal, manage accounts.

A password is never a command-line argument (it would sit in the shell history and in ``ps``): it
is asked for twice at the prompt, or read from standard input with ``--password-stdin`` (scripts).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from pipeline.settings import Settings
from portal.accounts import ROLE_LABELS, ROLES, AccountError, Accounts, check_codes
from portal.settings import PortalSettings, default_users_file


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("portal", help="start the township portal (web pages for townships, counties, city)")
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: behind nginx)"
    )
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--out", default=None, help="published reports folder (default: AD_OUT or reports)")
    p.add_argument("--state", default=None, help="state folder (default: AD_STATE or data/state)")
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")

    u = sub.add_parser("user", help="manage portal accounts (users file: AD_PORTAL_USERS or <state>/portal)")
    u.add_argument("--state", default=None, help="state folder (default: AD_STATE or data/state)")
    us = u.add_subparsers(dest="action", required=True)
    add = us.add_parser("add", help="create an account (the password is asked for)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument(
        "--code", nargs="+", default=[], help="township codes (township role) or county codes (county role)"
    )
    add.add_argument("--display", default="", help="name shown on the pages, e.g. 武德镇民政办")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    pw = us.add_parser("passwd", help="set a new password (asked for)")
    pw.add_argument("name")
    pw.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    for action, text in (
        ("disable", "disable an account (its open sessions end)"),
        ("enable", "enable a disabled account"),
        ("unlock", "lift a lockout after wrong passwords"),
    ):
        us.add_parser(action, help=text).add_argument("name")
    us.add_parser("list", help="list the accounts (no hashes)")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise AccountError("the two passwords differ")
    return first


def user_command(a: argparse.Namespace) -> int:
    settings = Settings.build(state=a.state)
    accounts = Accounts(default_users_file(settings))
    try:
        if a.action == "add":
            from pipeline.config import RunConfig

            codes = check_codes(a.role, a.code, RunConfig.load(settings).townships)
            accounts.add(a.name, a.role, codes, _password(a.password_stdin), a.display)
            sys.stdout.write(f"added {a.name} ({a.role}) to {accounts.path}\n")
        elif a.action == "passwd":
            accounts.passwd(a.name, _password(a.password_stdin))
            sys.stdout.write(f"password of {a.name} changed; its open sessions end\n")
        elif a.action in ("disable", "enable"):
            accounts.set_disabled(a.name, a.action == "disable")
            sys.stdout.write(f"{a.name} {a.action}d\n")
        elif a.action == "unlock":
            from pipeline.cases.store import CaseStore
            from portal import access

            if accounts.get(a.name) is None:
                raise AccountError(f"no user {a.name} in {accounts.path}")
            store = CaseStore.for_state(settings.state, settings.database_url)
            try:
                access.record(store, access.UNLOCK, a.name, result="by the user command")
            finally:
                store.dispose()
            sys.stdout.write(f"{a.name} unlocked\n")
        else:
            for u in accounts.users().values():
                state = " (disabled)" if u.disabled else ""
                sys.stdout.write(
                    f"{u.name}\t{ROLE_LABELS[u.role]}\t{','.join(u.codes) or '全部'}\t{u.display}{state}\n"
                )
    except AccountError as e:
        sys.stderr.write(f"active-discovery user: {e}\n")
        return 3
    return 0


def portal_command(a: argparse.Namespace) -> int:
    import uvicorn

    settings = PortalSettings.load(Settings.build(out=a.out, state=a.state))
    if not Accounts(settings.users_file).users():
        sys.stderr.write(
            f"active-discovery portal: no accounts in {settings.users_file}: create the first with\n"
            "  active-discovery user add admin --role admin\n"
        )
        return 3
    # The worker processes rebuild the app from these (uvicorn imports the factory by name).
    os.environ["AD_OUT"], os.environ["AD_STATE"] = str(settings.pipeline.out), str(settings.pipeline.state)
    uvicorn.run(
        "portal.server:app",
        factory=True,
        host=a.host,
        port=a.port,
        workers=a.workers,
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
        log_level="info",
    )
    return 0
