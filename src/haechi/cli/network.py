"""`haechi network`: who created, sold, distributed and viewed each piece of content, as leads
with the messages behind them; exports for Gephi, a picture of one content cluster, and a
dossier per account."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table
from rich.text import Text

from haechi.cli.app import add_row, app, err, esc, out, print_json, state
from haechi.errors import InputError, NotFoundError
from haechi.i18n import _
from haechi.network.dossier import dossier as make_dossier
from haechi.network.model import NOTICE_EN, NOTICE_KO, ROLE_LABELS, ROLES, Network, Role
from haechi.network.summary import rooms_by_reach, top_roles
from haechi.private import private_file
from haechi.redact import without_biometrics
from haechi.safe_text import json_text

network_app = typer.Typer(
    help=_(
        "The distribution network: creator candidates, sellers, "
        "distributors, requesters and viewers, each with the "
        "messages behind it. A lead for people, never a verdict."
    ),
    no_args_is_help=False,
)
app.add_typer(network_app, name="network")


def _network() -> Network:
    from haechi.network.build import build_network  # the store: loaded when a command runs

    return build_network(state.db(), state.settings())


@network_app.callback(invoke_without_command=True)
def network(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help=_("JSON Lines: role rows, then room rows."))
    ] = False,
    role: Annotated[
        str | None, typer.Option(help=_("Only this role: {roles}.").format(roles=", ".join(ROLES)))
    ] = None,
    limit: Annotated[
        int, typer.Option(help=_("At most this many accounts per role (0: all)."))
    ] = 10,
) -> None:
    """Top accounts per role and rooms by reach (the group help is the Typer's)."""
    if ctx.invoked_subcommand is not None:
        return
    if role is not None and role not in ROLES:
        raise InputError(
            _("unknown role {role}; one of {roles}").format(role=repr(role), roles=", ".join(ROLES))
        )
    chosen: Role | None = next((r for r in ROLES if r == role), None)
    net = _network()
    rows = top_roles(net, chosen, limit)
    rooms = rooms_by_reach(net, limit)
    if as_json:
        for r in rows:
            print_json(r.to_json())
        for room in rooms:
            print_json(room.to_json())
        return
    out.print(f"[dim]{NOTICE_EN}\n{NOTICE_KO}[/]")
    table = Table(title=_("accounts by role"))
    cols = (
        _("role"),
        _("account"),
        _("content"),
        _("evidence"),
        _("certainty"),
        _("of interest"),
        _("for example"),
    )
    for i, col in enumerate(cols):
        table.add_column(col, justify="right" if i in (2, 3) else "left")
    for r in rows:
        add_row(
            table,
            Text(f"{ROLE_LABELS[r.role][0]}\n{ROLE_LABELS[r.role][1]}"),
            f"{r.name} ({r.account})",
            str(r.content),
            str(r.evidence),
            r.certainty,
            ", ".join(r.interest),
            r.example,
        )
    out.print(table)
    rt = Table(title=_("rooms by reach (accounts present where content first seen here travelled)"))
    room_cols = (
        _("room"),
        _("risk"),
        _("content"),
        _("first seen here"),
        _("rooms reached"),
        _("accounts"),
    )
    for i, col in enumerate(room_cols):
        rt.add_column(col, justify="left" if i == 0 else "right")
    for room in rooms:
        add_row(
            rt,
            f"{room.name} ({room.room})",
            f"{room.risk:.2f}" + (" " + _("flagged") if room.flagged else ""),
            str(room.content),
            str(room.first_seen_here),
            str(room.rooms_reached),
            str(room.accounts_reached),
        )
    out.print(rt)
    why = Counter(k for c in net.clusters.values() for k in c.interest)
    because = ", ".join(f"{k} {n}" for k, n in sorted(why.items()))
    line = _("{clusters} content cluster(s), {interest} of interest").format(
        clusters=len(net.clusters), interest=sum(1 for c in net.clusters.values() if c.of_interest)
    )
    if because:
        line += f" ({because})"
    line += "; " + _("{accounts} account(s); {claims} claim(s).").format(
        accounts=len(net.accounts), claims=len(net.claims)
    )
    out.print(line, markup=False, highlight=False)
    out.print(
        _(
            "next: `haechi network dossier ACCOUNT` (the evidence behind a role), "
            "`haechi network picture --item SHA256 --to FILE.svg`; what an export cannot show: "
            "docs/network.md"
        ),
        markup=False,
        highlight=False,
    )


@network_app.command(
    "export", help=_("Write the whole network for Gephi or scripts, roles as node attributes.")
)
def export(
    to: Annotated[Path, typer.Option("--to", "--out", help=_("File to write."))],
    fmt: Annotated[
        str, typer.Option("--format", help=_("graphml or gexf (GEXF 1.3); both open in Gephi."))
    ] = "graphml",
) -> None:
    kind: Literal["graphml", "gexf"]
    if fmt == "graphml":
        kind = "graphml"
    elif fmt == "gexf":
        kind = "gexf"
    else:
        raise InputError(_("unknown format {format}; graphml or gexf").format(format=repr(fmt)))
    net = _network()
    to.parent.mkdir(parents=True, exist_ok=True)
    tmp = to.with_name(to.name + ".part")
    from haechi.network.export import write_gexf, write_graphml  # networkx: ~150 ms to import

    (write_graphml if kind == "graphml" else write_gexf)(net, tmp)
    private_file(tmp).replace(to)
    err.print(
        _(
            "wrote {path} ({kind}): {accounts} accounts, {rooms} rooms, {clusters} content clusters"
        ).format(
            path=esc(to),
            kind=kind,
            accounts=len(net.accounts),
            rooms=len(net.rooms),
            clusters=len(net.clusters),
        )
    )


@network_app.command(
    "picture",
    help=_(
        "Draw one content cluster: rooms in order of first sighting, posters, forwards, viewers."
    ),
)
def picture(
    to: Annotated[Path, typer.Option("--to", "--out", help=_("An .svg or .png file."))],
    cluster: Annotated[str | None, typer.Option(help=_("A content cluster id (c…)."))] = None,
    item: Annotated[
        str | None, typer.Option(help=_("An item SHA-256 (or a unique prefix)."))
    ] = None,
) -> None:
    if (cluster is None) == (item is None):
        raise InputError(_("give exactly one of --cluster or --item"))
    net = _network()
    if item is not None:
        found = sorted({c for sha, c in net.item_cluster.items() if sha.startswith(item.lower())})
        if len(found) != 1:
            raise NotFoundError(
                _("item {item} matches {n} content clusters in chat rooms").format(
                    item=repr(item), n=len(found)
                )
            )
        cluster = found[0]
    assert cluster is not None
    if cluster not in net.clusters:
        raise NotFoundError(_("no content cluster {cluster}").format(cluster=repr(cluster)))
    if to.suffix.lower() not in (".svg", ".png"):
        raise InputError(_("{path}: the picture must end in .svg or .png").format(path=to))
    to.parent.mkdir(parents=True, exist_ok=True)
    from haechi.network.render import render_cluster

    render_cluster(net, cluster, to)
    private_file(to)
    err.print(_("wrote {path} (content {cluster})").format(path=esc(to), cluster=esc(cluster)))


@network_app.command(
    "dossier", help=_("Everything the network holds about one account, with evidence, as JSON.")
)
def dossier(
    account: Annotated[
        str, typer.Argument(help=_("Account id (user42), or a unique display name."))
    ],
    to: Annotated[
        Path | None, typer.Option("--to", "--out", help=_("Write JSON here, not stdout."))
    ] = None,
) -> None:
    doc = make_dossier(_network(), account)
    if to is None:
        print_json(doc)
        return
    to.parent.mkdir(parents=True, exist_ok=True)
    to.write_text(json_text(without_biometrics(doc), indent=2), encoding="utf-8")
    private_file(to)
    err.print(_("wrote {path}").format(path=esc(to)))
