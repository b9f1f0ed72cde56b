#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Print the area of every tests/test-AREA.c that defines a Check suite
(cm_test_suite), so meson can refuse a suite file no area lists."""
import pathlib
import re

here = pathlib.Path(__file__).parent
for src in sorted(here.glob('test-*.c')):
    if re.search(r'^Suite \*cm_test_suite\(void\)$', src.read_text(),
                 re.MULTILINE):
        print(src.stem[len('test-'):])
