"""Mutation score of the lake and the batch step: a seeded random sample of mutmut's mutants.

Run: `make mutants` (every mutant) or `make mutants SAMPLE=120` (this module:
`python -m bench.mutants --sample 120`). mutmut 3.8.1 writes its mutants of `[tool.mutmut]
source_paths` under `mutants/` and runs, for each, the tests that call the mutated function.

Why a sample: there are ~3,000 mutants of `tasks/lake/` and `tasks/pages/batch.py`, and the
tests that reach a typical lake function (flows that ingest, commit and query) take a minute or
more together, so every mutant is days of this machine's two cores. A uniform sample, seeded so
that a re-run picks the same mutants, estimates the killed share with a stated interval, and its
survivors are each looked at (bench/RESULTS.md "Mutation testing").
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "mutants"
MUTMUT = Path(sys.executable).with_name("mutmut")
# mutmut's own reading of its exit codes; a timeout or a crash counts as killed, as it counts it.
_KILLED = {"killed", "timeout", "segfault", "caught by type check"}


def _meta_files() -> list[Path]:
    return sorted(MUTANTS.rglob("*.py.meta"))


def all_mutants() -> list[str]:
    """Every mutant mutmut generated, by name."""
    names: list[str] = []
    for meta in _meta_files():
        names += json.loads(meta.read_text())["exit_code_by_key"]
    return sorted(names)


def _outcomes() -> dict[str, str]:
    """Each mutant's status as mutmut names it (killed, survived, no tests, not checked, …)."""
    from mutmut.stats import status_by_exit_code

    found: dict[str, str] = {}
    for meta in _meta_files():
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        found |= {name: status_by_exit_code[code] for name, code in codes.items()}
    return found


def _wilson(killed: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson interval of a share estimated from a sample."""
    if total == 0:
        return 0.0, 1.0
    p = killed / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return centre - half, centre + half


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=0, help="mutants to run; 0: every one")
    parser.add_argument("--seed", type=int, default=26)
    parser.add_argument("--children", type=int, default=2)
    args = parser.parse_args()
    if not _meta_files():  # mutmut generates the mutants (and the test map) on its first run
        subprocess.run([str(MUTMUT), "run", "--max-children", str(args.children), "nothing*"],
                       cwd=ROOT, check=False)  # fmt: skip
    names = all_mutants()
    chosen = sorted(random.Random(args.seed).sample(names, args.sample)) if args.sample else []
    subprocess.run(
        [str(MUTMUT), "run", "--max-children", str(args.children), *chosen], cwd=ROOT, check=False
    )
    outcome = _outcomes()
    ran = {n: outcome.get(n, "not checked") for n in (chosen or names)}
    killed = [n for n, s in ran.items() if s in _KILLED]
    survived = [n for n, s in ran.items() if s == "survived"]
    untested = [n for n, s in ran.items() if s == "no tests"]
    other = [n for n, s in ran.items() if n not in {*killed, *survived, *untested}]
    scored = len(killed) + len(survived) + len(untested)
    low, high = _wilson(len(killed), scored)
    print(f"mutants: {len(names)} generated, {len(ran)} run (seed {args.seed})")
    print(f"killed {len(killed)}, survived {len(survived)}, no test reaches {len(untested)}, "
          f"not finished {len(other)}")  # fmt: skip
    if scored:
        print(f"score {len(killed) / scored:.3f} (95% interval {low:.3f}-{high:.3f})")
    for name in survived + untested:
        print(f"  {'survived' if name in survived else 'no test '}: {name}")


if __name__ == "__main__":
    main()
