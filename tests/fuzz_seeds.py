"""How the fuzz tests run and mutate their seeds: FUZZ, the run's settings (HAECHI_FUZZ_EXAMPLES
examples per parser, default 60; `make fuzz` raises it), and `mutated`, a valid seed with a few
bytes flipped, inserted, deleted, cut or repeated.

The short run in `make test` draws the same examples every time, so a red test suite always
means a change broke a parser; `make fuzz` (HAECHI_FUZZ_EXAMPLES set) draws new ones to explore."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("HAECHI_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize="HAECHI_FUZZ_EXAMPLES" not in os.environ,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """The seed with a few edits: bytes replaced, runs inserted or deleted, or cut short."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "cut", "splice"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif op == "cut":
            del data[at:]
        else:  # a piece of the seed repeated elsewhere: nesting, duplicated keys
            n = draw(st.integers(1, 200))
            data[at:at] = seed[draw(st.integers(0, len(seed) - 1)) :][:n]
    return bytes(data)
