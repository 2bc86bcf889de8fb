"""LIST-EXTENDED (RFC 5258) on the real store daemon (issue #19).

imaplib for the folders and subscriptions, raw commands (imaplib's
list() knows no options) for selection options SUBSCRIBED, REMOTE and
RECURSIVEMATCH (with CHILDINFO), several patterns in one LIST, and the
return options SUBSCRIBED and CHILDREN.
"""
import re

import pytest

pytest.importorskip("test_imap")
from test_imap import imap, ssl_login  # noqa: F401


def listing(m, *args):
    """{name: (attributes, extended data)} of a raw LIST."""
    typ, data = m._simple_command("LIST", *args)
    assert typ == "OK", (args, data)
    typ, data = m._untagged_response(typ, data, "LIST")
    out = {}
    for ln in data:
        if ln is None:
            continue
        mt = re.match(rb'\(([^)]*)\) "\." (\S+)(?: (.*))?$', ln)
        assert mt, ln
        out[mt.group(2).strip(b'"').decode()] = (
            set(mt.group(1).split()), mt.group(3) or b"")
    return out


@pytest.fixture
def tree(imap):
    m = ssl_login(imap)
    for f in ("Fruit", "Fruit.Banana", "Fruit.Peach", "Vegetable",
              "Vegetable.Broccoli", "Tofu", "Tofu.Soy"):
        assert m.create(f)[0] == "OK"
    for f in ("Fruit.Banana", "Vegetable", "Vegetable.Broccoli",
              "Tofu.Soy"):
        assert m.subscribe(f)[0] == "OK"
    yield m
    m.logout()


def test_capability(tree):
    assert "LIST-EXTENDED" in tree.capabilities


def test_selection_subscribed(tree):
    got = listing(tree, "(SUBSCRIBED)", '""', '"*"')
    for f in ("Fruit.Banana", "Vegetable", "Vegetable.Broccoli", "Tofu.Soy"):
        assert "\\Subscribed" in {a.decode() for a in got[f][0]}, got
    for f in ("Fruit", "Fruit.Peach", "Tofu"):
        assert f not in got
    # REMOTE changes nothing here (no remote folders)
    assert listing(tree, "(SUBSCRIBED REMOTE)", '""', '"*"') == got


def test_recursivematch(tree):
    got = listing(tree, "(SUBSCRIBED RECURSIVEMATCH)", '""', '"%"')
    ci = b'("CHILDINFO" ("SUBSCRIBED"))'
    assert got["Fruit"][1] == ci and b"\\Subscribed" not in got["Fruit"][0]
    assert got["Tofu"][1] == ci
    assert got["Vegetable"][1] == ci and \
        b"\\Subscribed" in got["Vegetable"][0]
    assert "Fruit.Banana" not in got
    # "*" matches the children themselves: no CHILDINFO, no parents
    got = listing(tree, "(SUBSCRIBED RECURSIVEMATCH)", '""', '"*"')
    assert "Fruit" not in got and got["Fruit.Banana"][1] == b""
    with pytest.raises(tree.error, match="BAD"):
        tree._simple_command("LIST", "(RECURSIVEMATCH)", '""', '"*"')


def test_patterns_and_return(tree):
    got = listing(tree, '""', '("Fruit" "Veg*")')
    assert set(got) == {"Fruit", "Vegetable", "Vegetable.Broccoli"}
    got = listing(tree, '""', '"*"', "RETURN", "(SUBSCRIBED CHILDREN)")
    assert b"\\Subscribed" in got["Tofu.Soy"][0]
    assert b"\\Subscribed" not in got["Tofu"][0]
    assert b"\\HasChildren" in got["Fruit"][0]
    for bad in (("(BOGUS)", '""', '"*"'), ('""', "()"),
                ('""', '"*"', "RETURN", "(BOGUS)")):
        with pytest.raises(tree.error, match="BAD"):
            tree._simple_command("LIST", *bad)
    # LSUB takes no options
    with pytest.raises(tree.error, match="BAD"):
        tree._simple_command("LSUB", "(SUBSCRIBED)", '""', '"*"')
