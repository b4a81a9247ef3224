"""`haechi serve`: the web app and REST API (FastAPI on uvicorn)."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

import typer

from haechi.cli.app import app, err, out, state
from haechi.errors import ConfigError
from haechi.i18n import _


def is_loopback(host: str) -> bool:
    """Whether `host` is "localhost" or a loopback IP; any other name counts as reachable from
    other machines (it is never resolved), so `serve` asks for --public."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command(
    "serve",
    help=_(
        "Serve the web app (log in at /login) and the REST API "
        "(/api/v1, schema at /openapi.json). Listens on loopback "
        "only unless --public is given."
    ),
)
def serve_cmd(
    host: Annotated[str, typer.Option(help=_("Address to listen on."))] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help=_("Port to listen on."))] = 8000,
    public: Annotated[
        bool,
        typer.Option(
            "--public",
            help=_("Allow listening on an address other than loopback (put TLS in front)."),
        ),
    ] = False,
    processes: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help=_(
                "Server processes. More than one serves more requests at once on a machine "
                "with several cores; each process keeps its own copy of the bank index."
            ),
        ),
    ] = 1,
) -> None:
    import os

    import uvicorn

    from haechi.web import create_app

    if not is_loopback(host) and not public:
        raise ConfigError(
            _(
                "{host} is reachable from other machines: add --public, and put a TLS proxy in "
                "front (docs/web.md)"
            ).format(host=host)
        )
    settings = state.settings()
    web_app = create_app(settings, state.db())
    if not is_loopback(host):
        err.print(
            _(
                "Listening beyond this machine. Serve it only through HTTPS: run a TLS proxy "
                "(e.g. Caddy: `caddy reverse-proxy --from haechi.example.org --to {host}:{port}`, "
                "or nginx with proxy_pass) and let only the proxy reach this port."
            ).format(host=host, port=port),
            markup=False,
            highlight=False,
        )
    out.print(
        _("haechi web app on http://{host}:{port}/login (Ctrl+C stops it)").format(
            host=host, port=port
        ),
        markup=False,
        highlight=False,
    )
    if not settings.web.secure_cookies:
        err.print(
            _("warning: cookies are sent without the Secure flag (web.secure_cookies is off)"),
            markup=False,
            highlight=False,
        )
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "proxy_headers": True,
        "forwarded_allow_ips": "127.0.0.1",
        "server_header": False,
        "log_level": "warning",
    }
    if processes == 1:
        uvicorn.run(web_app, **common)
        return
    # Each process imports the app afresh and builds it from the environment: the data
    # directory chosen with --home goes there, the other settings are there already.
    os.environ["HAECHI_HOME"] = str(settings.home_dir)
    uvicorn.run("haechi.web:app_from_environment", factory=True, workers=processes, **common)
