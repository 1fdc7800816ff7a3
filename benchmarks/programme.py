"""Programme-monitor benchmark: parsing the seed document end to end, against a trivial baseline.

Workload: ``parse_text`` on the seed Lijst van vragen en antwoorden (84 kB, 107 pairs): split,
footnote markers and linking, cross-references, references, deadline phrases and commitments.
Baseline, same run, same machine: reading the file and splitting it into lines
(``Path.read_text().splitlines()``) - the least any parser must do. Prints the median wall time of
each, their ratio, and whether the target (parse under one second) is met. Also times the
pathological 1 MB single line, which must finish in bounded time.

Usage: python benchmarks/programme.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from nds.programme.parse import parse_text  # noqa: E402

SEED = ROOT / "tests" / "programme" / "fixtures" / "seed.txt"
TARGET_S = 1.0


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()

    def baseline() -> int:
        return len(SEED.read_text(encoding="utf-8").splitlines())

    def parse() -> int:
        r = parse_text(SEED.read_text(encoding="utf-8"))
        assert len(r.pairs) == 107
        return len(r.commitments)

    parse()  # warm up (regex compilation, table loading)
    base = timed(baseline, args.repeat * 10)
    full = timed(parse, args.repeat)
    big = "zal ik eind 2026 " * (1_000_000 // 17)
    worst = timed(lambda: parse_text(big), 1)
    print(f"baseline  read+splitlines      {base * 1000:9.3f} ms")
    print(f"parse     seed (107 pairs)      {full * 1000:9.3f} ms")
    print(f"ratio     parse / baseline      {full / base:9.1f} x")
    print(f"1 MB single line                {worst * 1000:9.1f} ms")
    print(f"target    parse < {TARGET_S:.0f} s: {'met' if full < TARGET_S else 'NOT met'}")


if __name__ == "__main__":
    main()
