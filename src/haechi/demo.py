"""`haechi demo`: a corpus made from a public-domain photo and generated images, then a scan
and a plain-language account of what haechi found. Nothing sexual, no private person."""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from sqlalchemy import select

from haechi.analyzers.pdq import PdqFrame
from haechi.config import Settings
from haechi.demo_act import act_demo, free_place
from haechi.demo_corpus import TELEGRAM_EXPORT, TELEGRAM_PHOTO, astronaut_path, build_corpus
from haechi.i18n import _
from haechi.matching.pdq import compare_frames, distance
from haechi.persons.enrol import Consent, enrol
from haechi.safe_text import visible
from haechi.scan import scan_paths
from haechi.store import items as store
from haechi.store.db import Database
from haechi.store.findings import Finding
from haechi.store.models import Sighting
from haechi.store.models import Source as SourceRow
from haechi.store.persons import Person

DEMO_ALIAS = "astronaut-demo"


def _esc(value: object) -> str:
    # The data directory is the user's: a `[` in its path must not be read as markup.
    return escape(visible(value))


def run_demo(settings: Settings, db: Database, console: Console, *, fresh: bool = False) -> None:
    """Build the corpus (again with `fresh`), scan it, explain what was found, then act on it as a
    counsellor would; prints to `console`."""
    root = settings.home_dir / "demo-corpus"
    if fresh and root.exists():
        shutil.rmtree(root)
    if not root.exists():
        console.print(_("building the demo corpus in {path} …").format(path=_esc(root)))
        build_corpus(root)
    _enrol_demo_person(settings, db, console)
    console.print(_("scanning {path} …").format(path=_esc(root)))
    summaries = scan_paths(db, settings, [root])
    console.print(
        "\n"
        + _(
            "[bold]{seen}[/] files handled: {new} new items, {known} already known, "
            "{unchanged} unchanged since the last scan, {errors} refused with a reason."
        ).format(
            seen=sum(sm.seen for sm in summaries),
            new=sum(sm.new_items for sm in summaries),
            known=sum(sm.known_items for sm in summaries),
            unchanged=sum(sm.unchanged for sm in summaries),
            errors=sum(sm.errors for sm in summaries),
        )
        + "\n"
    )
    _explain(db, settings, console, root)
    _preserve_and_export(db, settings, console, root)
    act_demo(db, settings, console, DEMO_ALIAS)
    console.print(
        "\n"
        + _(
            "next: `haechi items` lists every item, `haechi show SHA256` shows one, "
            "`haechi findings` lists what matched an enrolled person, `haechi forget {alias}` "
            "erases the demo person, and `--json` gives the same for machines."
        ).format(alias=DEMO_ALIAS)
        + "\n"
    )
    _web_accounts(settings, db, console)


def _web_accounts(settings: Settings, db: Database, console: Console) -> None:
    """The web app comes next: demo accounts (a victim account for the demo person, whose
    findings are in a case) and how to start it."""
    from haechi.services.demo_accounts import demo_accounts

    accounts = demo_accounts(db, settings, DEMO_ALIAS)
    table = Table(title=_("demo accounts for the web app"))
    for col in (_("name"), _("role"), _("password")):
        table.add_column(col)
    for name, role, password in accounts:
        table.add_row(Text(name), Text(role), Text(password))
    console.print(table)
    console.print(
        _(
            "next: `haechi --home {home} serve`, then open http://127.0.0.1:8000/login (a "
            "counsellor reviews the findings; the victim sees only her own case)."
        ).format(home=_esc(settings.home_dir)),
        highlight=False,
    )


def _explain(db: Database, settings: Settings, console: Console, root: Path) -> None:
    with db.session() as s:
        views = [
            v for v in store.iter_items(s) if any(_inside(sg.source, root) for sg in v.sightings)
        ]
        errors = store.source_errors(s)
    original = next(
        (v for v in views if any(sg.locator == "original.jpg" for sg in v.sightings)), None
    )
    limit = settings.thresholds.pdq_max_distance
    if original is not None and original.pdq.get("pdq"):
        table = Table(
            title=_("copies of original.jpg found by PDQ (match: distance ≤ {limit})").format(
                limit=limit
            )
        )
        for col in (_("file"), _("PDQ distance"), _("quality"), _("verdict")):
            table.add_column(col)
        rows = []
        for v in views:
            h = v.pdq.get("pdq")
            if not h or v.sha256 == original.sha256:
                continue
            d = distance(original.pdq["pdq"], h)
            rows.append((d, v))
        for d, v in sorted(rows, key=lambda r: r[0]):
            verdict = _("[green]same picture[/]") if d <= limit else _("[dim]different[/]")
            table.add_row(_where(v, root), str(d), str(v.pdq.get("quality")), verdict)
        console.print(table)
    videos = [v for v in views if v.kind == "video" and v.pdq.get("frames")]
    if len(videos) >= 2:
        table = Table(title=_("videos compared frame by frame (vPDQ style)"))
        for col in (
            _("video A"),
            _("video B"),
            _("A frames matched"),
            _("B frames matched"),
            _("verdict"),
        ):
            table.add_column(col)
        share = settings.thresholds.vpdq_frame_share
        for i, a in enumerate(videos):
            for b in videos[i + 1 :]:
                fa = [PdqFrame(**f) for f in a.pdq["frames"]]
                fb = [PdqFrame(**f) for f in b.pdq["frames"]]
                m = compare_frames(fa, fb, max_distance=limit)
                verdict = _("[green]same video[/]") if m.matches(share) else _("[dim]different[/]")
                table.add_row(
                    _where(a, root),
                    _where(b, root),
                    f"{m.query_share:.0%}",
                    f"{m.target_share:.0%}",
                    verdict,
                )
        console.print(table)
    _explain_findings(db, console, root)
    bad = [(v, e) for v in views for e in v.errors]
    if bad or errors:
        table = Table(title=_("refused files (the scan went on)"))
        table.add_column(_("file"))
        table.add_column(_("reason"))
        for v, e in bad:
            table.add_row(Text(visible(_where(v, root))), Text(visible(e)))
        for problem in errors:
            table.add_row(Text(visible(problem.locator)), Text(visible(problem.reason)))
        console.print(table)


def _enrol_demo_person(settings: Settings, db: Database, console: Console) -> None:
    """Enrol the astronaut from one photo, shipped inside the package (nothing is
    copied), with a consent record marked as a demo."""
    with db.session() as s:
        if s.scalar(select(Person.id).where(Person.alias == DEMO_ALIAS)) is not None:
            return
    result = enrol(
        db,
        settings,
        DEMO_ALIAS,
        Consent(
            text="DEMO: a public-domain NASA portrait stands in for a person who consented.",
            consented_by="haechi demo",
            for_whom="the person in NASA's public-domain astronaut portrait (demo only)",
            scope="match faces in the demo corpus",
            verified_how="not applicable: public-domain demo image",
        ),
        [astronaut_path()],
    )
    console.print(
        _(
            "enrolled [bold]{alias}[/] from one photo with a demo consent record: "
            "{templates} face template stored, the photo itself was not."
        ).format(alias=DEMO_ALIAS, templates=result.templates)
    )


def _explain_findings(db: Database, console: Console, root: Path) -> None:
    table = Table(
        title=_("findings: faces matching the enrolled person {alias}").format(
            alias=repr(DEMO_ALIAS)
        )
    )
    for col in (_("file"), _("t (s)"), _("similarity"), _("face box (x,y,w,h)")):
        table.add_column(col)
    with db.session() as s:
        rows = s.execute(
            select(Finding)
            .join(Person, Person.id == Finding.person_id)
            .where(Person.alias == DEMO_ALIAS, Finding.kind == "face_match")
        ).scalars()
        found = []
        for f in rows:
            locs = [
                _relative(store.sighting_path(src, loc), root)
                for loc, src in s.execute(
                    select(Sighting.locator, SourceRow)
                    .join(SourceRow, SourceRow.id == Sighting.source_id)
                    .where(Sighting.item_sha256 == f.item_sha256)
                )
            ]
            t = f.details.get("t")
            found.append((", ".join(sorted(locs)), t, f.score, f.details.get("box")))
    for where, t, score, box in sorted(found, key=lambda r: (r[0], r[1] or 0.0)):
        table.add_row(
            where,
            "-" if t is None else f"{t:.2f}",
            f"{score:.3f}",
            ",".join(map(str, box or ())),
        )
    console.print(table)
    console.print(
        _(
            "Faces are compared only with enrolled persons (here, the demo person). The cropped "
            "and mirrored copies, which PDQ calls different pictures, are found by the face."
        )
    )


def _inside(source: str, root: Path) -> bool:
    r = str(root.resolve())
    return source == r or source.startswith(r + "/")


def _relative(path: str, root: Path) -> str:
    """A place under the demo corpus, named from the corpus (`telegram-export#9000/102/…`)."""
    r = str(root.resolve())
    return path[len(r) + 1 :] if path.startswith(r + "/") else path


def _where(view: store.ItemView, root: Path) -> str:
    locs = [_relative(sg.path, root) for sg in view.sightings if _inside(sg.source, root)]
    return ", ".join(locs) if locs else view.sha256[:12]


def _preserve_and_export(db: Database, settings: Settings, console: Console, root: Path) -> None:
    """The chain a case depends on, shown on the Telegram export: the face found in a photo
    posted in a chat was preserved in the vault when the scan made the finding; an evidence
    package for an investigator is then written from the vault, its media encrypted to a key
    the demo makes for the investigator."""
    import pyrage

    from haechi.evidence.context import actor_name
    from haechi.evidence.package import export_package
    from haechi.private import private_file
    from haechi.store.evidence_models import EvidenceItem

    export_root = str((root / TELEGRAM_EXPORT).resolve())
    with db.session() as s:
        shas = sorted(
            set(
                s.scalars(
                    select(Finding.item_sha256)
                    .join(Person, Person.id == Finding.person_id)
                    .join(Sighting, Sighting.item_sha256 == Finding.item_sha256)
                    .join(SourceRow, SourceRow.id == Sighting.source_id)
                    .where(Person.alias == DEMO_ALIAS, SourceRow.locator == export_root)
                )
            )
        )
        kept = {sha: e.custody_seq for sha in shas if (e := s.get(EvidenceItem, sha)) is not None}
    console.print("\n[bold]" + _("From a Telegram export to an evidence package") + "[/]")
    if not shas:
        console.print(_("no finding in the Telegram export (the face was not found)"))
        return
    for sha in shas:
        if sha in kept:
            seq = kept[sha]
            console.print(
                _(
                    "the photo posted in the demo group ({path}) matched {alias}: it was "
                    "preserved in the evidence vault when the scan made the finding (encrypted "
                    "copy, custody log entry {seq})"
                ).format(
                    path=_esc(f"{TELEGRAM_EXPORT}/{TELEGRAM_PHOTO}"), alias=DEMO_ALIAS, seq=seq
                ),
                highlight=False,
            )
        else:
            console.print(
                _("[yellow]not preserved[/] {sha}: automatic preservation is off").format(sha=sha)
            )
    # The investigator's age key pair, made for the demo only: a real package is encrypted to
    # the public key an investigator gives, and only they can open its media.
    key_file = settings.home_dir / "demo-investigator.key"
    if key_file.is_file():
        identity = pyrage.x25519.Identity.from_str(key_file.read_text(encoding="utf-8").strip())
    else:
        identity = pyrage.x25519.Identity.generate()
        key_file.write_text(str(identity) + "\n", encoding="utf-8")
        private_file(key_file)
    to = free_place(settings.home_dir.parent / f"{settings.home_dir.name}-evidence-package")
    res = export_package(
        db,
        settings,
        shas,
        to,
        actor=actor_name(settings),
        title="haechi demo",
        recipients=[str(identity.to_public())],
    )
    console.print(
        _(
            "evidence package written: {path} ({items} item(s), media encrypted to the demo "
            "investigator's key {key}; report in Korean and English, manifest, custody excerpt, "
            "SHA256SUMS)"
        ).format(path=_esc(res.path), items=len(res.items), key=_esc(key_file)),
        highlight=False,
    )
    console.print(
        _("check it: `haechi evidence verify`; see every step: `haechi evidence log`"),
        markup=False,
        highlight=False,
    )
