"""Operator accounts of the Firebase sign-in mode (OPERATOR_AUTH=firebase): who may act on the desk.

    python -m scripts.operators create EMAIL      # a new email/password account (password from OPERATOR_PASSWORD
                                                  # or asked for); no grant yet
    python -m scripts.operators grant EMAIL       # custom claim operator: true (signs in from the next sign-in)
    python -m scripts.operators revoke EMAIL      # claim removed AND every session revoked: locked out on the
                                                  # very next request
    python -m scripts.operators list              # every account, with its grant and second factors
    python -m scripts.operators remove-mfa EMAIL  # a lost authenticator app: every second factor removed AND
                                                  # every session revoked; the next sign-in asks to add one
                                                  # again where operator_mfa is MANDATORY

`grant` also marks the account's email verified: the administrator vouches for the address (nobody here sends
verification mail), and Identity Platform adds a second factor (TOTP) only for a verified address.

The project comes from FIREBASE_PROJECT_ID / GOOGLE_CLOUD_PROJECT (or --project); credentials are the
Application Default Credentials of whoever runs it (deploy/README.md, "The first operator"). On the local stack
FIREBASE_AUTH_EMULATOR_HOST points it at the emulator (`make run` prints the line to export).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from shared.web.firebase_auth import EMULATOR_ENV, OPERATOR_CLAIM, PROJECT_ENV

MIN_PASSWORD_CHARS = 12


class OperatorsError(Exception):
    """What the command refuses, said to the administrator."""


def _app(project: str | None) -> tuple[Any, Any]:
    import firebase_admin  # here: `--help` needs no SDK
    from firebase_admin import auth

    project = project or os.environ.get(PROJECT_ENV) or os.environ.get("GOOGLE_CLOUD_PROJECT")
    if not project:
        raise OperatorsError(f"no project: pass --project or set {PROJECT_ENV}")
    try:
        app = firebase_admin.get_app("operators-cli")
    except ValueError:
        app = firebase_admin.initialize_app(options={"projectId": project}, name="operators-cli")
    return auth, app


def _user(auth: Any, app: Any, email: str) -> Any:
    try:
        return auth.get_user_by_email(email, app=app)
    except auth.UserNotFoundError as exc:
        raise OperatorsError(f"no account with email {email}: create it first "
                             f"(python -m scripts.operators create {email})") from exc


def create(email: str, password: str, project: str | None = None) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise OperatorsError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
    auth, app = _app(project)
    try:
        user = auth.create_user(email=email, password=password, app=app)
    except auth.EmailAlreadyExistsError as exc:
        raise OperatorsError(f"an account with email {email} already exists") from exc
    except ValueError as exc:
        raise OperatorsError(f"refused: {exc}") from exc
    return str(user.uid)


def grant(email: str, project: str | None = None) -> str:
    auth, app = _app(project)
    user = _user(auth, app, email)
    claims = dict(user.custom_claims or {})
    claims[OPERATOR_CLAIM] = True
    auth.set_custom_user_claims(user.uid, claims, app=app)
    if not user.email_verified:
        auth.update_user(user.uid, email_verified=True, app=app)
    return str(user.uid)


def second_factors(user: Any) -> list[dict[str, Any]]:
    """An account's enrolled second factors as Identity Toolkit lists them (`mfaInfo`: id, display name, kind,
    enrolment time; never a shared secret, which the API does not return). firebase-admin 7.7 has no multi-factor
    API for Python: the raw account record holds them."""
    raw = getattr(user, "_data", None)
    factors = raw.get("mfaInfo") if isinstance(raw, dict) else None
    return [factor for factor in factors or [] if isinstance(factor, dict)]


def _factor_kind(factor: dict[str, Any]) -> str:
    return "totp" if "totpInfo" in factor else "phone" if "phoneInfo" in factor else "other"


def remove_mfa(email: str, project: str | None = None) -> tuple[str, list[str]]:
    """Every second factor of the account removed (accounts:update with an empty `mfa`, the Identity Toolkit
    admin call firebase-admin for Python does not wrap) and its sessions revoked; returns the uid and the kinds
    removed."""
    auth, app = _app(project)
    user = _user(auth, app, email)
    removed = [_factor_kind(factor) for factor in second_factors(user)]
    # private parts of the pinned firebase-admin (7.7): it has no public multi-factor call for Python
    manager = auth._get_client(app)._user_manager
    manager._make_request("post", "/accounts:update", json={"localId": user.uid, "mfa": {}})
    # a session signed in with the lost app must not outlive it
    auth.revoke_refresh_tokens(user.uid, app=app)
    return str(user.uid), removed


def revoke(email: str, project: str | None = None) -> str:
    auth, app = _app(project)
    user = _user(auth, app, email)
    claims = {k: v for k, v in (user.custom_claims or {}).items() if k != OPERATOR_CLAIM}
    auth.set_custom_user_claims(user.uid, claims or None, app=app)
    # the claim lives in the cookie until it expires: revoking the sessions is what locks the operator out now
    auth.revoke_refresh_tokens(user.uid, app=app)
    return str(user.uid)


def list_accounts(project: str | None = None) -> list[dict[str, Any]]:
    auth, app = _app(project)
    return [
        {"email": user.email, "uid": user.uid, "operator": (user.custom_claims or {}).get(OPERATOR_CLAIM) is True,
         "disabled": user.disabled, "second_factors": [_factor_kind(factor) for factor in second_factors(user)]}
        for user in auth.list_users(app=app).iterate_all()
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.operators", description=__doc__.splitlines()[0])
    parser.add_argument("--project", help=f"Firebase project id (default: {PROJECT_ENV} or GOOGLE_CLOUD_PROJECT)")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("create", "grant", "revoke", "remove-mfa"):
        commands.add_parser(name).add_argument("email")
    commands.add_parser("list")
    args = parser.parse_args(argv)
    where = f" (emulator {os.environ[EMULATOR_ENV]})" if os.environ.get(EMULATOR_ENV) else ""
    try:
        if args.command == "create":
            password = os.environ.get("OPERATOR_PASSWORD") or getpass.getpass(f"password for {args.email}: ")
            uid = create(args.email, password, args.project)
            print(f"created {args.email} (uid {uid}){where}; not an operator until: grant {args.email}")
        elif args.command == "grant":
            uid = grant(args.email, args.project)
            print(f"{args.email} (uid {uid}) is an operator{where}; it takes effect at the next sign-in")
        elif args.command == "remove-mfa":
            uid, removed = remove_mfa(args.email, args.project)
            print(f"{args.email} (uid {uid}): {len(removed)} second factor(s) removed"
                  f"{' (' + ', '.join(removed) + ')' if removed else ''}{where}; its sessions are revoked")
        elif args.command == "revoke":
            uid = revoke(args.email, args.project)
            print(f"{args.email} (uid {uid}) is no longer an operator{where}; its sessions are revoked")
        else:
            for row in list_accounts(args.project):
                flags = ("operator" if row["operator"] else "-") + (" disabled" if row["disabled"] else "") + \
                    "".join(f" 2fa:{kind}" for kind in row["second_factors"])
                print(f"{row['email'] or '(no email)':40} {row['uid']:30} {flags}")
    except OperatorsError as exc:
        print(f"operators: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
