"""Every `tachyon ...` command line in the shell blocks of README.md and docs/*.md parses with
the real command line (issue #27: the docs must be what the tool takes). Each command runs
with TACHYON_CHECK_ARGS=1, which stops the CLI right after argument parsing: options,
their arity and their allowed values are checked, nothing is read or written.

The synopsis lines use the usual notation, expanded here: `[...]` is optional (included, so
its options are checked too), `a|b` and `[x | y]` / `(x | y)` are alternatives (each one is
checked in turn), `...` repeats, and numeric placeholders (N, THREADS, E, SECONDS) get a
number."""
import glob
import os
import re
import shlex
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("TACHYON_BINARY_DIR", os.path.join(ROOT, "build"))
CLI = os.environ.get("TACHYON_CLI", os.path.join(BUILD, "tachyon"))
DOCS = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
SHELL_LANGS = {"", "sh", "bash", "shell", "console"}
NUMERIC_PLACEHOLDERS = {"N": "1", "THREADS": "2", "E": "0.05", "SECONDS": "1"}
SEPARATORS = {";", "&&", "||", "|", "&"}
REDIRECTIONS = {">", ">>", "<", ">&", "&>"}

need_cli = pytest.mark.skipif(not os.path.exists(CLI), reason="the tachyon CLI is not built")


def shell_lines(path):
    """(line number, logical line) of every line in a shell block that runs `tachyon`.
    Backslash continuations are joined, and so are the synopsis' indented continuation lines
    (starting with `[`, `(` or `-`)."""
    lines = open(path, encoding="utf-8").read().split("\n")
    out, in_block, shell = [], False, False
    for k, line in enumerate(lines):
        fence = re.match(r"^\s*```(\w*)", line)
        if fence:
            in_block, shell = (not in_block), fence.group(1) in SHELL_LANGS
            continue
        if not (in_block and shell):
            continue
        text = re.sub(r"(^|\s)#.*$", "", line).rstrip()   # comments
        continues = out and (out[-1][1].endswith("\\") or re.match(r"^\s+[\[(-]", text))
        if continues:
            out[-1] = (out[-1][0], out[-1][1].rstrip("\\").rstrip() + " " + text.strip())
        elif text.strip():
            out.append((k + 1, text.strip()))
    return [(n, t) for n, t in out if re.search(r"(^|[\s/;&|])tachyon(\s|$)", t)]


def alternatives_count(line):
    groups = re.findall(r"[\[(]([^\[\]()]*\s\|\s[^\[\]()]*)[\])]", line)
    words = re.findall(r"(?<!\S)[^\s|\[\]()]+(?:\|[^\s|\[\]()]+)+", line)
    return max([len(g.split(" | ")) for g in groups] + [len(w.split("|")) for w in words] + [1])


def expand(line, k):
    """The line with the k-th alternative of every choice (the last one where there are fewer)."""
    pick = lambda alts: alts[min(k, len(alts) - 1)].strip()
    line = re.sub(r"[\[(]([^\[\]()]*\s\|\s[^\[\]()]*)[\])]", lambda m: pick(m.group(1).split(" | ")), line)
    line = re.sub(r"(?<!\S)([^\s|\[\]()]+(?:\|[^\s|\[\]()]+)+)", lambda m: pick(m.group(1).split("|")), line)
    line = re.sub(r"(\S)\[([^\]\s]*)\]", r"\1\2", line)   # FILE[:DATASET]: the optional part kept
    return line.replace("[", " ").replace("]", " ")


def tachyon_commands(line):
    """The argument lists of the `tachyon` commands of one shell line."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands, current, skip_next = [], [], False
    for tok in list(lexer) + [";"]:
        if skip_next:
            skip_next = False
        elif tok in REDIRECTIONS:
            skip_next = True
        elif tok in SEPARATORS:
            if current and os.path.basename(current[0]) == "tachyon":
                commands.append([NUMERIC_PLACEHOLDERS.get(a, a) for a in current[1:] if a != "..."])
            current = []
        else:
            current.append(tok)
    return commands


CASES = [(os.path.relpath(p, ROOT), n, t) for p in DOCS for n, t in shell_lines(p)]


def check_args(args):
    env = dict(os.environ, TACHYON_CHECK_ARGS="1")
    return subprocess.run([CLI] + args, env=env, capture_output=True, text=True, timeout=60)


def test_the_docs_have_commands_to_check():
    # The README synopsis alone has 14 commands; a parser that finds none must fail.
    assert len(CASES) >= 25, CASES
    assert any(f == "README.md" and "convert MODEL" in t for f, _, t in CASES)
    assert sum(len(tachyon_commands(expand(t, 0))) for _, _, t in CASES) >= len(CASES)


def test_synopsis_notation_is_expanded():
    line = "tachyon convert MODEL -o PRJ [--backend hls|verilog|lut] [--bunches N | --flat40] FILE[:DATASET] [-b N ...]"
    assert alternatives_count(line) == 3
    assert tachyon_commands(expand(line, 0)) == [["convert", "MODEL", "-o", "PRJ", "--backend", "hls", "--bunches", "1",
                                                  "FILE:DATASET", "-b", "1"]]
    assert tachyon_commands(expand(line, 2))[0][4:6] == ["--backend", "lut"]
    assert "--flat40" in tachyon_commands(expand(line, 1))[0]
    assert tachyon_commands("build/tachyon report a ; ../tachyon report b > log.txt") == [["report", "a"], ["report", "b"]]


@need_cli
def test_check_mode_still_refuses_bad_arguments():
    # The check would prove nothing if it accepted anything.
    assert check_args(["convert", "m.onnx", "-o", "prj"]).returncode == 0
    for bad in (["convert", "m.onnx", "-o", "prj", "--no-such-flag"], ["convert", "m.onnx"],
                ["convert", "m.onnx", "-o", "p", "--backend", "vhdl"], ["predict", "m", "-i", "x", "-o", "y", "-j", "x"],
                ["no-such-command"]):
        r = check_args(bad)
        assert r.returncode != 0, (bad, r.stdout)
        assert "arguments ok" not in r.stdout


@need_cli
@pytest.mark.parametrize("doc,line,text", CASES, ids=[f"{f}:{n}" for f, n, _ in CASES])
def test_documented_command_parses(doc, line, text):
    served = "serve" in subprocess.run([CLI, "--help"], capture_output=True, text=True).stdout
    for k in range(alternatives_count(text)):
        for args in tachyon_commands(expand(text, k)):
            if args and args[0] in ("serve", "perf") and not served:
                continue   # built without gRPC / cpp-httplib
            r = check_args(args)
            assert r.returncode == 0 and "arguments ok" in r.stdout, \
                f"{doc}:{line}: tachyon {' '.join(args)}\n{r.stdout}{r.stderr}"
