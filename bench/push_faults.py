"""Push under faults: API calls made against calls needed, duplicates and lost actions, both helpdesks.

Each run seeds an in-process emulator (simulated clock, real zenpy / jira clients over HTTP), plans
a write-back for every ticket (tags added and removed, the SLA due field, an internal note; on Jira
also a priority raise) and drives the push the way the sync does: up to 100 queued actions per
push, RETRY kept for the next cycle (30 s later), uncertain notes flagged, and on CONFLICT the
tickets re-read with `fetch` (as `FreshViews.replan` does) and planned again against what they show.

Calls needed: the same work on a fresh emulator without faults. Calls made: every request the
emulator saw, injected failures included (each of those costs one more call at the least, so
"beyond the faults" = made - injected is printed too). Duplicates: notes posted more than once;
lost: planned changes the ticket does not show once the queue is empty (or after 40 cycles).

Faults (seeded; every API path): 409 on writes, 429 with and without Retry-After, 500, and
stalled responses the client gives up on but the emulator then applies.

    .venv/bin/python bench/push_faults.py [--tickets 60] [--issues 40] [--seeds 1,2,3] [--rate 0.30]

The drill itself is `tests/contract/push_drill.py`. Figures are call counts (deterministic for a
seed); CPU time of the driving process is printed for reference, wall time is not (the machine is
shared).
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the drill lives with the tests

from tests.contract.push_drill import Figures, jira_run, zendesk_run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=60)
    parser.add_argument("--issues", type=int, default=40)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--rate", type=float, default=0.30)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"{args.rate:.0%} injected faults, seeds {seeds}; counts summed over the seeds")
    print(
        f"{'helpdesk':<9} {'seed':>4} {'made':>6} {'needed':>6} {'ratio':>6} {'injected':>8} "
        f"{'beyond':>7} {'conflict reads':>14} {'cycles':>6} {'dup':>4} {'lost':>4} {'cpu ms':>7}"
    )
    for name, run, size in (("zendesk", zendesk_run, args.tickets), ("jira", jira_run, args.issues)):
        baseline = run(size, None, 0.0)
        total = Figures()
        for seed in seeds:
            cpu = time.process_time()
            figures = run(size, seed, args.rate)
            cpu_ms = int((time.process_time() - cpu) * 1000)
            figures.needed = baseline.made
            total.add(figures)
            _row(name, str(seed), figures, cpu_ms)
        _row(name, "all", total, None)
        if baseline.lost or baseline.duplicates:
            print(f"  (the fault-free run itself lost {baseline.lost}, duplicated {baseline.duplicates})")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def _row(name: str, seed: str, f: Figures, cpu_ms: int | None) -> None:
    ratio = f.made / f.needed if f.needed else float("nan")
    beyond = (f.made - f.injected) / f.needed if f.needed else float("nan")
    print(
        f"{name:<9} {seed:>4} {f.made:>6} {f.needed:>6} {ratio:>6.2f} {f.injected:>8} {beyond:>7.2f} "
        f"{f.reads_after_conflict:>14} {f.cycles:>6} {f.duplicates:>4} {f.lost:>4} "
        f"{'' if cpu_ms is None else cpu_ms:>7}"
    )


if __name__ == "__main__":
    main()
