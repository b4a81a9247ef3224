"""Verification of the custody log (`store/custody.py` writes it): walk the hash chain and the
head record, compare with external anchors and the vault's blobs, and name each problem found
(altered, deleted, reordered, inserted entries; a truncated log; missing or swapped blobs)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from haechi.store.custody import ITEM_REF_RE, CustodyAction, CustodyHead, CustodyLogEntry
from haechi.store.custody_anchor import HEAD_ROW_ID, HeadAnchor
from haechi.store.custody_hash import GENESIS_HASH, as_utc, details_hash, row_hash
from haechi.store.custody_problems import Problem, ProblemKind, VerifyReport
from haechi.store.vault_settle import pending_copy

if TYPE_CHECKING:
    from haechi.store.vault import Vault

__all__ = ["verify"]


def _candidate_seqs(seq: int, others: Iterable[int], max_seq: int) -> list[int]:
    near = [s for s in range(seq - 3, seq + 4) if s != seq and 1 <= s <= max_seq + 3]
    return near + [s for s in others if s != seq and s not in near]


def verify(
    session: Session,
    vault: Vault | None = None,
    *,
    anchors: Sequence[HeadAnchor] = (),
) -> VerifyReport:
    """Walk the chain (and the blobs of ``captured`` entries) and name what is wrong."""
    rows = list(session.scalars(select(CustodyLogEntry).order_by(CustodyLogEntry.seq)))
    head = session.get(CustodyHead, HEAD_ROW_ID)
    rep = VerifyReport(entries=len(rows))
    problems = rep.problems
    if rows:
        rep.first_seq, rep.last_seq = rows[0].seq, rows[-1].seq
        rep.first_at, rep.last_at = as_utc(rows[0].at), as_utc(rows[-1].at)
        rep.head_hash = rows[-1].entry_hash
    if head is not None:
        rep.head_record = HeadAnchor(head.last_seq, head.head_hash, "custody_head")
    by_seq = {r.seq: r for r in rows}
    by_hash = {r.entry_hash: r for r in rows}
    max_seq = rows[-1].seq if rows else 0

    # --- pass 1: every entry on its own --------------------------------------
    self_ok: dict[int, bool] = {}
    for r in rows:
        self_ok[r.seq] = row_hash(r) == r.entry_hash
    bad = [s for s, ok in self_ok.items() if not ok]
    moved: dict[int, int] = {}  # stored seq -> seq it was written with
    for s in bad:
        r = by_seq[s]
        others = bad if len(bad) <= 200 else []
        for cand in _candidate_seqs(s, others, max_seq):
            if row_hash(r, cand) == r.entry_hash:
                moved[s] = cand
                break
    explained: set[int] = set()
    forgotten_objects = {r.object_ref: r.seq for r in rows if r.action == CustodyAction.FORGOTTEN}

    # insertion with renumbering: entries k+1.. were written as k.., entry k is new
    shifted_up = sorted(s for s, o in moved.items() if o == s - 1)
    if shifted_up:
        k = shifted_up[0] - 1
        run = [s for s in shifted_up if s - shifted_up[0] == shifted_up.index(s)]
        forged = by_seq.get(k)
        if forged is not None and self_ok.get(k) and k not in moved:
            displaced = by_seq[shifted_up[0]]
            before = by_seq.get(k - 1)
            chains_past = displaced.prev_hash == (before.entry_hash if before else GENESIS_HASH)
            problems.append(
                Problem(
                    ProblemKind.ENTRY_INSERTED,
                    f"entry {k} was inserted (forged): the {len(run)} entries after it were "
                    f"renumbered +1"
                    + (
                        f", and entry {k + 1} (written as {k}) chains to entry {k - 1}, not to {k}"
                        if chains_past
                        else ""
                    ),
                    seq=k,
                )
            )
            explained.update(run)
            explained.add(k)
    # deletion with renumbering: entries k.. were written as k+1..
    shifted_down = sorted(s for s, o in moved.items() if o == s + 1 and s not in explained)
    if shifted_down and shifted_down[-1] == max_seq and (shifted_down[0] - 1) not in moved:
        k = shifted_down[0]
        run = [s for s in shifted_down if s >= k]
        if len(run) == max_seq - k + 1:
            problems.append(
                Problem(
                    ProblemKind.ENTRY_DELETED,
                    f"entry {k} was deleted and the {len(run)} entries after it renumbered -1",
                    seq=k,
                )
            )
            explained.update(run)
    # swaps / other moves
    for s in sorted(moved):
        if s in explained:
            continue
        o = moved[s]
        if moved.get(o) == s and o not in explained:
            a, b = sorted((s, o))
            problems.append(
                Problem(
                    ProblemKind.ENTRIES_REORDERED,
                    f"entries {a} and {b} were reordered (their seq numbers were swapped)",
                    seq=a,
                )
            )
            explained.update((a, b))
        else:
            problems.append(
                Problem(
                    ProblemKind.ENTRIES_REORDERED,
                    f"entry stored at seq {s} was written as seq {o} (entries reordered)",
                    seq=s,
                )
            )
            explained.add(s)
    for s in bad:
        if s not in moved:
            problems.append(
                Problem(
                    ProblemKind.ENTRY_ALTERED,
                    f"entry {s} was altered: its fields no longer match its entry_hash "
                    f"(action={by_seq[s].action!r}, actor={by_seq[s].actor!r})",
                    seq=s,
                )
            )
            explained.add(s)
    for r in rows:
        if r.details is None:
            if r.action == CustodyAction.FORGOTTEN:
                continue
            f_seq = forgotten_objects.get(r.object_ref)
            if f_seq is not None and f_seq > r.seq:
                rep.notes.append(f"entry {r.seq}: details redacted (forgotten at entry {f_seq})")
            else:
                problems.append(
                    Problem(
                        ProblemKind.DETAILS_REMOVED,
                        f"entry {r.seq}: details were removed but no later 'forgotten' entry "
                        f"accounts for it",
                        seq=r.seq,
                    )
                )
        elif details_hash(r.details) != r.details_hash:
            problems.append(
                Problem(
                    ProblemKind.ENTRY_ALTERED,
                    f"entry {r.seq} was altered: its details no longer match details_hash",
                    seq=r.seq,
                )
            )

    # --- pass 2: the links between entries -------------------------------------
    prev: CustodyLogEntry | None = None
    for r in rows:
        expected_seq = 1 if prev is None else prev.seq + 1
        if r.seq != expected_seq:
            if r.seq > expected_seq:
                missing = (
                    f"entry {expected_seq}"
                    if r.seq - expected_seq == 1
                    else f"entries {expected_seq}..{r.seq - 1}"
                )
                problems.append(
                    Problem(
                        ProblemKind.ENTRY_DELETED,
                        f"{missing} deleted (gap in seq before entry {r.seq})",
                        seq=expected_seq,
                    )
                )
        else:
            want = prev.entry_hash if prev is not None else GENESIS_HASH
            if (
                r.prev_hash != want
                and r.seq not in explained
                and (prev is None or prev.seq not in explained)
            ):
                target = by_hash.get(r.prev_hash)
                if prev is not None and target is not None and target.seq == prev.seq - 1:
                    msg = (
                        f"chain break at entry {r.seq}: it chains to entry {target.seq}, "
                        f"so entry {prev.seq} was inserted (forged) or replaced"
                    )
                    kind = ProblemKind.ENTRY_INSERTED
                elif prev is not None:
                    msg = (
                        f"chain break at entry {r.seq}: its prev_hash does not match entry "
                        f"{prev.seq}, so entry {prev.seq} was replaced or forged "
                        f"(hash recomputed) or an entry was inserted"
                    )
                    kind = ProblemKind.CHAIN_BREAK
                else:
                    msg = "chain break at entry 1: it does not start from the genesis hash"
                    kind = ProblemKind.CHAIN_BREAK
                problems.append(Problem(kind, msg, seq=r.seq))
        prev = r

    # --- pass 3: head record and external anchors -----------------------------
    if head is None:
        if rows:
            problems.append(Problem(ProblemKind.HEAD_MISSING, "the custody_head record is missing"))
    else:
        _check_anchor(
            rep,
            HeadAnchor(head.last_seq, head.head_hash, "custody_head"),
            by_seq,
            by_hash,
            max_seq,
            explained,
            is_head=True,
        )
    for anchor in anchors:
        n_problems = len(problems)
        _check_anchor(rep, anchor, by_seq, by_hash, max_seq, explained, is_head=False)
        if len(problems) == n_problems and anchor.seq > 0:
            rep.anchored_seq = max(rep.anchored_seq, anchor.seq)

    # --- pass 4: evidence blobs ------------------------------------------------
    if vault is not None:
        _check_blobs(rep, rows, vault, forgotten_objects)
    elif any(r.action == CustodyAction.CAPTURED for r in rows):
        rep.notes.append("blobs not checked (no vault given)")
    problems.sort(key=lambda p: (p.seq is None, p.seq or 0, p.kind.value))
    return rep


def _check_anchor(
    rep: VerifyReport,
    anchor: HeadAnchor,
    by_seq: Mapping[int, CustodyLogEntry],
    by_hash: Mapping[str, CustodyLogEntry],
    max_seq: int,
    explained: set[int],
    *,
    is_head: bool,
) -> None:
    src = anchor.source
    kind_mismatch = ProblemKind.HEAD_MISMATCH if is_head else ProblemKind.ANCHOR_MISMATCH
    found = by_hash.get(anchor.head_hash)
    if not is_head:
        rep.anchors_checked.append(f"{src}: seq {anchor.seq}, {anchor.head_hash}")
    if anchor.seq == 0 and anchor.head_hash == GENESIS_HASH:
        return
    if found is not None and found.seq != anchor.seq:
        if found.seq in explained:
            return  # renumbering already reported
        rep.problems.append(
            Problem(
                kind_mismatch,
                f"{src} names entry {anchor.seq} but that hash is stored at seq {found.seq}",
                seq=found.seq,
            )
        )
        return
    if max_seq < anchor.seq:
        first_missing = max_seq + 1
        rng = (
            f"entry {anchor.seq}"
            if first_missing == anchor.seq
            else f"entries {first_missing}..{anchor.seq}"
        )
        rep.problems.append(
            Problem(
                ProblemKind.LOG_TRUNCATED,
                f"log truncated: it ends at seq {max_seq} but {src} records seq {anchor.seq} "
                f"({rng} removed)",
                seq=first_missing,
            )
        )
        return
    row = by_seq.get(anchor.seq)
    if row is not None and row.entry_hash != anchor.head_hash:
        if anchor.seq in explained:
            return
        rep.problems.append(
            Problem(
                kind_mismatch,
                f"entry {anchor.seq} does not match the hash in {src}: it was replaced or the "
                "log was rewritten from there on",
                seq=anchor.seq,
            )
        )
        return
    if is_head and max_seq > anchor.seq:
        rng = (
            f"entry {max_seq}"
            if max_seq == anchor.seq + 1
            else f"entries {anchor.seq + 1}..{max_seq}"
        )
        rep.problems.append(
            Problem(
                ProblemKind.ENTRY_INSERTED,
                f"{rng} appended without going through the custody writer "
                f"(the head record ends at seq {anchor.seq})",
                seq=anchor.seq + 1,
            )
        )


def _check_blobs(
    rep: VerifyReport,
    rows: Sequence[CustodyLogEntry],
    vault: Vault,
    forgotten_objects: Mapping[str, int],
) -> None:
    kinds = {
        "missing": ProblemKind.BLOB_MISSING,
        "swapped": ProblemKind.BLOB_SWAPPED,
    }
    seen: set[str] = set()
    last_capture = {r.object_ref: r.seq for r in rows if r.action == CustodyAction.CAPTURED}
    deleted = {r.object_ref: r.seq for r in rows if r.action == CustodyAction.DELETED}
    for r in rows:
        if r.action != CustodyAction.CAPTURED:
            continue
        m = ITEM_REF_RE.match(r.object_ref)
        if m is None or m.group(1) in seen:
            continue
        sha = m.group(1)
        seen.add(sha)
        f_seq = forgotten_objects.get(r.object_ref)
        if f_seq is not None and f_seq > r.seq and not vault.has(sha):
            rep.notes.append(f"blob {sha}: deleted on purpose (forgotten at entry {f_seq})")
            continue
        d_seq = deleted.get(r.object_ref)
        if d_seq is not None and d_seq > last_capture[r.object_ref]:
            rep.deletions_logged += 1
            if not vault.has(sha):
                rep.notes.append(f"blob {sha}: deleted on record (entry {d_seq})")
                continue
            rep.notes.append(
                f"blob {sha}: its deletion was logged (entry {d_seq}) but the file is still "
                "in the vault (the deletion was interrupted); it is checked below"
            )
        rep.blobs_checked += 1
        found = vault.verify_blob(sha)
        if [bp.kind for bp in found] == ["missing"] and pending_copy(vault, sha) is not None:
            rep.notes.append(
                f"blob {sha}: its capture (entry {r.seq}) was stopped after the entry and "
                "before the move into place; the copy beside its place decrypts and hashes "
                "correctly, and the next capture moves it in"
            )
            found = []
        if not found:
            rep.blobs_intact += 1
        for bp in found:
            rep.problems.append(
                Problem(
                    kinds.get(bp.kind, ProblemKind.BLOB_ALTERED),
                    f"{bp.message} (captured at entry {r.seq})",
                    seq=r.seq,
                    blob=sha,
                )
            )
