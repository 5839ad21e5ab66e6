"""Mutation score of the lake and the batch step: mutmut's mutants, each in a fresh pytest.

Run: `make mutants` (a seeded sample of 120) or `make mutants SAMPLE=0` (every mutant; days of
this machine). mutmut 3.8.1 writes its mutants of `[tool.mutmut] source_paths` under `mutants/`
and records which tests reach each function (its "stats" run, in one pytest process); this
module then runs, for each chosen mutant, those tests in a pytest process of its own with the
mutant switched on (`MUTANT_UNDER_TEST`, which mutmut's trampolines read). A failing test kills
it; a run that passes lets it survive.

Why not `mutmut run` itself: it forks its pytest process per mutant, and a fork of a process
whose Prefect test harness holds threads and an event loop hangs (seen here: two mutants idle
for minutes, then scored "timeout", which mutmut counts as killed). A fresh process costs
about ten seconds of start-up a mutant and cannot hang that way.

Why a sample: there are ~3,100 mutants, and the tests that reach a typical lake function take a
minute or more together. A uniform sample, seeded so that a re-run picks the same mutants,
estimates the killed share with a stated interval; its survivors are each looked at
(bench/RESULTS.md "Mutation testing").
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "mutants"
MUTMUT = Path(sys.executable).with_name("mutmut")
RESULTS = MUTANTS / "sample-results.json"
_PYTEST = [sys.executable, "-m", "pytest", "-x", "-q", "-n0", "-p", "no:cacheprovider"]


def _meta_files() -> list[Path]:
    return sorted(MUTANTS.rglob("*.py.meta"))


def all_mutants() -> list[str]:
    """Every mutant mutmut generated, by name."""
    names: list[str] = []
    for meta in _meta_files():
        names += json.loads(meta.read_text())["exit_code_by_key"]
    return sorted(names)


def _generate() -> None:
    """mutmut's mutants and its map of tests by function; the filter matches no mutant, so it
    stops there (with an assertion) instead of testing them."""
    subprocess.run([str(MUTMUT), "run", "nothing-matches-this*"], cwd=ROOT, check=False)


def _tests_by_function() -> tuple[dict[str, list[str]], dict[str, float]]:
    stats = json.loads((MUTANTS / "mutmut-stats.json").read_text())
    return stats["tests_by_mangled_function_name"], stats["duration_by_test"]


def _pytest(tests: list[str], mutant: str, timeout_s: float) -> str:
    """ "killed", "survived" or "timeout": the tests run with `mutant` switched on."""
    env = {**os.environ, "MUTANT_UNDER_TEST": mutant}
    try:
        done = subprocess.run(
            [*_PYTEST, *tests], cwd=MUTANTS, env=env, capture_output=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        return "timeout"
    return "survived" if done.returncode == 0 else "killed"


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
    parser.add_argument("--sample", type=int, default=120, help="mutants to run; 0: every one")
    parser.add_argument("--seed", type=int, default=26)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    if not (MUTANTS / "mutmut-stats.json").exists():
        _generate()
    if not (MUTANTS / "mutmut-stats.json").exists():
        sys.exit("mutmut could not map the tests to functions (its output is above)")
    names = all_mutants()
    # In the sample's own random order, so that a run stopped early still has a uniform sample.
    chosen = random.Random(args.seed).sample(names, args.sample) if args.sample else names
    by_function, durations = _tests_by_function()

    def tests_of(name: str) -> list[str]:
        # Fastest first: with -x the first failing test ends the run.
        return sorted(by_function.get(name.partition("__mutmut_")[0], []), key=durations.get)

    union = sorted({t for n in chosen for t in tests_of(n)}, key=durations.get)
    if not RESULTS.exists() and _pytest(union, "", timeout_s=3600) != "survived":
        sys.exit("the tests fail with no mutant switched on: fix them first")
    # Each outcome is written as it comes: a run that is stopped resumes where it was.
    outcome: dict[str, str] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    lock = threading.Lock()

    def run(name: str) -> None:
        if name in outcome:
            return
        tests = tests_of(name)
        budget = 120 + 3 * sum(durations.get(t, 10.0) for t in tests)
        result = _pytest(tests, name, budget) if tests else "no tests"
        with lock:
            outcome[name] = result
            RESULTS.write_text(json.dumps(outcome, indent=1, sort_keys=True))
        print(f"{len(outcome):4d}/{len(chosen)} {result:8s} {name}", flush=True)

    started = time.perf_counter()
    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(run, chosen))
    outcome = {n: outcome[n] for n in chosen}
    killed = [n for n, s in outcome.items() if s in ("killed", "timeout")]
    timeouts = [n for n, s in outcome.items() if s == "timeout"]
    left = [n for n, s in outcome.items() if s in ("survived", "no tests")]
    low, high = _wilson(len(killed), len(outcome))
    score = len(killed) / max(len(outcome), 1)
    print(f"\nmutants: {len(names)} generated, {len(chosen)} run (seed {args.seed}) in "
          f"{time.perf_counter() - started:.0f} s")  # fmt: skip
    print(f"killed {len(killed)} ({len(timeouts)} by timeout), not killed {len(left)}: "
          f"score {score:.3f} (95% interval {low:.3f}-{high:.3f})")  # fmt: skip
    for name in left:
        print(f"  {outcome[name]}: {name}")


if __name__ == "__main__":
    main()
