"""The garbage collector settings a worker process runs its sync with (`connector.collector`)."""

from __future__ import annotations

import json
import subprocess
import sys

from connector.collector import MIDDLE_THRESHOLD, OLD_THRESHOLD, YOUNG_THRESHOLD


def test_settle_for_sync_freezes_what_was_built_and_raises_the_thresholds() -> None:
    # in a fresh interpreter: freezing is for the life of a process, not for the test runner's
    probe = (
        "import gc, json\n"
        "built = [{'n': n} for n in range(1000)]\n"
        "before = gc.get_freeze_count()\n"
        "from connector.collector import settle_for_sync\n"
        "settle_for_sync()\n"
        "print(json.dumps({'before': before, 'frozen': gc.get_freeze_count(), 'threshold': gc.get_threshold()}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    seen = json.loads(out.stdout)
    assert seen["before"] == 0
    assert seen["frozen"] > 1000  # the containers built before the call, and the modules
    assert tuple(seen["threshold"]) == (YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
    assert YOUNG_THRESHOLD > 700  # CPython's default young threshold is what this replaces
