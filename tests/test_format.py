"""The C sources follow the checked-in .clang-format (STYLE.md).

Every .c and .h file of the tree must be formatted, except those named in
tests/format-exempt.txt: the files written before the format was checked.
That list only shrinks: a file that becomes formatted (reformat one with
`clang-format -i FILE` when you rewrite most of it) must leave the list,
and a new file never joins it."""
import glob
import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOLDERS = ("common", "mx", "msa", "avscan", "spamd", "outmta", "store",
           "admin")
EXEMPT = os.path.join(ROOT, "tests", "format-exempt.txt")


def sources():
    found = []
    for d in FOLDERS:
        for ext in ("c", "h"):
            found += glob.glob(os.path.join(ROOT, d, "**", "*." + ext),
                               recursive=True)
    return sorted(os.path.relpath(f, ROOT) for f in found)


def unformatted(files):
    """The files clang-format would change (one run for all)."""
    r = subprocess.run(["clang-format", "--dry-run"] + files, cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return set(re.findall(r"^(\S+?):\d+:\d+: warning: code should be "
                          r"clang-formatted", r.stderr, re.M))


def test_sources_are_formatted():
    files = sources()
    assert len(files) > 300, "sources went missing"
    with open(EXEMPT) as f:
        exempt = {line.strip() for line in f if line.strip()}
    gone = sorted(exempt - set(files))
    assert not gone, "format-exempt.txt names files that are gone: %s" % gone
    bad = unformatted(files)
    new = sorted(bad - exempt)
    assert not new, ("not formatted by .clang-format (run clang-format -i "
                     "on them): %s" % new)
    done = sorted(exempt - bad)
    assert not done, ("formatted now: take them off tests/format-exempt.txt:"
                      " %s" % done)
