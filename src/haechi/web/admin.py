"""Account management for admins: list, add with a role, disable or enable, and API keys with
scopes (the token is shown once, on the page that made it, and stored only hashed). The same
service functions as `haechi users`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from haechi.services.persons import list_persons
from haechi.services.users import SCOPES, UserView, add_api_key, add_user, list_users, set_disabled
from haechi.store.users import ROLES
from haechi.web.access import Principal, require
from haechi.web.render import page

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["admin"])
Admin = Annotated[Principal, Depends(require("admin"))]
KeyAdmin = Annotated[Principal, Depends(require("admin", scopes=("admin",)))]
Json = dict[str, Any]


def _user_json(u: UserView) -> Json:
    return {
        "name": u.name,
        "role": u.role,
        "person": u.person,
        "disabled": u.disabled,
        "created_at": u.created_at.isoformat(),
    }


def _users_page(request: Request, who: Principal, **extra: Any) -> Response:
    db = request.app.state.db
    return page(
        request,
        "users.html",
        who,
        users=list_users(db),
        roles=ROLES,
        scopes=SCOPES,
        persons=[p.alias for p in list_persons(db)],
        **({"new_key": None, "key_for": None, "added": None} | extra),
    )


@router.get("/admin/users")
def users(request: Request, who: Admin) -> Response:
    """The account list page, with forms to add, disable and issue keys (admins only)."""
    return _users_page(request, who)


@router.post("/admin/users")
def users_add(
    request: Request,
    who: Admin,
    csrf: Annotated[str, Form(max_length=128)],
    name: Annotated[str, Form(max_length=128)],
    role: Annotated[str, Form(max_length=16)],
    password: Annotated[str, Form(max_length=1024)],
    person: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Add an account from the form (admins only); a person alias is kept only for the victim role.
    A bad or taken name is refused with a message saying why."""
    u = add_user(
        request.app.state.db,
        name,
        role,
        password,
        person=(person or None) if role == "victim" else None,
    )
    return _users_page(request, who, added=u.name)


@router.post("/admin/users/{name}/disable")
def users_disable(
    request: Request,
    who: Admin,
    name: str,
    csrf: Annotated[str, Form(max_length=128)],
    disabled: Annotated[Literal["yes", "no"], Form()],
) -> Response:
    """Disable or enable an account (admins only). Disabling ends its sessions and revokes its API
    keys for good: enabling it again does not bring them back."""
    set_disabled(request.app.state.db, name, disabled == "yes")
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{name}/keys")
def users_key(
    request: Request,
    who: Admin,
    name: str,
    csrf: Annotated[str, Form(max_length=128)],
    scope: Annotated[list[str], Form(max_length=16)],
) -> Response:
    """Issue an API key with the ticked scopes for an account (admins only) and show its token on
    this page, once."""
    token = add_api_key(request.app.state.db, name, scope)
    # Shown once, here; the database keeps only its SHA-256.
    return _users_page(request, who, new_key=token, key_for=name)


class NewUser(BaseModel):
    """An account to add through the API; `person` links a victim account to her enrolled alias."""

    name: str = Field(max_length=128)
    role: Literal["admin", "counsellor", "investigator", "victim"]
    password: str = Field(max_length=1024)
    person: str | None = Field(default=None, max_length=128, description="a victim's alias")


class Disable(BaseModel):
    """Disable (true) or enable (false) an account."""

    disabled: bool = True


class NewKey(BaseModel):
    """The scopes of a new API key (at least one)."""

    scopes: list[str] = Field(min_length=1, max_length=len(SCOPES))


@api.get("/users")
def api_users(request: Request, who: KeyAdmin) -> Json:
    """Every account with its role, linked person and whether it is disabled; never a password hash
    or key. Admin keys and sessions only."""
    return {"items": [_user_json(u) for u in list_users(request.app.state.db)]}


@api.post("/users", status_code=201)
def api_users_add(request: Request, who: KeyAdmin, body: NewUser) -> Json:
    """Add an account; answers the account as stored (201). Admin keys and sessions only."""
    u = add_user(request.app.state.db, body.name, body.role, body.password, person=body.person)
    return _user_json(u)


@api.post("/users/{name}/disable")
def api_users_disable(request: Request, who: KeyAdmin, name: str, body: Disable) -> Json:
    """Disable or enable an account; answers the account as it now stands. Admin keys and sessions
    only."""
    return _user_json(set_disabled(request.app.state.db, name, body.disabled))


@api.post("/users/{name}/keys", status_code=201)
def api_users_key(request: Request, who: KeyAdmin, name: str, body: NewKey) -> Json:
    """A new API key; the token is in this answer only."""
    return {
        "name": name,
        "scopes": sorted(body.scopes),
        "key": add_api_key(request.app.state.db, name, body.scopes),
    }
