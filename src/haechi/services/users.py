"""Web accounts: add, list and disable users; check a password (throttled per account and
address); start, find and end sessions; issue and check API keys.

Passwords are hashed with argon2id; session and key tokens are random and stored only as
SHA-256. Nothing here knows about HTTP: the web layer passes the client's address and carries
the tokens in cookies and headers."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from haechi.config import Settings
from haechi.errors import AccessError, InputError, NotFoundError, ThrottledError
from haechi.i18n import _
from haechi.store.db import Database
from haechi.store.persons import Person
from haechi.store.users import ROLES, ApiKey, LoginFailure, User, WebSession

if TYPE_CHECKING:
    from collections.abc import Sequence

    from haechi.persons.enrol import EnrolResult, Upload
    from haechi.persons.forget import ForgetResult

STAFF = ("admin", "counsellor", "investigator")
# What an API key may be allowed to do, and which roles may hold a key with that scope.
SCOPES: dict[str, tuple[str, ...]] = {
    "read": STAFF,  # dashboard, cases, rooms, the review queue (blurred)
    "review": STAFF,  # review actions and reveals
    "takedown": STAFF,  # draft, approve, mark and recheck takedown requests
    "persons": ("admin", "counsellor"),
    "evidence": ("admin", "investigator"),  # evidence packages
    "hma": ("admin", "investigator"),  # the hash-lookup API (HMA-compatible)
    "admin": ("admin",),
}
MIN_PASSWORD = 10
TOKEN_PREFIX = "hk_"  # API keys start with this, so a leaked one is easy to recognise

# Each server process remembers a key it has checked for this long, so that the lookup API's
# hot path does not pay two queries per request for its key. Disabling an account clears this
# process's memory at once; the other processes of `serve --processes N` forget within this time.
KEY_MEMORY_SECONDS = 2.0
_KEY_MEMORY_SIZE = 4096  # keys remembered; more are forgotten all at once (a bound, not an LRU)
_known_keys: dict[tuple[str, str], tuple[float, KeyView]] = {}  # (database, sha) -> (until, key)
_known_keys_lock = threading.Lock()

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile
# Checked when the account does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


@dataclass(frozen=True)
class UserView:
    """One web account as the admin pages show it; never its password hash."""

    id: int
    name: str
    role: str
    person: str | None  # a victim's enrolled alias
    disabled: bool
    created_at: datetime


@dataclass(frozen=True)
class SessionView:
    """A live browser session: its account, the CSRF token its forms must carry and when it
    ends at the latest."""

    user: UserView
    csrf: str
    expires_at: datetime


@dataclass(frozen=True)
class KeyView:
    """The account behind an API key, and the scopes the key grants."""

    user: UserView
    scopes: frozenset[str]


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _view(s: Session, u: User) -> UserView:
    alias = s.scalar(select(Person.alias).where(Person.id == u.person_id)) if u.person_id else None
    return UserView(u.id, u.name, u.role, alias, u.disabled, _utc(u.created_at))


def _user(s: Session, name: str) -> User:
    user = s.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFoundError(_("no user {name!r}: `haechi users list` shows them").format(name=name))
    return user


def add_user(
    db: Database, name: str, role: str, password: str, *, person: str | None = None
) -> UserView:
    """A new account. A victim's account names her enrolled alias (she sees only that), or
    none yet: she then enrols herself (`enrol_self`)."""
    name = name.strip()
    if not name or len(name) > 128 or any(c.isspace() or not c.isprintable() for c in name):
        raise InputError(_("a user name is 1-128 printable characters without spaces"))
    if role not in ROLES:
        raise InputError(
            _("unknown role {role!r}: one of {roles}").format(role=role, roles=", ".join(ROLES))
        )
    if len(password) < MIN_PASSWORD:
        raise InputError(
            _("the password is too short: at least {min_password} characters").format(
                min_password=MIN_PASSWORD
            )
        )
    # A victim's account without --person is for her to enrol herself in the browser.
    if role != "victim" and person is not None:
        raise InputError(_("only a victim's account names a person (--person ALIAS)"))
    with db.session() as s:
        if s.scalar(select(User.id).where(User.name == name)) is not None:
            raise InputError(_("user {name!r} exists already").format(name=name))
        person_id = None
        if person is not None:
            person_id = s.scalar(select(Person.id).where(Person.alias == person))
            if person_id is None:
                raise NotFoundError(
                    _("{person!r} is not enrolled: `haechi persons` lists who is").format(
                        person=person
                    )
                )
        user = User(name=name, role=role, password_hash=_hasher.hash(password), person_id=person_id)
        s.add(user)
        s.flush()
        return _view(s, user)


def list_users(db: Database) -> list[UserView]:
    """Every account, by name, disabled ones included."""
    with db.session() as s:
        return [_view(s, u) for u in s.scalars(select(User).order_by(User.name))]


def set_disabled(db: Database, name: str, disabled: bool = True) -> UserView:
    """Disable (or enable again) an account; disabling ends its sessions and API keys at once
    (in other server processes within KEY_MEMORY_SECONDS)."""
    with db.session() as s:
        user = _user(s, name)
        user.disabled = disabled
        if disabled:
            s.execute(delete(WebSession).where(WebSession.user_id == user.id))
            s.execute(update(ApiKey).where(ApiKey.user_id == user.id).values(disabled=True))
        view = _view(s, user)
    forget_known_keys()
    return view


def forget_known_keys() -> None:
    """Drop every key this process remembers: the next request of each is checked again."""
    with _known_keys_lock:
        _known_keys.clear()


def authenticate(
    db: Database, settings: Settings, name: str, password: str, address: str
) -> UserView:
    """The account, if the password is right. After `login_max_failures` failures for this
    name from this address, every attempt (right or wrong) is refused until the lock passes,
    so guessing is slow without locking the owner out from elsewhere."""
    web = settings.web
    key = f"{name.strip().lower()[:128]}|{address[:180]}"
    now = datetime.now(UTC)
    lock = timedelta(minutes=web.login_lock_minutes)
    with db.session() as s:
        failure = s.get(LoginFailure, key)
        if failure is not None and _utc(failure.last_at) + lock <= now:
            s.delete(failure)
            s.flush()
            failure = None
        if failure is not None and failure.count >= web.login_max_failures:
            wait = int((_utc(failure.last_at) + lock - now).total_seconds()) + 1
            raise ThrottledError(
                _("too many failed logins for this account: try again in {wait} minutes").format(
                    wait=wait // 60 + 1
                ),
                wait,
            )
        user = s.scalar(select(User).where(User.name == name.strip()))
        if _verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None:
            if user.disabled:
                raise AccessError(_("this account is disabled"))
            if failure is not None:
                s.delete(failure)
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = _hasher.hash(password)
            return _view(s, user)
        if failure is None:
            # Old failures of other pairs go here, so guessing many names cannot grow the table.
            s.execute(delete(LoginFailure).where(LoginFailure.last_at < now - lock))
            failure = LoginFailure(key=key, count=0)
            s.add(failure)
        failure.count += 1
        failure.last_at = now
    raise AccessError(_("wrong user name or password"))


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def start_session(db: Database, settings: Settings, user_id: int) -> tuple[str, SessionView]:
    """A new session: returns the token for the cookie (stored only as its SHA-256)."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with db.session() as s:
        # Sessions that ended without a logout are removed as new ones begin.
        s.execute(
            delete(WebSession).where(
                (WebSession.expires_at <= now)
                | (
                    WebSession.last_seen
                    <= now - timedelta(minutes=settings.web.session_idle_minutes)
                )
            )
        )
        row = WebSession(
            token_sha256=_sha(token),
            user_id=user_id,
            csrf=secrets.token_urlsafe(32),
            created_at=now,
            last_seen=now,
            expires_at=now + timedelta(hours=settings.web.session_hours),
        )
        s.add(row)
        user = s.get(User, user_id)
        assert user is not None
        return token, SessionView(_view(s, user), row.csrf, row.expires_at)


def session_user(db: Database, settings: Settings, token: str) -> SessionView | None:
    """The session's account, or None when the token is unknown, expired (absolutely or after
    `session_idle_minutes` without use) or its account disabled. Each use extends the idle
    window."""
    now = datetime.now(UTC)
    idle = timedelta(minutes=settings.web.session_idle_minutes)
    with db.session() as s:
        row = s.get(WebSession, _sha(token))
        if row is None:
            return None
        user = s.get(User, row.user_id)
        if (
            user is None
            or user.disabled
            or _utc(row.expires_at) <= now
            or _utc(row.last_seen) + idle <= now
        ):
            s.delete(row)
            return None
        # Written at most once a minute: a page with many images would otherwise write per image.
        if now - _utc(row.last_seen) > timedelta(minutes=1):
            row.last_seen = now
        return SessionView(_view(s, user), row.csrf, _utc(row.expires_at))


def end_session(db: Database, token: str) -> None:
    """End a browser session (logging out); an unknown token is not an error."""
    with db.session() as s:
        s.execute(delete(WebSession).where(WebSession.token_sha256 == _sha(token)))


def add_api_key(db: Database, name: str, scopes: list[str]) -> str:
    """A new API key for the account `name`; the token is shown once and stored hashed."""
    if not scopes:
        raise InputError(_("name at least one scope: {scopes}").format(scopes=", ".join(SCOPES)))
    with db.session() as s:
        user = _user(s, name)
        for scope in scopes:
            if scope not in SCOPES:
                raise InputError(
                    _("unknown scope {scope!r}: one of {scopes}").format(
                        scope=scope, scopes=", ".join(SCOPES)
                    )
                )
            if user.role not in SCOPES[scope]:
                raise InputError(
                    _("a {role} account may not hold the scope {scope!r} (only {scopes})").format(
                        role=user.role, scope=scope, scopes=", ".join(SCOPES[scope])
                    )
                )
        if user.disabled:
            raise InputError(_("user {name!r} is disabled").format(name=name))
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        s.add(ApiKey(user_id=user.id, token_sha256=_sha(token), scopes=sorted(set(scopes))))
        return token


def key_user(db: Database, token: str) -> KeyView | None:
    """The account and scopes of an API key, or None for an unknown or disabled key (or a
    disabled account). A valid key is remembered for KEY_MEMORY_SECONDS; an unknown one never,
    so a key made in another process works at once and guessing fills no memory."""
    slot = (db.url, _sha(token))
    now = time.monotonic()
    known = _known_keys.get(slot)
    if known is not None and known[0] > now:
        return known[1]
    view = _key_user(db, slot[1])
    with _known_keys_lock:
        if view is None:
            _known_keys.pop(slot, None)
        else:
            if len(_known_keys) >= _KEY_MEMORY_SIZE:
                _known_keys.clear()
            _known_keys[slot] = (now + KEY_MEMORY_SECONDS, view)
    return view


def _key_user(db: Database, digest: str) -> KeyView | None:
    with db.session() as s:
        key = s.scalar(select(ApiKey).where(ApiKey.token_sha256 == digest))
        if key is None or key.disabled:
            return None
        user = s.get(User, key.user_id)
        if user is None or user.disabled:
            return None
        return KeyView(_view(s, user), frozenset(key.scopes))


def erase_self(db: Database, settings: Settings, name: str, confirm: str) -> ForgetResult:
    """A victim erases herself through her account, as `haechi forget` erases a person; the
    account is disabled after (its sessions end with it), since nothing is left to show her."""
    from haechi.persons.forget import forget

    with db.session() as s:
        user = _user(s, name)
        view = _view(s, user)
    if view.role != "victim" or view.person is None:
        raise InputError(_("there is nothing stored about this account to erase"))
    if confirm.strip() != view.person:
        raise InputError(_("type your name exactly as shown to confirm the erasure"))
    result = forget(db, settings, view.person)
    set_disabled(db, name)
    return result


def enrol_self(
    db: Database,
    settings: Settings,
    name: str,
    alias: str,
    consent: str,
    photos: Sequence[Upload],
) -> EnrolResult:
    """A victim enrols herself through her account, with her consent in her own words: the same
    enrolment as `haechi enrol` (photos become templates and are never kept), and her account
    then names the new record. Already enrolled, she adds photos under her recorded consent."""
    from haechi.persons.enrol import Consent, add_to_person, enrol

    with db.session() as s:
        view = _view(s, _user(s, name))
    if view.role != "victim":
        raise InputError(_("only a victim's own account enrols itself"))
    if view.person is not None:
        return add_to_person(db, settings, view.person, photos)
    result = enrol(
        db,
        settings,
        alias,
        Consent(
            text=consent,
            consented_by=alias.strip(),
            for_whom=alias.strip(),
            scope="match faces and own-media hashes in scanned material",
            verified_how=f"self-service: web account {view.name}",
        ),
        photos,
    )
    with db.session() as s:
        _user(s, name).person_id = result.person_id
    return result
