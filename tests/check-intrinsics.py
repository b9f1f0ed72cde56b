#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Only the kernels in lib/x86/ include an intrinsics header, and with
-Dcpu=portable nothing does: read from ninja's record of every object's
headers (ninja -t deps) after the build."""
import re
import subprocess
import sys

# <immintrin.h>, <emmintrin.h>, <x86intrin.h>, <arm_neon.h>, ...
INTRINSICS = re.compile(r"(^|/)(\w*intrin\.h|arm_neon\.h|arm_sve\.h)$")
X86_KERNEL = re.compile(r"x86_[\w.-]+\.c\.o$")


def deps(ninja, build):
    """{object: [headers]} for every object ninja has compiled."""
    out = subprocess.run([ninja, "-C", build, "-t", "deps"], check=True,
                         capture_output=True, text=True).stdout
    found, target = {}, None
    for line in out.splitlines():
        if line and not line[0].isspace():
            target = line.split(":")[0]
            found[target] = []
        elif line.strip() and target:
            found[target].append(line.strip())
    return found


def main():
    ninja, build, cpu = sys.argv[1:4]
    objects = {t: d for t, d in deps(ninja, build).items()
               if t.endswith(".o")}
    bad = []
    for target, headers in sorted(objects.items()):
        used = [h for h in headers if INTRINSICS.search(h)]
        kernel = X86_KERNEL.search(target)
        if cpu == "portable" and kernel:
            bad.append(f"{target}: an x86 kernel in a portable build")
        elif used and (cpu == "portable" or not kernel):
            bad.append(f"{target}: includes {used[0]}")
    if not objects:
        bad.append(f"{build}: ninja recorded no object's headers")
    for b in bad:
        print(b)
    print(f"{len(objects)} objects, {len(bad)} with intrinsics outside "
          "lib/x86/")
    print(f"{0 if bad else 1} passed, {1 if bad else 0} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
