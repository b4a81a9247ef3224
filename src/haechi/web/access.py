"""Who may call which route, declared on the route itself.

Every route depends on exactly one `require(...)` rule (or gets one from the router it is
included with: `app.include_router(r, dependencies=[Depends(require(scopes=("hma",)))])`).
A rule names the roles that may use it with a browser session and the scopes that let an API
key use it; `public=True` lets anyone in. tests/test_web_access.py reads the rules from the
app's own route table, so a route without one fails the suite.

Who is asking comes from an `Authorization: Bearer hk_…` API key or the session cookie. A
session that changes something must also present its CSRF token (form field `csrf` or header
`X-CSRF-Token`); API keys carry no cookie, so forged cross-site requests cannot use them."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.routing import iter_route_contexts

from haechi.i18n import _
from haechi.services.users import KeyView, SessionView, UserView, key_user, session_user
from haechi.store.db import Database

SESSION_COOKIE = "haechi_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALL_ROLES = ("admin", "counsellor", "investigator", "victim")
STAFF = ("admin", "counsellor", "investigator")
# Who may see media flagged as a possible minor (blurred only; never unblurred in the app).
MINOR_ROLES = frozenset({"admin", "investigator"})


class NotAuthenticatedError(Exception):
    """No valid session or key: pages send the browser to /login, the API answers 401."""


class ForbiddenError(Exception):
    """The caller is known but this rule does not admit them (or the CSRF token is wrong): 403, with
    `detail` worded for a person."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


@dataclass(frozen=True)
class Principal:
    """Who is making one request: the account, whether it came by session cookie or API key, the
    key's scopes or the session's CSRF token."""

    user: UserView
    via: Literal["session", "key"]
    scopes: frozenset[str] = frozenset()
    csrf: str | None = None
    token: str | None = None  # the session token, to end it at logout

    @property
    def role(self) -> str:
        """The account's role (admin, counsellor, investigator or victim)."""
        return self.user.role

    @property
    def actor(self) -> str:
        """The name the custody log and case timelines record for this account's actions."""
        return f"web:{self.user.name}"

    @property
    def may_see_minor(self) -> bool:
        """Whether this account may see (blurred) media flagged as a possible minor: admins and
        investigators only."""
        return self.role in MINOR_ROLES


@dataclass(frozen=True)
class Rule:
    """One route's access rule: the roles a session needs, or the scopes an API key needs; `public`
    admits anyone."""

    roles: frozenset[str]
    scopes: frozenset[str]
    public: bool = False

    def allows(self, who: Principal | None) -> bool:
        """True if `who` may pass: a key by a shared scope, a session by its role; nobody (None)
        only through a public rule."""
        if self.public:
            return True
        if who is None:
            return False
        if who.via == "key":
            return bool(self.scopes & who.scopes)
        return who.role in self.roles


RuleDependency = Callable[[Request], Principal | None]


def require(*roles: str, scopes: tuple[str, ...] = (), public: bool = False) -> RuleDependency:
    """The dependency that enforces a rule; FastAPI passes the caller to the route."""
    unknown = set(roles) - set(ALL_ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    rule = Rule(frozenset(roles), frozenset(scopes), public)

    def check(request: Request) -> Principal | None:
        who = principal(request)
        if rule.public:
            return who
        if who is None:
            raise NotAuthenticatedError()
        if not rule.allows(who):
            raise ForbiddenError(_("this account may not use this page or operation"))
        if who.via == "session" and request.method not in SAFE_METHODS:
            _check_csrf(request, who)
        return who

    check.__haechi_rule__ = rule  # type: ignore[attr-defined]
    return check


def rule_of(dependency: object) -> Rule | None:
    """The Rule a dependency made by `require` enforces, or None for any other dependency."""
    rule = getattr(dependency, "__haechi_rule__", None)
    return rule if isinstance(rule, Rule) else None


def principal(request: Request) -> Principal | None:
    """The caller, resolved once per request."""
    if hasattr(request.state, "principal"):
        who: Principal | None = request.state.principal
        return who
    db: Database = request.app.state.db
    who = None
    auth = request.headers.get("authorization", "")
    if auth:
        scheme, _, token = auth.partition(" ")
        key: KeyView | None = None
        if scheme.lower() == "bearer" and token.strip():
            key = key_user(db, token.strip())
        if key is not None:
            who = Principal(key.user, "key", key.scopes)
    else:
        token = request.cookies.get(SESSION_COOKIE, "")
        view: SessionView | None = None
        if token:
            view = session_user(db, request.app.state.settings, token)
        if view is not None:
            who = Principal(view.user, "session", csrf=view.csrf, token=token)
    request.state.principal = who
    return who


def _check_csrf(request: Request, who: Principal) -> None:
    sent = request.headers.get(CSRF_HEADER) or _form_token(request)
    if not sent or who.csrf is None or not hmac.compare_digest(sent, who.csrf):
        raise ForbiddenError(
            _("the form is out of date or did not come from this site; reload the page")
        )


def _form_token(request: Request) -> str:
    # FastAPI has parsed (and cached) the form before dependencies run when the route takes
    # form fields; a route without any has none to carry the token.
    form = getattr(request, "_form", None)
    value = form.get("csrf") if form is not None else None
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class RouteRule:
    """One route of the app (path and methods) with every rule it depends on, for the access tests
    and the startup check."""

    path: str
    methods: frozenset[str]
    rules: tuple[Rule, ...]

    def allows(self, who: Principal | None) -> bool:
        """True only if every rule on the route admits `who`."""
        return all(r.allows(who) for r in self.rules)


def route_rules(app: FastAPI) -> list[RouteRule]:
    """Every route of the app with the rules it depends on (from the route, its router and
    the app), read from FastAPI's own route table."""
    found = []
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        path = route.path
        if path is None:
            continue
        rules: list[Rule] = []
        stack = [dependant] if dependant is not None else []
        while stack:
            d = stack.pop()
            rule = rule_of(d.call)
            if rule is not None:
                rules.append(rule)
            stack.extend(d.dependencies)
        found.append(RouteRule(path, frozenset(route.methods or ()), tuple(rules)))
    return found


def check_every_route_has_a_rule(app: FastAPI) -> None:
    """Refuse to build an app with a route nobody decided the access to."""
    missing = [f"{sorted(r.methods)} {r.path}" for r in route_rules(app) if not r.rules]
    if missing:
        raise RuntimeError(f"routes without an access rule (haechi.web.access): {missing}")
