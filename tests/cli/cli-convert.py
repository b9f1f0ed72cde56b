#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""cma-convert: mode round trips, rebasing, in-place conversion, output
files kept whole on every refusal, size limits.
"""
from clitest import *  # noqa: F401,F403


@case
def convert_round_trips():
    for shape, n, omap in (("list", 7, False), ("tree", 12, True),
                           ("graph", 9, False), ("graph", 9, True),
                           ("flat", 4, False)):
        for first, second in (("relative", "absolute"),
                              ("absolute", "relative")):
            src = blob(shape, n, first, omap)
            a, b = path("rt-a.cm"), path("rt-b.cm")
            convert_ok(src, "-o", a, "--" + second)
            h = header(read(a))
            eq(h["mode_value"], 1 if second == "relative" else 2)
            eq(run(VERIFY, a)[0], 0)
            eq(blob_pointers(a), blob_pointers(src), "same pointers")
            convert_ok(a, "-o", b, "--" + first)
            eq(read(b), read(src), "%s %s round trip" % (shape, first))
            convert_ok(src, "-o", b)
            eq(read(b), read(src), "no mode option: a copy")


@case
def convert_rebase():
    src = blob("graph", 8, "relative")
    out = path("rebased.cm")
    convert_ok(src, "-o", out, "--rebase", "0x10000")
    h = header(read(out))
    eq(h["base"], 0x10000)
    old = blob_pointers(src)
    base0 = header(read(src))["base"]
    eq(blob_pointers(out), [(s, v - base0 + 0x10000) for s, v in old])
    convert_ok(src, "-o", out, "--rebase", "65536", "--absolute")
    eq(header(read(out))["base"], 65536)
    # Two runs of one program: different bases, same canonical bytes.
    a, b = path("canon-1.cm"), path("canon-2.cm")
    helper(MAKE_BLOB, "tree", 9, "relative", a)
    helper(MAKE_BLOB, "tree", 9, "relative", b)
    convert_ok(a, "-o", path("canon-1.out"), "--rebase", "0")
    convert_ok(b, "-o", path("canon-2.out"), "--rebase", "0")
    eq(read(path("canon-1.out")), read(path("canon-2.out")))
    eq(header(read(path("canon-1.out")))["base"], 0)


@case
def convert_in_place_and_permissions():
    p = write(path("inplace.cm"), read(blob("list", 5, "relative")))
    os.chmod(p, 0o640)
    ino = os.stat(p).st_ino
    convert_ok(p, "--in-place", "--absolute")
    st = os.stat(p)
    eq(stat.S_IMODE(st.st_mode), 0o640, "--in-place keeps the mode")
    check(st.st_ino != ino, "replaced by rename, not rewritten")
    eq(header(read(p))["mode_value"], 2)
    convert_ok(p, "-i", "--relative")
    eq(read(p), read(blob("list", 5, "relative")))
    for mask, want in ((0o022, 0o644), (0o077, 0o600), (0o002, 0o664)):
        out = path("perm-%o.cm" % mask)
        st_, _, err = run(CONVERT, blob(), "-o", out,
                          preexec_fn=lambda m=mask: os.umask(m))
        eq(st_, 0, err)
        eq(stat.S_IMODE(os.stat(out).st_mode), want, "umask %o" % mask)
    eq(sorted(x for x in os.listdir(TMP) if x.startswith(".")), [],
       "no temporary file left")


@case
def convert_replaces_existing_output():
    out = write(path("existing.cm"), b"old bytes")
    convert_ok(blob("tree", 5, "absolute"), "-o", out, "--relative")
    eq(run(VERIFY, out)[0], 0)
    eq(header(read(out))["mode_value"], 1)


@case
def convert_refusals_keep_output():
    out = write(path("keep.cm"), b"precious")
    for data, want in ((read(blob())[:-1], 1), (b"", 4), (b"nope" * 9, 4)):
        p = write(path("refused.cm"), data)
        st, o, err = run(CONVERT, p, "-o", out, "--absolute")
        eq(st, want, err)
        eq(read(out), b"precious", "OUT keeps its bytes")
        check(err.startswith("cma-convert: %s: offset 0x" % p), err)
    st, _, _ = run(CONVERT, path("refused.cm"), "-o", path("never.cm"))
    check(not os.path.exists(path("never.cm")), "a missing OUT stays so")
    eq([x for x in os.listdir(TMP) if x.startswith(".")], [])


def streamed(src, *args):
    """cma-convert's output on a pipe, where no copy runs ahead of it."""
    with open(path("streamed.cm"), "wb") as f:
        st, _, err = run(CONVERT, src, "-o", "-", *args, stdout=f)
    eq(st, 0, err)
    return read(path("streamed.cm"))


@case
def convert_large_data_copied_ahead():
    # Data over a MiB: a thread copies it into OUT while IN is checked.
    for first, second in (("relative", "absolute"),
                          ("absolute", "relative")):
        src = blob("list", 100000, first)
        base = "%#x" % header(read(src))["base"]
        for args in (["--" + second], [], ["--rebase", base],
                     ["--rebase", "0x10000"], ["--" + second, "--sync"]):
            want = streamed(src, *args)
            out = write(path("ahead.cm"), b"longer old bytes" * 400000)
            convert_ok(src, "-o", out, *args)
            eq(read(out), want, "%s %s: the streamed bytes" % (src, args))
    # Refused after the copy began: OUT keeps its bytes, nothing is left.
    src = blob("list", 100000, "relative")
    h = header(read(src))
    last_slot = blob_pointers(src)[-1][0]
    out = write(path("keep-ahead.cm"), b"precious")
    for name, edit in (
            ("ahead-sum.cm", lambda b: b.__setitem__(h["data_end"] - 1,
                                                     b[h["data_end"] - 1]
                                                     ^ 1)),
            ("ahead-ptr.cm", lambda b: put64(b, last_slot,
                                             h["base"] + h["blob_size"]))):
        bad = variant(src, name, edit)
        st, _, err = run(CONVERT, bad, "-o", out, "--absolute")
        eq(st, 1, err)
        eq(read(out), b"precious", "OUT keeps its bytes")
    eq([x for x in os.listdir(TMP) if x.startswith(".")], [])


def fsyncs(*args):
    """cma-convert's fsync calls, one "fsync file" or "fsync dir" each,
    logged by the fsync-log shim (LD_PRELOAD); it must succeed."""
    shim, sanitize = (sys.argv[6:8] + [None, None])[:2]
    if not shim:
        raise Skip("no fsync-log shim given")
    if EXE or sanitize not in ("", "none"):
        raise Skip("LD_PRELOAD cannot reach the tool under %s"
                   % ("an emulator" if EXE else "a sanitizer"))
    log = path("fsync.log")
    if os.path.exists(log):
        os.unlink(log)
    env = dict(os.environ, LD_PRELOAD=shim, FSYNC_LOG=log)
    st, _, err = run(CONVERT, *args, env=env)
    eq(st, 0, err)
    return read(log).decode().splitlines() if os.path.exists(log) else []


@case
def convert_durable_when_asked_or_in_place():
    src = blob("list", 100000, "relative")
    out = path("durable.cm")
    synced = ["fsync file", "fsync dir"]
    # Like cp: the kernel writes OUT back when it will; IN still exists.
    eq(fsyncs(src, "-o", out, "--absolute"), [], "-o alone")
    eq(run(VERIFY, out)[0], 0)
    eq(fsyncs(src, "-o", out, "--absolute", "--sync"), synced, "--sync")
    eq(run(VERIFY, out)[0], 0)
    # In place, IN is the only copy of the data: always made durable.
    p = write(path("durable-in.cm"), read(src))
    eq(fsyncs(p, "--in-place", "--absolute"), synced, "--in-place")
    eq(header(read(p))["mode_value"], 2)
    # A stream has nothing to fsync.
    eq(fsyncs(src, "-o", "-", "--sync"), [], "-o -")


@case
def convert_stdin_input():
    out = path("from-stdin.cm")
    st, _, err = run(CONVERT, "-", "-o", out, "--absolute",
                     stdin=read(blob()))
    eq(st, 0, err)
    eq(blob_pointers(out), blob_pointers(blob()))


@case
def convert_parent_is_a_file():
    parent = write(path("not-a-dir"), b"x")
    st, out, err = run(CONVERT, blob(), "-o", os.path.join(parent, "o.cm"))
    eq(st, 3, err)
    check(err.startswith("cma-convert: "), err)
    eq(read(parent), b"x")
    st, _, _ = run(CONVERT, blob(), "-o", path("no-such-dir/o.cm"))
    eq(st, 3)
    check(not os.path.exists(path("no-such-dir")))


def limit_fsize(limit):
    def pre():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return pre


@case
def convert_file_size_limit():
    src = blob("tree", 200, "relative")
    d = os.path.join(TMP, "fsize")
    os.mkdir(d)
    out = write(os.path.join(d, "out.cm"), b"old contents")
    before = sorted(os.listdir(d))
    st, _, err = run(CONVERT, src, "-o", out, "--absolute",
                     preexec_fn=limit_fsize(4096))
    eq(st, 3, err)
    check("File too large" in err or "cannot write" in err, err)
    eq(read(out), b"old contents", "OUT intact")
    eq(sorted(os.listdir(d)), before, "no temporary file left")
    st, _, err = run(CONVERT, src, "-o", os.path.join(d, "new.cm"),
                     preexec_fn=limit_fsize(4096))
    eq(st, 3, err)
    eq(sorted(os.listdir(d)), before, "a missing OUT stays missing")
    # In place: the input survives.
    p = write(os.path.join(d, "in.cm"), read(src))
    st, _, _ = run(CONVERT, p, "--in-place", "--absolute",
                   preexec_fn=limit_fsize(4096))
    eq(st, 3)
    eq(read(p), read(src))


@case
def convert_relative_over_2gib_refused():
    """A sparse absolute blob whose data passes 2 GiB: --relative refused."""
    base = 0x7f0000000000
    data_end = (1 << 31) + 4096
    p = path("huge.cm")
    h = bytearray(128)
    h[0:8] = MAGIC
    struct.pack_into("<HHIII", h, 8, 1, 0, 128, 2, 0)
    struct.pack_into("<QQQQQQQQQQQ", h, 32, base, data_end + 8, 128,
                     data_end, data_end, 8, 1, 0, 0, data_end + 8, 0)
    with open(p, "wb") as f:
        f.write(h)
        f.write(struct.pack("<QQ", 0, base + 128))  # slot 0x88 -> 0x80
        f.seek(data_end)
        f.write(struct.pack("<Q", 136))
    eq(run(VERIFY, "--no-checksum", p)[0], 0, "the huge blob is well formed")
    out = path("huge-rel.cm")
    st, _, err = run(CONVERT, "--no-checksum", p, "-o", out, "--relative")
    eq(st, 1, err)
    check("2 GiB" in err or "relative" in err, err)
    check(not os.path.exists(out), "no output")
    eq([x for x in os.listdir(TMP) if x.startswith(".huge")], [])
    os.unlink(p)


run_cases()
