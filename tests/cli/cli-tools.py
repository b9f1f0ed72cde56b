#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What the three tools share: help, usage and exit statuses, I/O
errors, inputs that are not blobs, one verdict for a defective blob;
'-' for stdin and stdout, outputs that are FIFOs, bash completion, colour.
"""
import shutil

from clitest import *  # noqa: F401,F403


@case
def help_usage_version():
    for tool in (DUMP, VERIFY, CONVERT):
        st, out, _ = run(tool, "--help")
        eq(st, 0, tool + " --help")
        check("Report bugs to" in out, "bug-report line")
        check("Exit status" in out, "exit status in --help")
        st, out, _ = run(tool, "--usage")
        eq(st, 0, tool + " --usage")
        check(out.startswith("Usage:"), "--usage output")
        st, out, _ = run(tool, "--version")
        eq(st, 0, tool + " --version")
        check(re.search(r"\(libcma\) \d+\.\d+\.\d+", out), out)
    st, out, _ = run(DUMP, "--help")
    for group in ("What to show", "Output:", "Verdict:"):
        check(group in out, "option group " + group)


@case
def cpu_level_from_environment():
    """CMA_CPU picks the kernels: the same output on every level the CPU
    has; a level it lacks, or no level at all, is a usage error."""
    b, out_file, ref = blob("tree", 9, "absolute"), path("c.cm"), path("r.cm")
    want = [run(VERIFY, "--json", b), run(DUMP, "--json", b)]
    convert_ok("--relative", b, "-o", ref)
    levels = ["auto", "scalar", "sse2", "avx2", "avx512"]
    taken = 0
    try:
        for level in levels + ["bogus", "AVX2", "scalar "]:
            os.environ["CMA_CPU"] = level
            for tool, (st0, out0, err0) in zip((VERIFY, DUMP), want):
                st, out, err = run(tool, "--json", b)
                if level not in levels:
                    eq(st, 2, tool + " CMA_CPU=" + level)
                    eq(err, "%s: CMA_CPU=%s: not a level (auto, scalar, "
                       "sse2, avx2 or avx512)\n"
                       % (os.path.basename(tool), level))
                elif st == 2:
                    check(re.fullmatch(r"\S+: CMA_CPU=%s: this CPU or build "
                                       r"lacks that level \(the best here is "
                                       r"\w+\)\n" % level, err), err)
                else:
                    eq((st, out, err), (st0, out0, err0),
                       tool + " CMA_CPU=" + level)
                    taken += 1
            if level in levels and run(CONVERT, "--relative", b, "-o",
                                       out_file)[0] == 0:
                eq(read(out_file), read(ref), "convert, CMA_CPU=" + level)
    finally:
        del os.environ["CMA_CPU"]
    check(taken >= 4, "auto and scalar always run")


@case
def usage_errors_exit_2():
    b = blob()
    for args in ([DUMP], [DUMP, "--bogus", b], [DUMP, b, b],
                 [DUMP, "--limit", "x", b], [DUMP, "--graph=svg", b],
                 [DUMP, "--graph=dot", "--json", b],
                 [DUMP, "--hex", "--json", b], [DUMP, "--hex=zz", b],
                 [VERIFY], [VERIFY, "--bogus", b],
                 [VERIFY, "--max-errors", "-1", b],
                 [CONVERT, b], [CONVERT, "--bogus", b, "-o", path("u")],
                 [CONVERT, b, "-o", path("u"), "--in-place"],
                 [VERIFY, "--json", "--junit=-", b],
                 [CONVERT, b, "-o", path("u"), "--absolute", "--relative"],
                 [CONVERT, b, "-o", path("u"), "--rebase", "4097"],
                 [CONVERT, b, "-o", path("u"), "--rebase", "12abc"],
                 [CONVERT, b, "-o", path("u"), "--rebase", "-4096"],
                 [CONVERT, b, "-o", path("u"), "--rebase", hex(1 << 47)],
                 [CONVERT, "-", "--in-place"]):
        st, out, err = run(*args)
        eq(st, 2, "usage error for %s (stderr %s)" % (args[1:], err))
        check(err, "a usage error says something")
    check(not os.path.exists(path("u")), "no output after usage errors")


@case
def convert_rebase_past_2_47_is_usage():
    b = blob()
    size = len(read(b))
    top = ((1 << 47) - size) & ~4095
    st, _, err = run(CONVERT, b, "-o", path("r47"), "--rebase",
                     hex(top + 4096))
    eq(st, 2, "ADDR + length past 2^47: " + err)
    check(not os.path.exists(path("r47")))
    convert_ok(b, "-o", path("r47"), "--rebase", hex(top))
    eq(header(read(path("r47")))["base"], top, "rebased at the top")


@case
def convert_output_naming_input_is_usage():
    b = write(path("self.cm"), read(blob()))
    os.link(b, path("self-link.cm"))
    for out in (b, path("self-link.cm"), os.path.join(TMP, ".", "self.cm")):
        st, _, err = run(CONVERT, b, "-o", out, "--absolute")
        eq(st, 2, "-o naming the input: " + err)
    eq(read(b), read(blob()), "input untouched")


@case
def io_errors_exit_3():
    missing = path("does-not-exist.cm")
    for args in ([DUMP, missing], [VERIFY, missing], [DUMP, TMP],
                 [VERIFY, TMP], [CONVERT, missing, "-o", path("x.cm")]):
        st, out, err = run(*args)
        eq(st, 3, "I/O error for %s" % args[1:])
        check(err.startswith(os.path.basename(args[0]) + ": "), err)
    check(not os.path.exists(path("x.cm")))


@case
def stdout_write_error_exit_3():
    b = blob()
    if not os.path.exists("/dev/full"):
        raise Skip("no /dev/full here")
    for args in ([DUMP, b], [DUMP, "--json", b], [VERIFY, b],
                 [VERIFY, "--json", b], [DUMP, "--help"]):
        with open("/dev/full", "wb") as full:
            st, _, err = run(*args, stdout=full)
        eq(st, 3, "write error on stdout: %s" % args[1:])
        check("write error" in err, err)


def not_cma_inputs():
    good = read(blob())
    yield "empty", b""
    yield "short", b"\x89CM"
    yield "text", b"hello, this is not a blob at all\n" * 8
    b = bytearray(good)
    b[1] = ord("c")
    yield "magic", bytes(b)
    b = bytearray(good)
    struct.pack_into("<H", b, 8, 2)
    yield "version", bytes(b)
    b = bytearray(good)
    struct.pack_into("<I", b, 20, 0x100)
    yield "required-flag", bytes(b)


@case
def not_a_blob_exit_4():
    for name, data in not_cma_inputs():
        p = write(path("notcma-" + name), data)
        for args in ([VERIFY, p], [DUMP, p], [DUMP, "--json", p],
                     [CONVERT, p, "-o", path("nc.cm")]):
            st, out, err = run(*args)
            eq(st, 4, "%s: %s (%s)" % (name, args[:-1], err))
        check(not os.path.exists(path("nc.cm")), "no output for " + name)
        st, out, _ = run(VERIFY, "--json", p)
        doc = json.loads(out)
        eq(doc[0]["status"], 4)
        check(doc[0]["errors"][0]["name"] in
              ("CM_E_MAGIC", "CM_E_VERSION", "CM_E_REQUIRED_FLAG"), name)


def invalid_inputs():
    """(name, bytes, error code name or None) of blobs with a good magic."""
    good = read(blob("tree", 7, "relative"))
    h = header(good)
    yield "checksum", good[:112] + bytes([good[112] ^ 1]) + good[113:], \
        "CM_E_CHECKSUM"
    yield "trailing", good + b"\0", "CM_E_LENGTH"
    for cut in (9, 64, 127, 128, h["data_end"], len(good) - 1):
        yield "cut%d" % cut, good[:cut], None
    b = bytearray(good)
    b[28] = 1
    yield "reserved", bytes(b), None


@case
def invalid_blob_exit_1():
    for name, data, code in invalid_inputs():
        p = write(path("bad-" + name), data)
        st, out, err = run(VERIFY, p)
        eq(st, 1, "verify " + name)
        check(re.match(re.escape(p) + r": offset 0x[0-9a-f]+: .+\n$", out),
              "verify line for %s: %r" % (name, out))
        st, out, err = run(DUMP, p)
        eq(st, 1, "dump " + name)
        check(re.match(r"cma-dump: " + re.escape(p) +
                       r": offset 0x[0-9a-f]+: ", err), err)
        st, doc, _ = dump_json(p)
        eq(st, 1)
        eq(doc["valid"], False)
        check(doc["errors"], "errors array")
        if code:
            eq(doc["errors"][0]["name"], code, name)
        st, _, err = run(CONVERT, p, "-o", path("inv.cm"), "--absolute")
        eq(st, 1, "convert " + name)
        check(not os.path.exists(path("inv.cm")), "no output")


@case
def one_verdict_everywhere():
    """dump and convert refuse with the message verify prints."""
    for name, data, _ in invalid_inputs():
        p = write(path("verdict-" + name), data)
        _, vout, _ = run(VERIFY, p)
        _, _, derr = run(DUMP, "--header", p)
        _, _, cerr = run(CONVERT, p, "-o", path("v.cm"))
        msg = vout.strip()
        check(("cma-dump: " + msg) in derr, "%s: %r vs %r" % (name, msg,
                                                              derr))
        check(("cma-convert: " + msg) in cerr, "%s: %r" % (name, cerr))


# ---- a shell user's habits ----

@case
def dash_is_stdin_and_stdout():
    """'-' is standard input for every FILE and IN, standard output for
    -o and --junit."""
    b = blob("tree", 9, "relative")
    data = read(b)
    st, file_doc, _ = dump_json(b)
    st, out, err = run(DUMP, "--json", "-", stdin=data)
    eq(st, 0, err)
    doc = json.loads(out)
    eq(doc.pop("file"), "<stdin>")
    file_doc.pop("file")
    eq(doc, file_doc, "cma-dump - shows what cma-dump FILE shows")
    st, out, _ = run(VERIFY, "-", stdin=data)
    check(out.startswith("<stdin>: OK"), out)
    # cma-convert IN and OUT as streams: the bytes of a file conversion.
    convert_ok("--absolute", b, "-o", path("d-abs.cm"))
    p = subprocess.run(WRAPPER + EXE + [CONVERT, "--absolute", "-", "-o",
                                        "-"], input=data,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    eq(p.returncode, 0, p.stderr)
    eq(p.stdout, read(path("d-abs.cm")), "-o - writes the converted blob")
    eq(p.stderr, b"")
    # A refused input writes nothing to stdout.
    p = subprocess.run(WRAPPER + EXE + [CONVERT, "--absolute", "-", "-o",
                                        "-"], input=data[:-1],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    eq((p.returncode, p.stdout), (1, b""), "a refusal writes no bytes")
    check(b"<stdin>: offset 0x" in p.stderr, p.stderr)
    if os.path.exists("/dev/full"):
        with open("/dev/full", "wb") as full:
            st, _, err = run(CONVERT, "--relative", b, "-o", "-",
                             stdout=full)
        eq(st, 3, "a write error on stdout: " + err)
        check("<stdout>: cannot write" in err, err)
    st, out, _ = run(VERIFY, "--junit=-", "-", stdin=data)
    eq(st, 0)
    check(out.startswith("<?xml ") and "<stdin>" not in out and
          'name="&lt;stdin&gt;"' in out, out)


@case
def convert_to_stdout_refuses_a_terminal():
    st, out, err = run_tty(CONVERT, "--absolute", blob(), "-o", "-")
    eq(st, 2, "binary output to a terminal: " + err)
    eq(out, "", "nothing reaches the terminal")
    check("standard output is a terminal" in err, err)


@case
def output_to_a_fifo_stays_a_fifo():
    """A device or FIFO as the output is written, not replaced by a file
    (as root, renaming over /dev/null would replace it)."""
    import threading
    fifo = path("out.fifo")
    for args in ([CONVERT, "--absolute", blob(), "-o", fifo],
                 [VERIFY, "--junit=" + fifo, blob()]):
        os.mkfifo(fifo)
        got = []
        reader = threading.Thread(target=lambda: got.append(read(fifo)))
        reader.start()
        st, _, err = run(*args)
        reader.join(60)
        eq(st, 0, "%s: %s" % (args, err))
        check(stat.S_ISFIFO(os.stat(fifo).st_mode), "still a FIFO")
        check(got and got[0], "the output went through the FIFO")
        os.unlink(fifo)
    # /dev/null as the output: the conversion runs, /dev/null stays.
    st, _, err = run(CONVERT, "--absolute", blob(), "-o", "/dev/null")
    eq(st, 0, err)
    check(stat.S_ISCHR(os.stat("/dev/null").st_mode), "/dev/null stays")


def complete(words):
    """COMPREPLY of the installed completion for the command line
    `words`, the last one being completed, run in bash from TMP."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "..", "..", "completions", "cma.bash")
    prog = ('source "$1"; shift; COMP_WORDS=("$@"); '
            'COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _cma_complete; '
            'printf "%s\\n" "${COMPREPLY[@]}"')
    words = [os.path.abspath(words[0])] + words[1:]  # run from TMP
    p = subprocess.run(["bash", "-c", prog, "bash", script] + words,
                       capture_output=True, text=True, cwd=TMP)
    eq(p.returncode, 0, p.stderr)
    return sorted(line for line in p.stdout.splitlines() if line)


@case
def bash_completion_options_and_files():
    if EXE:
        raise Skip("the completion runs the tools directly")
    if not shutil.which("bash"):
        raise Skip("no bash")
    os.makedirs(path("comp"), exist_ok=True)
    for name in ("blob-a.cm", "blob-b.cm", "report.xml"):
        write(path("comp/" + name), b"")
    eq(complete([VERIFY, "--ju"]), ["--junit="])
    eq(complete([VERIFY, "--j"]), ["--json", "--junit="])
    eq(complete([DUMP, "--pa"]), ["--pager", "--path="])
    eq(complete([CONVERT, "--re"]), ["--rebase=", "--relative"])
    check("--in-place" in complete([CONVERT, "--"]), "every option")
    eq(complete([DUMP, "--graph", "=", ""]), ["dot"])
    eq(complete([DUMP, "-g", ""]), ["dot"])
    eq(complete([VERIFY, "comp/blob-"]), ["comp/blob-a.cm", "comp/blob-b.cm"])
    eq(complete([VERIFY, "--junit", "=", "comp/rep"]), ["comp/report.xml"])
    eq(complete([CONVERT, "-o", "comp/b"]),
       ["comp/blob-a.cm", "comp/blob-b.cm"])
    eq(complete([DUMP, "--types", "comp/rep"]), ["comp/report.xml"])
    eq(complete([CONVERT, "--rebase", ""]), [], "an address: no files")
    eq(complete([DUMP, "--limit", ""]), [], "a number: no files")
    eq(complete([DUMP, "--hex", "comp/blob-a"]), ["comp/blob-a.cm"],
       "--hex takes its argument only after '='")


@case
def color_only_on_a_terminal_without_no_color():
    b = blob()
    bad = write(path("color-bad.cm"), read(b)[:-1])
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    st, out, _ = run_tty(DUMP, b, env=env)
    eq(st, 0)
    check("\033[1m" in out, "cma-dump colours a terminal: %r" % out[:80])
    for value in ("1", "yes"):
        env["NO_COLOR"] = value
        st, out, _ = run_tty(DUMP, b, env=env)
        check("\033[" not in out, "NO_COLOR=%s: no escape" % value)
        st, out, _ = run_tty(CONVERT, bad, "-o", path("c.cm"),
                             stderr_tty=True, env=env)
        eq(st, 1)
        check("\033[" not in out, "NO_COLOR=%s: no escape on stderr" % value)
    env["NO_COLOR"] = ""  # empty is unset, as no-color.org says
    st, out, _ = run_tty(DUMP, b, env=env)
    check("\033[1m" in out, "NO_COLOR empty: colours")
    # Diagnostics are coloured only when stderr itself is a terminal.
    env.pop("NO_COLOR")
    st, out, err = run_tty(DUMP, bad, env=env)
    eq(st, 1)
    check("\033[" not in err, "stderr to a pipe: no escape: %r" % err)
    st, out, _ = run_tty(CONVERT, bad, "-o", path("c.cm"), stderr_tty=True,
                         env=env)
    check("\033[1;31m" in out, "stderr on a terminal: %r" % out)
    # cma-verify never colours: its lines are for scripts as well.
    st, out, _ = run_tty(VERIFY, b, bad, env=env)
    check("\033[" not in out, out)
    for tool, args in ((DUMP, ["--json", b]), (DUMP, ["--graph=dot", b]),
                       (VERIFY, ["--json", b])):
        check("\033[" not in run_tty(tool, *args, env=env)[1],
              "%s %s: machine output has no escape" % (tool, args))


run_cases()
