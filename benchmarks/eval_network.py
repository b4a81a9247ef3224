"""Role recovery on the generated distribution network (tests/network_scenario.py): the export
is written, scanned through the real pipeline, the network built from the database, and each
role's account-level precision and recall printed against the ground truth, with the misses.

    python benchmarks/eval_network.py

With the public test faces (tests/data, or HAECHI_TESTDATA) the scenario includes the quiet
room whose photo only a finding makes content of interest; person_01 is enrolled after the scan.

Figures are in docs/evaluation/network.md."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from network_scenario import score_roles, write_scenario

from haechi.config import load_settings
from haechi.network.build import build_network
from haechi.persons.enrol import Consent, enrol
from haechi.scan import scan_paths
from haechi.store.db import Database

FACES = (
    Path(
        os.environ.get("HAECHI_TESTDATA") or Path(__file__).resolve().parents[1] / "tests" / "data"
    )
    / "faces"
)


def main() -> None:
    os.environ.setdefault("HAECHI_VAULT__CAPTURE_FINDINGS", "false")  # nothing to preserve here
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        face = FACES / "img10.jpg" if (FACES / "img10.jpg").is_file() else None
        truth = write_scenario(root / "export", root / "media", face=face)
        settings = load_settings(home=root / "home", workers=1)
        db = Database(settings)
        t0 = time.perf_counter()
        scan_paths(db, settings, [root / "export"])
        if face is not None:
            consent = Consent("evaluation", "person_01", "person_01", "match faces", "test data")
            enrol(db, settings, "p1", consent, [FACES / "img1.jpg"])
        t1 = time.perf_counter()
        net = build_network(db, settings)
        t2 = time.perf_counter()
        db.close()
    print(
        f"scan {t1 - t0:.2f} s, network {t2 - t1:.2f} s; {len(net.posts)} posts, "
        f"{len(net.clusters)} content clusters, {len(net.accounts)} accounts, "
        f"{len(net.claims)} claims, {len(net.forwards)} forward links "
        f"({sum(f.certainty == 'uncertain' for f in net.forwards)} uncertain)"
    )
    print(f"{'role':18} {'truth':>5} {'found':>5} {'P':>6} {'R':>6}  missed / extra")
    for s in score_roles([(c.role, c.account) for c in net.claims], truth):
        print(
            f"{s.role:18} {s.truth:5} {s.predicted:5} {s.precision:6.2f} {s.recall:6.2f}  "
            f"{', '.join(s.missed) or '-'} / {', '.join(s.extra) or '-'}"
        )
    print("silent members (no trace in the export):", ", ".join(sorted(truth.silent)))


if __name__ == "__main__":
    main()
