"""Tests for the hash-chained custody log and its verification."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from haechi.store.custody import (
    CustodyAction,
    CustodyError,
    CustodyEvent,
    CustodyHead,
    CustodyLogEntry,
    append,
    redact_details,
)
from haechi.store.custody_anchor import read_head_file, write_head_file
from haechi.store.custody_hash import compute_entry_hash, details_hash
from haechi.store.custody_problems import ProblemKind, VerifyReport
from haechi.store.custody_verify import verify
from haechi.store.vault import Vault

A = CustodyAction


def populate(session: Session, vault: Vault, n_items: int = 3) -> list[str]:
    """captured/analysed/viewed for each item, then exported + shared: 3n+2 entries."""
    shas = []
    for i in range(n_items):
        sha = vault.put_bytes(f"screenshot {i} ".encode() * 500).sha256
        shas.append(sha)
        append(
            session,
            CustodyEvent(
                "app",
                A.CAPTURED,
                f"item:{sha}",
                {"source_url": f"https://example.invalid/{i}", "n": i},
            ),
        )
        append(
            session,
            CustodyEvent(
                "detector-v1", A.ANALYSED, f"item:{sha}", {"score": 0.93, "labels": ["face-swap"]}
            ),
        )
        append(session, CustodyEvent("victim", A.VIEWED, f"item:{sha}"))
    append(session, CustodyEvent("victim", A.EXPORTED, "case:42", {"items": shas}))
    append(session, CustodyEvent("victim", A.SHARED, "case:42", {"to": "police"}))
    session.commit()
    return shas


def run_verify(session: Session, vault: Vault | None = None, **kw: object) -> VerifyReport:
    session.expire_all()
    return verify(session, vault, **kw)  # type: ignore[arg-type]


def sql(session: Session, *statements: str) -> None:
    for st in statements:
        session.execute(text(st))
    session.commit()
    session.expire_all()


def only(rep: VerifyReport, kind: ProblemKind) -> str:
    assert rep.kinds() == {kind}, rep.render()
    return rep.render()


# --------------------------------------------------------------------------- happy path
def test_clean_log_verifies_with_readable_proof(session: Session, vault: Vault) -> None:
    populate(session, vault)
    rep = run_verify(session, vault)
    assert rep.ok, rep.render()
    assert rep.entries == 11 and rep.blobs_checked == 3 and rep.blobs_intact == 3
    proof = rep.render()
    assert "INTACT" in proof
    assert "entries:           11 (seq 1..11)" in proof
    assert "blobs checked:     3 (3 intact)" in proof
    head = session.get(CustodyHead, 1)
    assert head is not None and head.last_seq == 11
    assert head.head_hash in proof
    assert "first entry:" in proof and "UTC" in proof
    print(proof)


def test_hash_definition_is_stable(session: Session) -> None:
    at = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    rec = append(session, CustodyEvent("a", A.VIEWED, "case:1", {"b": 1, "a": [1, "ㅎ"]}), at=at)
    session.commit()
    assert rec.details_hash == details_hash({"a": [1, "ㅎ"], "b": 1})
    assert rec.entry_hash == compute_entry_hash(
        1, at, "a", "viewed", "case:1", rec.details_hash, "0" * 64
    )
    row = session.get(CustodyLogEntry, 1)
    assert row is not None and row.entry_hash == rec.entry_hash
    assert run_verify(session).ok


def test_event_validation() -> None:
    with pytest.raises(ValueError, match="forgotten events must not carry details"):
        CustodyEvent("a", A.FORGOTTEN, "person:p1", {"name": "someone"})
    with pytest.raises(ValueError, match="item:<sha256"):
        CustodyEvent("a", A.CAPTURED, "case:1")
    with pytest.raises(ValueError, match="NaN"):
        CustodyEvent("a", A.ANALYSED, "case:1", {"score": float("nan")})
    with pytest.raises(ValueError, match="kind:id"):
        CustodyEvent("a", A.VIEWED, "no colon here")


def test_concurrent_writers_serialise(engine: Engine) -> None:
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            for i in range(15):
                with Session(engine) as s:
                    append(s, CustodyEvent(name, A.VIEWED, f"case:{i}"))
                    s.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"w{k}",)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with Session(engine) as s:
        seqs = list(s.scalars(select(CustodyLogEntry.seq).order_by(CustodyLogEntry.seq)))
        assert seqs == list(range(1, 61))
        assert verify(s).ok


def test_append_refuses_inconsistent_log(session: Session, vault: Vault) -> None:
    populate(session, vault, 1)
    sql(session, "DELETE FROM custody_log WHERE seq = 5")
    with pytest.raises(CustodyError, match="inconsistent with its head"):
        append(session, CustodyEvent("a", A.VIEWED, "case:1"))
    session.rollback()


# --------------------------------------------------------------------------- tampering
def test_edited_action_detected(session: Session, vault: Vault) -> None:
    populate(session, vault)
    sql(session, "UPDATE custody_log SET action = 'viewed' WHERE seq = 2")
    rep = run_verify(session, vault)
    only(rep, ProblemKind.ENTRY_ALTERED)
    [p] = rep.problems
    assert p.seq == 2 and "entry 2 was altered" in p.message


def test_edited_details_detected(session: Session, vault: Vault) -> None:
    populate(session, vault)
    sql(session, """UPDATE custody_log SET details = '{"to": "nobody"}' WHERE seq = 11""")
    rep = run_verify(session, vault)
    only(rep, ProblemKind.ENTRY_ALTERED)
    assert rep.problems[0].seq == 11 and "details" in rep.problems[0].message


def test_deleted_entry_detected(session: Session, vault: Vault) -> None:
    populate(session, vault)
    sql(session, "DELETE FROM custody_log WHERE seq = 5")
    rep = run_verify(session, vault)
    only(rep, ProblemKind.ENTRY_DELETED)
    assert "entry 5 deleted (gap in seq" in rep.problems[0].message


def test_deleted_and_renumbered_detected(session: Session, vault: Vault) -> None:
    populate(session, vault)
    sql(
        session,
        "DELETE FROM custody_log WHERE seq = 5",
        "UPDATE custody_log SET seq = seq + 1000 WHERE seq > 5",
        "UPDATE custody_log SET seq = seq - 1001 WHERE seq > 1000",
    )
    rep = run_verify(session, vault)
    only(rep, ProblemKind.ENTRY_DELETED)
    assert "entry 5 was deleted and the 6 entries after it renumbered" in rep.render()


def test_reordered_entries_detected(session: Session, vault: Vault) -> None:
    populate(session, vault)
    sql(
        session,
        "UPDATE custody_log SET seq = -1 WHERE seq = 4",
        "UPDATE custody_log SET seq = 4 WHERE seq = 5",
        "UPDATE custody_log SET seq = 5 WHERE seq = -1",
    )
    rep = run_verify(session, vault)
    only(rep, ProblemKind.ENTRIES_REORDERED)
    assert "entries 4 and 5 were reordered" in rep.problems[0].message


def _forge(session: Session, seq: int, prev_hash: str, action: str = "viewed") -> None:
    at = datetime.now(UTC)
    dh = details_hash({"note": "forged"})
    eh = compute_entry_hash(seq, at, "intruder", action, "case:42", dh, prev_hash)
    session.add(
        CustodyLogEntry(
            seq=seq,
            at=at,
            actor="intruder",
            action=action,
            object_ref="case:42",
            details={"note": "forged"},
            details_hash=dh,
            prev_hash=prev_hash,
            entry_hash=eh,
        )
    )
    session.commit()
    session.expire_all()


def _hash_of(session: Session, seq: int) -> str:
    return session.execute(
        select(CustodyLogEntry.entry_hash).where(CustodyLogEntry.seq == seq)
    ).scalar_one()


def test_inserted_entry_in_the_middle_detected(session: Session, vault: Vault) -> None:
    populate(session, vault)
    sql(
        session,
        "UPDATE custody_log SET seq = seq + 1000 WHERE seq >= 6",
        "UPDATE custody_log SET seq = seq - 999 WHERE seq > 1000",
    )
    _forge(session, 6, _hash_of(session, 5))  # a well-formed entry that links to entry 5
    rep = run_verify(session, vault)
    only(rep, ProblemKind.ENTRY_INSERTED)
    [p] = rep.problems
    assert p.seq == 6 and "entry 6 was inserted (forged)" in p.message


def test_inserted_entry_at_the_end_detected(session: Session, vault: Vault) -> None:
    populate(session, vault)
    _forge(session, 12, _hash_of(session, 11))  # perfectly chained, but bypassed the writer
    rep = run_verify(session, vault)
    only(rep, ProblemKind.ENTRY_INSERTED)
    assert "entry 12 appended without going through the custody writer" in rep.render()


def test_replaced_entry_chain_break_detected(session: Session, vault: Vault) -> None:
    populate(session, vault)
    prev = _hash_of(session, 6)
    sql(session, "DELETE FROM custody_log WHERE seq = 7")
    _forge(session, 7, prev, action="exported")  # hash recomputed: self-consistent
    rep = run_verify(session, vault)
    only(rep, ProblemKind.CHAIN_BREAK)
    assert rep.problems[0].seq == 8
    assert "chain break at entry 8" in rep.problems[0].message


def test_truncated_log_detected_by_head_record(session: Session, vault: Vault) -> None:
    populate(session, vault)
    sql(session, "DELETE FROM custody_log WHERE seq >= 10")
    rep = run_verify(session, vault)
    only(rep, ProblemKind.LOG_TRUNCATED)
    assert "entries 10..11 removed" in rep.problems[0].message


def test_truncation_with_head_rewritten_caught_by_head_file(
    session: Session, vault: Vault, tmp_path: Path
) -> None:
    populate(session, vault)
    anchor_path = tmp_path / "usb-stick" / "custody-head.json"
    anchor_path.parent.mkdir()
    write_head_file(session, anchor_path)
    # a careful intruder also rewinds custody_head
    h9 = _hash_of(session, 9)
    sql(session, "DELETE FROM custody_log WHERE seq >= 10")
    session.execute(text("UPDATE custody_head SET last_seq = 9, head_hash = :h"), {"h": h9})
    session.commit()
    assert run_verify(session, vault).ok  # internally consistent...
    rep = run_verify(session, vault, anchors=[read_head_file(anchor_path)])
    only(rep, ProblemKind.LOG_TRUNCATED)  # ...but not against the anchor
    assert "head file" in rep.problems[0].message


def test_head_file_anchor_after_more_appends_and_full_rewrite(
    session: Session, vault: Vault, tmp_path: Path
) -> None:
    populate(session, vault)
    anchor = write_head_file(session, tmp_path / "head.json")
    append(session, CustodyEvent("victim", A.VIEWED, "case:42"))
    session.commit()
    rep = run_verify(session, vault, anchors=[anchor])
    assert rep.ok and len(rep.anchors_checked) == 1
    # rewrite history: change entry 2 and recompute every later hash + the head
    rows = list(session.scalars(select(CustodyLogEntry).order_by(CustodyLogEntry.seq)))
    prev = "0" * 64
    for r in rows:
        if r.seq == 2:
            r.actor = "someone-else"
        r.prev_hash = prev
        r.entry_hash = compute_entry_hash(
            r.seq, r.at, r.actor, r.action, r.object_ref, r.details_hash, prev
        )
        prev = r.entry_hash
    head = session.get(CustodyHead, 1)
    assert head is not None
    head.head_hash = prev
    session.commit()
    assert run_verify(session, vault).ok  # a hash chain alone cannot see this
    rep = run_verify(session, vault, anchors=[anchor])
    only(rep, ProblemKind.ANCHOR_MISMATCH)
    assert "entry 11 does not match the hash in head file" in rep.problems[0].message


def test_blob_tampering_detected_via_custody(session: Session, vault: Vault) -> None:
    s1, s2, s3 = populate(session, vault)
    p1, p2, p3 = (vault.path_for(s) for s in (s1, s2, s3))
    raw = bytearray(p1.read_bytes())
    raw[-5] ^= 0x40
    p1.write_bytes(bytes(raw))
    r2, r3 = p2.read_bytes(), p3.read_bytes()
    p2.write_bytes(r3)
    p3.write_bytes(r2)
    rep = run_verify(session, vault)
    assert rep.kinds() == {ProblemKind.BLOB_ALTERED, ProblemKind.BLOB_SWAPPED}, rep.render()
    assert [p.blob for p in rep.problems if p.kind is ProblemKind.BLOB_ALTERED] == [s1]
    assert sorted(
        p.blob or "" for p in rep.problems if p.kind is ProblemKind.BLOB_SWAPPED
    ) == sorted([s2, s3])
    assert rep.blobs_checked == 3 and rep.blobs_intact == 0
    vault.delete(s1)
    rep = run_verify(session, vault)
    assert ProblemKind.BLOB_MISSING in rep.kinds()


def test_truncated_blob_detected_via_custody(session: Session, vault: Vault) -> None:
    s1, *_ = populate(session, vault)
    p = vault.path_for(s1)
    p.write_bytes(p.read_bytes()[:-100])
    rep = run_verify(session, vault)
    only(rep, ProblemKind.BLOB_ALTERED)
    assert "truncated" in rep.problems[0].message


# --------------------------------------------------------------------------- forgetting
def test_redaction_keeps_chain_valid(session: Session, vault: Vault) -> None:
    populate(session, vault, 1)
    append(session, CustodyEvent("victim", A.SHARED, "person:p-7f3a", {"name": "Kim"}))
    session.commit()
    n = redact_details(session, "person:p-7f3a", actor="victim")
    session.commit()
    assert n == 1
    rows = list(session.scalars(select(CustodyLogEntry).order_by(CustodyLogEntry.seq)))
    assert rows[-1].action == "forgotten" and rows[-1].details is None
    assert rows[-2].details is None
    raw = session.execute(
        text("SELECT details FROM custody_log WHERE seq = :s"), {"s": rows[-2].seq}
    ).scalar_one()
    assert raw is None  # SQL NULL, not the JSON text 'null'
    rep = run_verify(session, vault)
    assert rep.ok, rep.render()
    assert any("details redacted" in n for n in rep.notes)
    assert session.scalar(select(func.count()).select_from(CustodyLogEntry)) == 7


def test_unexplained_details_removal_flagged(session: Session, vault: Vault) -> None:
    populate(session, vault, 1)
    sql(session, "UPDATE custody_log SET details = NULL WHERE seq = 1")
    only(run_verify(session, vault), ProblemKind.DETAILS_REMOVED)


def test_forgotten_blob_deletion_is_not_a_problem(session: Session, vault: Vault) -> None:
    s1, *_ = populate(session, vault)
    vault.delete(s1)
    append(session, CustodyEvent("victim", A.FORGOTTEN, f"item:{s1}"))
    session.commit()
    rep = run_verify(session, vault)
    assert rep.ok, rep.render()
    assert rep.blobs_checked == 2
