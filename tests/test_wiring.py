"""The parts meet: a finding preserves its item in the vault, a forget is logged without a
trace of the person, and the custody chain still verifies."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import haechi, person_consent, testdata
from sqlalchemy import select

from haechi.config import Settings
from haechi.evidence.context import open_vault
from haechi.persons.enrol import enrol
from haechi.persons.forget import forget
from haechi.scan import scan_paths
from haechi.services.items import item_json, item_risk
from haechi.store.custody import CustodyLogEntry
from haechi.store.custody_verify import verify
from haechi.store.db import Database
from haechi.store.evidence_models import EvidenceItem
from haechi.store.findings import Finding
from haechi.store.items import iter_items

CONSENT = person_consent("match faces")


def test_a_finding_preserves_its_item_and_forget_is_logged_anonymously(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    faces = testdata("faces")
    corpus = tmp_path / "collected"
    corpus.mkdir()
    for name in ("img10.jpg", "img12.jpg"):  # person_01 and someone else
        shutil.copy(faces / name, corpus / name)
    enrol(db, settings, "minji", CONSENT, [faces / "img1.jpg"])
    scan_paths(db, settings, [corpus])
    with db.session() as s:
        found = s.scalars(select(Finding.item_sha256)).all()
        preserved = s.scalars(select(EvidenceItem.sha256)).all()
    assert len(found) == 1
    assert preserved == found  # the matched photo, and only it, went into the vault
    vault = open_vault(settings)
    assert vault.read_bytes(found[0]) == (corpus / "img10.jpg").read_bytes()

    # The enrolled person's face raises the item's risk; the stranger's photo has no such part.
    with db.session() as s:
        views = {v.sha256: v for v in iter_items(s)}
    parts = {
        sha: {p["name"]: p["value"] for p in item_json(v)["risk"]["parts"]}
        for sha, v in views.items()
    }
    assert parts[found[0]]["face_match"] >= settings.thresholds.face_min_similarity
    (other,) = set(views) - {found[0]}
    assert parts[other]["face_match"] is None
    assert item_risk(views[found[0]]).score > item_risk(views[other]).score

    forget(db, settings, "minji")
    with db.session() as s:
        entries = s.scalars(select(CustodyLogEntry).order_by(CustodyLogEntry.seq)).all()
        actions = [e.action for e in entries]
        assert actions == ["enrolled", "captured", "forgotten"]
        assert "minji" not in str([(e.object_ref, e.details) for e in entries])
        gone = entries[-1]
        assert gone.object_ref.startswith("person:") and "minji" not in gone.object_ref
        assert not gone.details
        report = verify(s, vault)
    assert report.ok, report.render()


@pytest.mark.slow  # two scans with workers, about 8 s
def test_findings_can_be_left_out_of_the_vault(tmp_path: Path) -> None:
    home = tmp_path / "home"
    corpus = tmp_path / "collected"
    corpus.mkdir()
    shutil.copy(testdata("faces") / "img10.jpg", corpus / "a.jpg")
    env = {"HAECHI_VAULT__CAPTURE_FINDINGS": "false"}
    consent = ["--consent", CONSENT.text, "--consent-by", "person_01", "--scope", "faces"]
    haechi(home, "enrol", "--alias", "p", *consent, str(testdata("faces") / "img1.jpg"), env=env)
    haechi(home, "scan", str(corpus), env=env)
    findings = haechi(home, "findings", "--json", env=env).stdout.splitlines()
    assert len(findings) == 1
    assert not (home / "vault").exists() or not any((home / "vault").rglob("*.enc"))


def test_a_forget_whose_log_entry_fails_erases_nothing(settings: Settings, db: Database) -> None:
    """The erasure and its custody entry commit together: if writing the entry fails (here the
    database itself refuses it), she is still enrolled, rather than erased with no record."""
    from sqlalchemy import text

    from haechi.store.persons import Person

    enrol(db, settings, "minji", CONSENT, [testdata("faces") / "img1.jpg"])
    refuse = {
        "sqlite": "CREATE TRIGGER no_forget BEFORE INSERT ON custody_log "
        "WHEN NEW.action = 'forgotten' BEGIN SELECT RAISE(ABORT, 'disk full'); END",
        "postgresql": "CREATE FUNCTION no_forget() RETURNS trigger AS $$ BEGIN "
        "IF NEW.action = 'forgotten' THEN RAISE EXCEPTION 'disk full'; END IF; RETURN NEW; "
        "END $$ LANGUAGE plpgsql; CREATE TRIGGER no_forget BEFORE INSERT ON custody_log "
        "FOR EACH ROW EXECUTE FUNCTION no_forget()",
    }[db.engine.dialect.name]
    with db.engine.begin() as conn:
        conn.exec_driver_sql(refuse)
    with pytest.raises(Exception, match="disk full"):  # the database's own error, as raised
        forget(db, settings, "minji")
    with db.session() as s:
        assert s.scalar(select(Person.alias)) == "minji"
        assert s.scalars(select(CustodyLogEntry.action)).all() == ["enrolled"]
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "DROP TRIGGER no_forget"
                + (" ON custody_log" if db.engine.dialect.name == "postgresql" else "")
            )
        )
    forget(db, settings, "minji")
    with db.session() as s:
        assert s.scalar(select(Person.alias)) is None
        assert s.scalars(select(CustodyLogEntry.action)).all() == ["enrolled", "forgotten"]
