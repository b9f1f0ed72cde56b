#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""cma-convert killed with SIGKILL at random points: the input stays intact,
the destination is absent, unchanged or a complete valid blob, and at most a
temporary file named .OUT.XXXXXX remains."""
import hashlib
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time

convert, verify, make_blob = sys.argv[1:4]
# In a cross build, meson's runner for the programs it built (qemu-user).
EXE = shlex.split(os.environ.get("MESON_EXE_WRAPPER", ""))
RUNS = int(os.environ.get("CMA_KILL_RUNS", "60"))
TEMP = re.compile(r"^\.out\.cm\.[A-Za-z0-9]{6}$")


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    passed = failed = 0
    rng = random.Random(20261127)
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "in.cm")
        subprocess.run(EXE + [make_blob, "list", "1000000", "relative", src],
                       check=True)
        want = os.path.join(d, "want.cm")
        subprocess.run(EXE + [convert, "--absolute", src, "-o", want],
                       check=True)
        src_sum, want_sum = digest(src), digest(want)
        t0 = time.monotonic()
        subprocess.run(EXE + [convert, "--absolute", src, "-o",
                        os.path.join(d, "timing.cm")], check=True)
        full = time.monotonic() - t0
        os.unlink(os.path.join(d, "timing.cm"))
        outcomes = {"absent": 0, "old": 0, "complete": 0}
        for run in range(RUNS):
            out = os.path.join(d, "out.cm")
            # Half the runs replace an existing destination.
            old = run % 2 == 1
            if old:
                with open(out, "wb") as f:
                    f.write(b"old bytes")
            elif os.path.exists(out):
                os.unlink(out)
            p = subprocess.Popen(EXE + [convert, "--absolute", src, "-o", out])
            time.sleep(rng.uniform(0, full * 1.2))
            p.send_signal(signal.SIGKILL)
            p.wait()
            problems = []
            if digest(src) != src_sum:
                problems.append("input changed")
            if not os.path.exists(out):
                state = "absent"
                if old:
                    problems.append("existing destination vanished")
            else:
                with open(out, "rb") as f:
                    data = f.read()
                if old and data == b"old bytes":
                    state = "old"
                elif digest(out) == want_sum:
                    state = "complete"
                    verdict = subprocess.run(EXE + [verify, "--quiet", out])
                    if verdict.returncode:
                        problems.append("complete output does not verify")
                else:
                    state = "partial"
                    problems.append("partial destination")
            for name in os.listdir(d):
                if name in ("in.cm", "want.cm", "out.cm"):
                    continue
                if TEMP.match(name):
                    os.unlink(os.path.join(d, name))  # documented leftover
                else:
                    problems.append("stray file " + name)
            if problems:
                failed += 1
                print(f"run {run}: {state}: {', '.join(problems)}")
            else:
                passed += 1
                outcomes[state] = outcomes.get(state, 0) + 1
        print("outcomes:", ", ".join(f"{k} {v}" for k, v in outcomes.items()))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
