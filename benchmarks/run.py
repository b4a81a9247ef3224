"""Run every benchmark module (`bench_*.py` here) and print figures with ratios against
baselines measured in the same run, on the same machine, on the same generated data.

    make bench                      # everything
    python benchmarks/run.py scan   # only modules whose name contains "scan"
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Result:
    name: str
    value: float
    unit: str
    baseline: str | None = None
    baseline_value: float | None = None
    higher_is_better: bool = True

    @property
    def ratio(self) -> float | None:
        if self.baseline_value in (None, 0) or self.value == 0:
            return None
        assert self.baseline_value is not None
        r = self.value / self.baseline_value
        return r if self.higher_is_better else 1 / r


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(HERE))
    wanted = argv[1:]
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if wanted:
        modules = [m for m in modules if any(w in m for w in wanted)]
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="haechi-bench-") as tmp:
        for name in modules:
            mod = importlib.import_module(name)
            print(f"== {name}: {mod.__doc__.strip().splitlines()[0] if mod.__doc__ else ''}")
            started = time.perf_counter()
            got = mod.run(Path(tmp) / name)
            for r in got:
                ratio = f"  ×{r.ratio:.2f} vs {r.baseline}" if r.ratio is not None else ""
                base = (
                    f"  (baseline {r.baseline_value:.2f} {r.unit})"
                    if r.baseline_value is not None
                    else ""
                )
                print(f"  {r.name:<44} {r.value:>10.2f} {r.unit}{base}{ratio}")
            print(f"  ({time.perf_counter() - started:.1f} s)")
            results.extend(got)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    record = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "cpu": platform.processor()},
        "results": [asdict(r) | {"ratio": r.ratio} for r in results],
    }
    (out / "latest.json").write_text(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
