#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What `meson install --destdir` puts in place: the tools, the header, the
libraries and cma.pc, a section-3 man page for every exported function,
the tools' and the format's man pages, the documents and LICENSE, every
example's source, and the bash completion of each tool.

Usage: check-install.py MESON BUILD-DIR SOURCE-DIR LIBCMA.SO

Installs into a temporary directory (removed after) and looks for each
path below it, whatever the prefix. Exits 77 when no man page was built
(scdoc missing): the pages are then not installed by design.
"""
import glob
import importlib.util
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def exported_names(lib, version_script):
    """The names check-manpages.py requires a page for."""
    spec = importlib.util.spec_from_file_location(
        "check_manpages", os.path.join(HERE, "check-manpages.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.exported(lib, version_script)


def main():
    meson, build, source, lib = sys.argv[1:5]
    if not os.path.exists(os.path.join(build, "doc", "libcma.3")):
        print("no man pages built (scdoc missing): skipped")
        return 77
    want = ["bin/cma-dump", "bin/cma-verify", "bin/cma-convert",
            "include/cma.h", "libcma.so.1", "libcma.a",
            "pkgconfig/cma.pc",
            "share/man/man3/libcma.3", "share/man/man5/cma-format.5"]
    want += ["share/man/man1/%s.1" % t
             for t in ("cma-dump", "cma-verify", "cma-convert")]
    want += ["share/man/man3/%s.3" % n
             for n in exported_names(lib, os.path.join(source, "lib",
                                                       "libcma.map"))]
    want += ["share/doc/libcma/" + d
             for d in ("LICENSE", "README.md", "NEWS.md", "CONTRIBUTING.md",
                       "format.md", "legacy-format.md", "abi.md")]
    want += ["share/doc/libcma/examples/" + os.path.basename(f)
             for f in sorted(glob.glob(os.path.join(source, "examples",
                                                    "*.c")))]
    want += ["bash-completion/completions/" + t
             for t in ("cma-dump", "cma-verify", "cma-convert")]
    with tempfile.TemporaryDirectory(prefix="cma-install-") as dest:
        p = subprocess.run([meson, "install", "-C", build, "--no-rebuild",
                            "--destdir", dest], capture_output=True,
                           text=True)
        if p.returncode:
            print(p.stdout, p.stderr)
            print("0 passed, 1 failed")
            return 1
        installed = [os.path.relpath(os.path.join(d, f), dest)
                     for d, _, files in os.walk(dest) for f in files]
        passed = failed = 0
        for suffix in want:
            if any(("/" + path).endswith("/" + suffix) for path in installed):
                passed += 1
            else:
                failed += 1
                print("not installed: " + suffix)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
