"""The IMAP server's layers (store/imap, store_imap_core.h): the core never
calls a command file but through the command table, a command file never
calls another, and only store_imap_server.c (which fills the table) names
the commands. Read from the symbols of the built objects, so a call that
slips past the headers is caught too."""
import glob
import os
import re
import subprocess

from conftest import BUILD, ROOT

IMAP = os.path.join(ROOT, "store", "imap")
ASSEMBLY = "store_imap_server"


def includes(path):
    with open(path) as f:
        return set(re.findall(r'^#include "([^"]+)"', f.read(), re.M))


def layers():
    """Command files and core files of store/imap, by the header each
    includes (tests and fuzz targets left out)."""
    cmds, core = set(), set()
    for src in glob.glob(os.path.join(IMAP, "*.c")):
        name = os.path.basename(src)[:-2]
        if name.endswith(("_test", "_fuzz")) or name == ASSEMBLY:
            continue
        inc = includes(src)
        if "store_imap_cmd.h" in inc:
            cmds.add(name)
        else:
            core.add(name)
    return cmds, core


def symbols(name):
    """(defined, undefined) external symbols of a built object."""
    obj = os.path.join(BUILD, "store", "imap", name + ".o")
    r = subprocess.run(["nm", obj], capture_output=True, text=True,
                       timeout=60, check=True)
    defined, undefined = set(), set()
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) == 2 and f[0] == "U":
            undefined.add(f[1])
        elif len(f) == 3 and f[1].isupper():
            defined.add(f[2])
    return defined, undefined


def test_core_and_commands_are_layered():
    cmds, core = layers()
    assert len(cmds) >= 10 and "store_imap" in core, (cmds, core)
    owner = {}
    for name in cmds | core | {ASSEMBLY}:
        for s in symbols(name)[0]:
            owner[s] = name
    wrong = []
    for name in sorted(cmds | core):
        for s in sorted(symbols(name)[1]):
            to = owner.get(s)
            if to in cmds and to != name:
                wrong.append("%s -> %s (%s)" % (name, to, s))
            if to == ASSEMBLY:
                wrong.append("%s -> %s (%s)" % (name, to, s))
    assert not wrong, "calls across the IMAP layers: %s" % wrong


def test_core_does_not_see_the_commands():
    cmds, core = layers()
    for name in sorted(core):
        assert "store_imap_cmd.h" not in includes(
            os.path.join(IMAP, name + ".c")), name
    for h in ("store_imap.h", "store_imap_core.h", "store_imap_parse.h"):
        assert "store_imap_cmd.h" not in includes(os.path.join(IMAP, h)), h
    # the rest of the store sees the public header or the core, never
    # the command files
    for src in glob.glob(os.path.join(ROOT, "store", "*.c")):
        assert "store_imap_cmd.h" not in includes(src), src
    assert "store_imap_core.h" not in includes(
        os.path.join(ROOT, "store", "main.c"))
