"""Evidence packages of a case: every item of the case, exported as one package, with a line in
the case's timeline. `haechi evidence export --case` and the police report call this."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from haechi.config import Settings
from haechi.evidence.package import PackageResult, export_package
from haechi.services.cases import case_item_shas, record
from haechi.store.db import Database


def export_case(
    db: Database,
    settings: Settings,
    case_id: int,
    to: Path,
    *,
    actor: str,
    extra_items: Sequence[str] = (),
    title: str | None = None,
    recipients: Sequence[str] = (),
    plain_media: bool = False,
    include_media: bool = True,
    authorise_minor: bool = False,
) -> PackageResult:
    """Package every item of the case (and `extra_items`). The case title is free text that may
    name the person: it goes into the package only when given here, never into the log."""
    refs = [*extra_items, *case_item_shas(db, case_id)]
    case_ref = f"case {case_id}"
    res = export_package(
        db,
        settings,
        refs,
        to,
        actor=actor,
        title=title or case_ref,
        case_ref=case_ref,
        recipients=recipients,
        plain_media=plain_media,
        include_media=include_media,
        authorise_minor=authorise_minor,
    )
    record(db, case_id, actor, "exported", items=len(res.items), to=res.path.name)
    return res
