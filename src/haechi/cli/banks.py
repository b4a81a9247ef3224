"""`haechi banks …`: hash banks of content a centre has seen (or knows to be false positives),
their import and export in ThreatExchange, vPDQ and StopNCII shapes, and a case's confirmed
items banked in one step. The logic is in `haechi.services.banks` and `haechi.share.formats`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from haechi.cli.app import add_row, app, err, out, print_json, state, text
from haechi.i18n import _
from haechi.matching.thresholds import PDQ_MAX_DISTANCE

banks_app = typer.Typer(
    help=_("Hash banks: hashes of known content, matched in every scan."), no_args_is_help=True
)
app.add_typer(banks_app, name="banks")


def _actor() -> str:
    from haechi.evidence.context import actor_name

    return actor_name(state.settings())


def _say(message: str) -> None:
    out.print(message, markup=False, highlight=False)


def _thresholds(pdq: int | None, vpdq: int | None, vpdq_share: float | None) -> dict[str, Any]:
    got: dict[str, Any] = {}
    if pdq is not None:
        got["pdq"] = pdq
    if vpdq is not None:
        got["vpdq"] = vpdq
    if vpdq_share is not None:
        got["vpdq_share"] = vpdq_share
    return got


PdqOpt = Annotated[
    int | None, typer.Option("--pdq", help=_("PDQ distance for this bank (default 31)."))
]
VpdqOpt = Annotated[int | None, typer.Option("--vpdq", help=_("vPDQ frame distance (default 31)."))]
ShareOpt = Annotated[
    float | None,
    typer.Option("--vpdq-share", help=_("Share of frames that must match (default 0.8).")),
]
RolloutOpt = Annotated[
    float | None, typer.Option(help=_("Share of the bank's contents that match (0-1)."))
]
JsonOpt = Annotated[bool, typer.Option("--json", help=_("Machine-readable output."))]
TagOpt = Annotated[list[str] | None, typer.Option("--tag", help=_("A tag for what is added."))]


@banks_app.command("create", help=_("Create a bank."))
def create_cmd(
    name: Annotated[str, typer.Argument(help=_("Bank name: CAPITALS, digits and _."))],
    negative: Annotated[
        bool, typer.Option("--negative", help=_("Known false positives: a match suppresses."))
    ] = False,
    description: Annotated[str, typer.Option(help=_("What the bank holds."))] = "",
    pdq: PdqOpt = None,
    vpdq: VpdqOpt = None,
    vpdq_share: ShareOpt = None,
    rollout: RolloutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    from haechi.services.banks import create_bank

    bank = create_bank(
        state.db(),
        _actor(),
        name,
        description=description,
        negative=negative,
        thresholds=_thresholds(pdq, vpdq, vpdq_share),
        rollout=1.0 if rollout is None else rollout,
    )
    if as_json:
        print_json(bank.to_json())
        return
    _say(_("bank {name} created").format(name=bank.name))
    _say(
        _("next: `haechi banks add-case {name} CASE` or `haechi banks import {name} FILE`").format(
            name=bank.name
        )
    )


@banks_app.command("list", help=_("List the banks with their settings and counts."))
def list_cmd(
    as_json: Annotated[bool, typer.Option("--json", help=_("JSON Lines."))] = False,
) -> None:
    from haechi.services.banks import list_banks

    banks = list_banks(state.db())
    if as_json:
        for b in banks:
            print_json(b.to_json())
        return
    table = Table()
    for col in (_("bank"), _("kind"), _("matching"), _("rollout"), _("contents"), _("signals")):
        table.add_column(col)
    for b in banks:
        add_row(
            table,
            b.name,
            _("negative") if b.negative else _("positive"),
            _("on") if b.enabled else _("off"),
            f"{b.rollout:.0%}",
            str(b.contents),
            ", ".join(f"{k} {v}" for k, v in sorted(b.signals.items())) or "-",
        )
    out.print(table)
    if not banks:
        _say(_("no banks yet: `haechi banks create NAME`"))


@banks_app.command(
    "show", help=_("A bank: its settings and its first contents with their provenance.")
)
def show_cmd(
    name: Annotated[str, typer.Argument(help=_("The bank."))],
    limit: Annotated[int, typer.Option(help=_("Contents to list."))] = 20,
    as_json: JsonOpt = False,
) -> None:
    from haechi.services.banks import contents, get_bank

    db = state.db()
    bank = get_bank(db, name)
    shown = contents(db, name, limit=limit)
    if as_json:
        print_json({**bank.to_json(), "first_contents": [c.to_json() for c in shown]})
        return
    kind = _("negative") if bank.negative else _("positive")
    _say(
        _("bank {name} ({kind}), matching {on}, rollout {rollout}").format(
            name=bank.name,
            kind=kind,
            on=_("on") if bank.enabled else _("off"),
            rollout=f"{bank.rollout:.0%}",
        )
    )
    th = {"pdq": PDQ_MAX_DISTANCE, **bank.thresholds}
    _say(_("thresholds: {th}").format(th=", ".join(f"{k} {v}" for k, v in sorted(th.items()))))
    table = Table(title=_("contents"))
    for col in ("id", _("signals"), _("case"), _("source"), _("by"), _("tags")):
        table.add_column(col)
    for c in shown:
        add_row(
            table,
            str(c.id),
            ", ".join(f"{s.signal_type} {s.value[:12]}" for s in c.signals),
            str(c.case_id or "-"),
            c.source,
            c.added_by,
            " ".join(c.tags) or "-",
        )
    out.print(table)


def _added(result: Any) -> None:
    _say(
        _("{bank}: {contents} content(s), {signals} hash(es) added; {known} already held").format(
            bank=result.bank,
            contents=result.contents_added,
            signals=result.signals_added,
            known=result.signals_known,
        )
    )


@banks_app.command(
    "add", help=_("Add one content: hashes given by hand, or a scanned item's hashes.")
)
def add_cmd(
    name: Annotated[str, typer.Argument(help=_("The bank."))],
    pdq: Annotated[str | None, typer.Option("--pdq", help=_("A PDQ hash (64 hex)."))] = None,
    md5: Annotated[str | None, typer.Option("--md5", help=_("An MD5 (32 hex)."))] = None,
    sha256: Annotated[str | None, typer.Option("--sha256", help=_("A SHA-256 (64 hex)."))] = None,
    item: Annotated[
        str | None, typer.Option(help=_("A scanned item (SHA-256 or prefix): all its hashes."))
    ] = None,
    tag: TagOpt = None,
    source: Annotated[str, typer.Option(help=_("Where the hashes came from."))] = "hand",
    as_json: JsonOpt = False,
) -> None:
    from haechi.errors import InputError
    from haechi.services.banks import ContentIn, SignalIn, add_contents, item_bank_signals

    db = state.db()
    sigs = [SignalIn(t, v) for t, v in (("pdq", pdq), ("md5", md5), ("sha256", sha256)) if v]
    sha = None
    if item is not None:
        sha, found = item_bank_signals(db, item, state.settings().thresholds.pdq_min_quality)
        sigs.extend(found)
    if not sigs:
        raise InputError(_("give --pdq, --md5, --sha256 or --item"))
    result = add_contents(
        db, _actor(), name, [ContentIn(tuple(sigs), sha, tuple(tag or ()))], source=source
    )
    if as_json:
        print_json(result.to_json())
        return
    _added(result)


@banks_app.command(
    "add-case",
    help=_("Bank a case's confirmed items (their MD5, SHA-256, PDQ or vPDQ) in one step."),
)
def add_case_cmd(
    name: Annotated[str, typer.Argument(help=_("The bank."))],
    case: Annotated[int, typer.Argument(help=_("The case number."))],
    tag: TagOpt = None,
    as_json: JsonOpt = False,
) -> None:
    from haechi.services.banks import add_case

    result = add_case(
        state.db(),
        state.settings().thresholds.pdq_min_quality,
        _actor(),
        name,
        case,
        tags=tuple(tag or ()),
    )
    if as_json:
        print_json(result.to_json())
        return
    _added(result)
    _say(_("next: every scan now matches them; `haechi banks export {name}`").format(name=name))


@banks_app.command(
    "import",
    help=_(
        "Import hash lists (ThreatExchange files and CSV, vPDQ frame "
        "files, PDQ lists, StopNCII records). Lines that cannot be "
        "read are named; the rest is imported."
    ),
)
def import_cmd(
    name: Annotated[str, typer.Argument(help=_("The bank."))],
    files: Annotated[list[Path], typer.Argument(help=_("Hash lists."))],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help=_("te, csv, vpdq, pdq or stopncii (default: detected).")),
    ] = None,
    tag: TagOpt = None,
    as_json: JsonOpt = False,
) -> None:
    from haechi.errors import HaechiError
    from haechi.services.banks import add_contents
    from haechi.share.formats import read

    db = state.db()
    failed = 0
    for f in files:
        try:
            got = read(f, fmt, tags=tuple(tag or ()))
            for p in got.problems:
                err.print(text(p))
            result = add_contents(db, _actor(), name, got.contents, source=f"import:{f.name}")
        except HaechiError as exc:
            err.print(text(str(exc)))
            failed += 1
            continue
        if as_json:
            print_json(
                {**result.to_json(), "file": str(f), "problems": list(got.problems)}
                | {"skipped": got.skipped}
            )
        else:
            _added(result)
            if got.problems:
                _say(
                    _("{n} line(s) of {file} could not be read (above)").format(
                        n=len(got.problems), file=f
                    )
                )
    if failed:
        raise typer.Exit(3)


@banks_app.command(
    "export", help=_("Export a bank's hashes (never media) in a format other tools read.")
)
def export_cmd(
    name: Annotated[str, typer.Argument(help=_("The bank."))],
    fmt: Annotated[
        str, typer.Option("--format", help=_("te, csv, pdq, stopncii, or vpdq (one file a video)."))
    ] = "te",
    out_path: Annotated[
        Path | None,
        typer.Option("--out", "--to", help=_("File (or folder for vpdq); default stdout.")),
    ] = None,
) -> None:
    import sys

    from haechi.errors import InputError
    from haechi.services.banks import contents, get_bank
    from haechi.share import formats

    db = state.db()
    bank = get_bank(db, name)
    rows = [c for c in contents(db, name) if c.enabled]
    if fmt == "vpdq":
        if out_path is None:
            raise InputError(_("--format vpdq writes one file per video: give --out FOLDER"))
        out_path.mkdir(parents=True, exist_ok=True)
        n = 0
        for c in rows:
            for sig in c.signals:
                if sig.signal_type == "vpdq":
                    _write(out_path / f"content-{c.id}.vpdq", formats.write_vpdq(sig.frames))
                    n += 1
        _say(_("{n} vPDQ file(s) written to {folder}").format(n=n, folder=out_path))
        return
    writers = {
        "te": formats.write_te,
        "csv": lambda cs: formats.write_csv(cs, negative=bank.negative),
        "pdq": formats.write_pdq,
        "stopncii": formats.write_stopncii,
    }
    if fmt not in writers:
        raise InputError(
            _("unknown format {name}: one of te, csv, pdq, stopncii, vpdq").format(name=repr(fmt))
        )
    body = writers[fmt](rows)
    if out_path is None:
        sys.stdout.write(body)
        return
    _write(out_path, body)
    err.print(text(_("{bank} written to {file}").format(bank=name, file=out_path)))


def _write(path: Path, body: str) -> None:
    """Written whole or not at all: a temporary name, then a rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(body, encoding="utf-8")
    tmp.replace(path)


def _toggle(name: str, on: bool) -> None:
    from haechi.services.banks import update_bank

    bank = update_bank(state.db(), _actor(), name, enabled=on)
    _say(_("bank {name}: matching {on}").format(name=bank.name, on=_("on") if on else _("off")))


@banks_app.command("enable", help=_("Match this bank in scans and lookups again."))
def enable_cmd(name: Annotated[str, typer.Argument(help=_("The bank."))]) -> None:
    _toggle(name, True)


@banks_app.command("disable", help=_("Stop matching this bank (its contents are kept)."))
def disable_cmd(name: Annotated[str, typer.Argument(help=_("The bank."))]) -> None:
    _toggle(name, False)


@banks_app.command(
    "set", help=_("Change a bank's thresholds, rollout or kind (each change is logged).")
)
def set_cmd(
    name: Annotated[str, typer.Argument(help=_("The bank."))],
    pdq: PdqOpt = None,
    vpdq: VpdqOpt = None,
    vpdq_share: ShareOpt = None,
    rollout: RolloutOpt = None,
    negative: Annotated[
        bool | None, typer.Option("--negative/--positive", help=_("A negative bank suppresses."))
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    from haechi.services.banks import update_bank

    bank = update_bank(
        state.db(),
        _actor(),
        name,
        rollout=rollout,
        thresholds=_thresholds(pdq, vpdq, vpdq_share),
        negative=negative,
    )
    if as_json:
        print_json(bank.to_json())
        return
    _say(_("bank {name} updated").format(name=bank.name))
