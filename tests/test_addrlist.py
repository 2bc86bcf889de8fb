"""Differential test of common/addrlist.c, the strict RFC 5322 address-list
parser that msa's From:/Sender: check and outmta's DKIM signing domain use,
against Python's email.headerregistry (policy.default), through the
parser's test binary (addrlist_test -: NUL-separated field bodies in, one
JSON line each out).

Rules:
- where we accept, our mailboxes (local part, domain, in a group or not)
  are exactly Python's;
- where Python accepts with no defect at all, we accept too, except for
  the documented differences below (all of them stricter on our side);
- the named hidden-mailbox tricks are refused by us (Python reports a
  defect for each, then guesses an address).

Documented differences (we are stricter, on purpose):
- an empty list (only CFWS): RFC 5322 address-list and mailbox-list need
  one address; Python returns none without a defect;
- a local part over 64 octets (RFC 5321 4.5.3.1.1) or an address over
  254: nobody owns such a mailbox and no MTA takes it;
- comments nested deeper than 32;
- quoted-pairs in a domain literal (obs-dtext, RFC 5322 4.4), and
  white space inside one other than next to its brackets (valid, but
  Python refuses it too);
- a CR or LF that is not part of a fold (CRLF WSP): Python's message
  parser ends the field there and reads the rest as something else;
- and we do not look at RFC 2047 encoded-words (display names are not
  decoded, addresses never depend on them), so Python's defects about
  their white space and charsets are ignored; but Python (like other
  lenient readers) decodes '=?u"tf-8?q?x?=' as one encoded-word where
  RFC 5322 sees an atom and a quoted string, and decodes encoded-words
  inside local parts, so it pairs quotes and brackets otherwise and
  sees other mailboxes: we refuse a "=?...?=" span holding a special
  (RFC 2047 5 allows none) and "=?" in an addr-spec, and where Python
  takes a broken encoded-word as an atom that we do not, we refuse;
and we are more lenient in one way: RFC 6532 UTF-8 local parts are taken
(validated UTF-8) where Python reports NonASCIILocalPartDefect, because
SMTPUTF8 users own such addresses. Obsolete forms Python reports as
ObsoleteHeaderDefect and that cannot hide an address (routes in <>, empty
list members, "." in display names) we take, with Python's result; the
others (CFWS inside a local part or domain) we refuse.
"""
import json
import os
import random
import re
import subprocess

from email import message_from_string, policy

from conftest import BUILD

BIN = os.path.join(BUILD, "common", "addrlist_test")

# (body, why) accepted by both with the same mailboxes
SAME = [
    "alice@example.test", "Alice Smith <alice@example.test>",
    '"Bob <bob@x.test>" <alice@x.test>', '"ceo@bank.test" <alice@x.test>',
    "alice@x.test (Bob <bob@x.test>)",
    "alice@mine.test (on behalf of @victim.test)",
    "(a (b \\) c) d) alice@x.test", "alice (x) @ (y) x.test",
    'a@x.test, "B, C" <b@x.test>', "Alice\r\n <alice@x.test>",
    "A < alice@x.test >", '<"a b"@x.test>', '"alice"@x.test',
    '"a\\"b\\\\c"@x.test', '"ceo@bank.test"@x.test', "a@[192.0.2.1]",
    "x <a@[IPv6:::1]>", "=?utf-8?q?J=C3=BCrgen?= <j@x.test>",
    "J\u00fcrgen <j@x.test>", "a@b\u00fccher.test",
    "team: a@x.test, B <b@x.test>;, c@x.test", "undisclosed-recipients:;",
    "g: (none) ; (end)", '"" <a@x.test>', '""@x.test',
    "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
    "A Group(Some people)\r\n    :Chris Jones <c@(Chris's host.)public."
    "example>,\r\n        joe@example.org,\r\n John <jdoe@one.test> (my "
    "dear friend); (the end of the group)",
    "(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;",
    "<alice@x.test>,<bob@x.test>", "alice@x.test,", '"a\r\n b"@x.test',
    "a!#$%&'*+-/=?^_`{|}~@x.test", '"quoted\\ pair"@x.test',
]
# obsolete forms Python flags and we take, same result
OBSOLETE = [
    "John Q. Public <jqp@x.test>", "<@relay.test,@r2.test:alice@x.test>",
    "<,@r.test, ,@s.test:a@x.test>", ", a@x.test,, b@x.test ,",
]
# hidden or ambiguous mailboxes: we refuse
HIDDEN = [
    "ceo@bank.test <>", '"ceo@bank.test" <>', "<alice@x.test> ceo@bank.test",
    "ceo@bank.test <alice@x.test>", "<a@x.test> <b@x.test>", "<>",
    "Alice Smith", "(ceo@bank.test)", "@bank.test", "a@b@bank.test",
    "<alice@x.test", '"ceo@bank.test', "alice@x.test (x", "a . b@x.test",
    '"a".b@x.test', "a..b@x.test", ".a@x.test", "a.@x.test", "a@x . test",
    "a@x.test.", "a: b: c@x.test;;", "g: a@x.test", ": a@x.test;",
    "<@r.test alice@x.test>", "a@x.test; ceo@bank.test", ". <a@x.test>",
    "alice@x.test ceo@bank.test", "alice@x.test\tceo", "alice@",
    "Mary <@node.test:mary@x.net>, , jdoe@test  . example",
    '=?u"tf-8?q?x?= <ceo@bank.test>, "?= <alice@x.test>',
    "=?utf-8?q?ceo?=@bank.test", '"=?utf-8?q?x?="@x.test',
]
EMPTY = ["", " ", "\t", " \r\n "]


def ours(bodies):
    r = subprocess.run([BIN, "-"], capture_output=True, check=True,
                       input=b"\0".join(b.encode("utf-8", "surrogateescape")
                                        for b in bodies), timeout=60)
    out = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert len(out) == len(bodies)
    return out


def python(body):
    """(mailboxes or None, defect names) from Python's parser."""
    m = message_from_string("To: " + body + "\r\n\r\n",
                            policy=policy.default)
    try:
        h = m["To"]
        got = [[a.username, a.domain.lower(), int(g.display_name is not None)]
               for g in h.groups for a in g.addresses]
        # RFC 2047 is not RFC 5322: we do not decode display names, so
        # where encoded-words need white space is none of our business
        return got, {type(d).__name__ for d in h.defects
                     if "encoded" not in str(d) and
                     type(d).__name__ != "CharsetError"}
    except Exception as e:  # Python's parser gives up on some garbage
        return None, {type(e).__name__}


BROKEN_LINE = re.compile(r"\r(?!\n[ \t])|(?<!\r)\n")


def stricter_on_purpose(body, got):
    return (not body.strip(" \t\r\n") or BROKEN_LINE.search(body) or
            "=?" in body or re.search(r"\[[^\]]*\\", body) or
            any(len(a[0].encode()) > 64 for a in got or []))


def check(bodies):
    """The rules of the module docstring; returns how many we took."""
    took = raised = 0
    for body, o in zip(bodies, ours(bodies)):
        got, defects = python(body)
        if got is None:
            # Python's parser raises on an obs-phrase ending in "."
            # right before "<" or ":" ('Jr.<js@x.test>') and on some
            # group names ('A.B:;', '"@b":;'), bugs of its own: nothing
            # to compare (counted below)
            raised += 1
        elif "ok" in o:
            took += 1
            assert o["ok"] == got, (body, o, got, defects)
            assert defects <= {"ObsoleteHeaderDefect",
                               "NonASCIILocalPartDefect"}, (body, defects)
        elif not defects and got is not None:
            assert stricter_on_purpose(body, got), (body, o, got)
    assert raised <= len(bodies) // 20, raised
    return took


def test_corpus():
    assert check(SAME + OBSOLETE + HIDDEN + EMPTY) == len(SAME + OBSOLETE)
    for body, o in zip(SAME, ours(SAME)):
        assert "ok" in o and not python(body)[1], body
    for body, o in zip(OBSOLETE, ours(OBSOLETE)):
        assert python(body)[1] == {"ObsoleteHeaderDefect"}, body
    for body, o in zip(HIDDEN + EMPTY, ours(HIDDEN + EMPTY)):
        assert "error" in o, (body, o)


WORDS = ["a", "Bob", "x", "J\u00fcrgen", '"Q, S"', '"a@b"', "=?utf-8?q?x?=",
         '"\\""', "A.B"]
CFWS = ["", "", " ", "(c)", " (n (d)) ", "\r\n ", "\t"]
LOCALS = ["alice", "a.b", '"a b"', '"x@y"', "o'neil", "\u00fc", "a+tag"]
DOMAINS = ["x.test", "EXAMPLE.test", "[192.0.2.1]", "b\u00fccher.test"]


def gen_mailbox(r):
    spec = (r.choice(CFWS) + r.choice(LOCALS) + r.choice(CFWS) + "@" +
            r.choice(CFWS) + r.choice(DOMAINS) + r.choice(CFWS))
    k = r.randrange(3)
    if k == 0:
        return spec
    name = " ".join(r.choice(WORDS) for _ in range(r.randrange(3)))
    route = "@r.test,@s.test:" if r.random() < 0.1 else ""
    return name + r.choice(CFWS) + "<" + route + spec.strip() + ">" + \
        r.choice(CFWS)


def gen_list(r):
    parts = []
    for _ in range(r.randint(1, 3)):
        if r.random() < 0.2:
            # Python raises on some group names: keep them plain
            parts.append(r.choice(["team", "g x", "=?utf-8?q?g?="]) +
                         r.choice(CFWS) + ":" + ",".join(
                gen_mailbox(r) for _ in range(r.randrange(3))) + ";")
        else:
            parts.append(gen_mailbox(r))
    return ",".join(parts)


def mutate(r, s):
    for _ in range(r.randint(1, 2)):
        i = r.randrange(len(s) + 1)
        op = r.randrange(3)
        if op == 0 and s:
            s = s[:i] + s[i + 1:]
        elif op == 1:
            s = s[:i] + r.choice('<>@,;:."()\\ \r\n') + s[i:]
        else:
            j = r.randrange(len(s) + 1)
            s = s[:i] + s[min(i, j):max(i, j)] + s[i:]
    return s


def test_generated():
    """Random lists from the grammar, then mutated ones: same rules."""
    r = random.Random(5322)
    good = [gen_list(r) for _ in range(1500)]
    bad = [mutate(r, gen_list(r)) for _ in range(3000)]
    took = check(good)
    assert took > 1200, took   # the generator makes mostly valid lists
    check(bad)
