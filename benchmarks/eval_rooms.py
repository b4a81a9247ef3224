"""Room ranking on labelled rooms: precision and recall at the fixed flag threshold
(settings.thresholds.room_risk_flag) and ROC AUC, on two sets:

- the generated rooms of tests/rooms_dataset.py (dev and held-out splits, per seed), written
  together with the lexicon: they measure self-consistency;
- the hand-written rooms of tests/data/rooms_reported_2024.yaml, modelled on the 2024 reporting
  and frozen before the lexicon was tuned against plain sale rooms (issue 13): the honest figure.

    python benchmarks/eval_rooms.py                 # default seed: dev, held-out, reported
    python benchmarks/eval_rooms.py --sweep 20      # held-out over seeds 1..20

The scores come from the same code as `haechi rooms`: ChatTextAnalyzer per message, then
network.rooms.score_room over the stored evidence. Figures are in docs/evaluation/rooms.md."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from rooms_dataset import SEED, Room, generate_rooms, reported_rooms

from haechi.analyzers.chat_text import ChatTextAnalyzer
from haechi.config import Settings, load_settings
from haechi.network.rooms import Line, score_room


@dataclass(frozen=True)
class Figures:
    tp: int
    fp: int
    fn: int
    auc: float
    scores: dict[str, tuple[str, int, float]]  # room id -> (kind, label, score)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return float("nan")
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def room_scores(analyzer: ChatTextAnalyzer, rooms: Sequence[Room]) -> dict[str, float]:
    out = {}
    for room in rooms:
        lines = [
            Line(i, m.text, analyzer.analyze(m.text).evidence())
            for i, m in enumerate(room.messages, start=1)
        ]
        out[room.room_id] = score_room(lines, analyzer.categories).score
    return out


def evaluate(settings: Settings, split: str, seed: int) -> Figures:
    analyzer = ChatTextAnalyzer(settings)
    rooms = reported_rooms() if split == "reported" else generate_rooms(split, seed)
    scores = room_scores(analyzer, rooms)
    flag = settings.thresholds.room_risk_flag
    tp = sum(1 for r in rooms if r.label and scores[r.room_id] >= flag)
    fp = sum(1 for r in rooms if not r.label and scores[r.room_id] >= flag)
    fn = sum(1 for r in rooms if r.label and scores[r.room_id] < flag)
    auc = roc_auc([r.label for r in rooms], [scores[r.room_id] for r in rooms])
    detail = {r.room_id: (r.kind, r.label, scores[r.room_id]) for r in rooms}
    return Figures(tp, fp, fn, auc, detail)


def _report(name: str, f: Figures, flag: float) -> None:
    print(
        f"{name}: P={f.precision:.3f} R={f.recall:.3f} (tp={f.tp} fp={f.fp} fn={f.fn}) "
        f"AUC={f.auc:.3f}"
    )
    # R-precision: of the top N rooms by score (N = trading rooms), how many trade. It reads
    # the ranking a person works down, whatever the flag.
    ranked = sorted(f.scores.values(), key=lambda v: -v[2])
    n = sum(y for _k, y, _s in ranked)
    print(f"  R-precision (top {n}): {sum(y for _k, y, _s in ranked[:n]) / max(1, n):.3f}")
    by_kind: dict[str, list[float]] = {}
    for kind, _label, s in f.scores.values():
        by_kind.setdefault(kind, []).append(s)
    print(
        "  mean/max by kind: "
        + ", ".join(f"{k} {sum(v) / len(v):.2f}/{max(v):.2f}" for k, v in sorted(by_kind.items()))
    )
    wrong = sorted((s, rid) for rid, (_k, y, s) in f.scores.items() if (s >= flag) != bool(y))
    if wrong:
        print("  wrong side of the flag: " + ", ".join(f"{r} {s:.2f}" for s, r in wrong))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--sweep", type=int, default=0, help="held-out over seeds 1..N")
    ap.add_argument("--split", choices=("dev", "heldout", "reported", "all"), default="all")
    args = ap.parse_args(argv)
    settings = load_settings()
    if args.sweep:
        tp = fp = fn = 0
        worst_p, worst_r, aucs = 1.0, 1.0, []
        for seed in range(1, args.sweep + 1):
            f = evaluate(settings, "heldout", seed)
            tp, fp, fn = tp + f.tp, fp + f.fp, fn + f.fn
            worst_p, worst_r = min(worst_p, f.precision), min(worst_r, f.recall)
            aucs.append(f.auc)
            print(f"seed {seed:>2}: P={f.precision:.3f} R={f.recall:.3f} AUC={f.auc:.3f}")
        print(
            f"held-out, seeds 1..{args.sweep} pooled: P={tp / max(1, tp + fp):.3f} "
            f"R={tp / max(1, tp + fn):.3f} (tp={tp} fp={fp} fn={fn}); worst seed P={worst_p:.3f} "
            f"R={worst_r:.3f}; AUC mean {sum(aucs) / len(aucs):.3f} min {min(aucs):.3f}"
        )
        return 0
    splits = ("dev", "heldout", "reported") if args.split == "all" else (args.split,)
    for split in splits:
        name = "reported 2024 (frozen)" if split == "reported" else f"{split} (seed {args.seed})"
        _report(name, evaluate(settings, split, args.seed), settings.thresholds.room_risk_flag)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
