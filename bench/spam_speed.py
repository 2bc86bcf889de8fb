#!/usr/bin/env python3
"""
NAME
    spam_speed.py - messages of a given size for timing spamd's scoring

SYNOPSIS
    bench/spam_speed.py OUT_DIR SIZE COUNT [CORPUS_DIR]

DESCRIPTION
    Writes COUNT messages of about SIZE bytes to OUT_DIR, each the header
    of a training message (easy-ham-1 and spam-1 in turn, never a held-out
    set) and a plain text body made of the bodies of following training
    messages, so the tokenizer and the rules see real words. Time them
    with `sluice-spamtrain --db DB --eval-ham OUT_DIR` (one core), or count
    instructions with `valgrind --tool=callgrind` on the same command.
"""
import os
import sys


def main():
    out, size, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    corpus = sys.argv[4] if len(sys.argv) > 4 else os.environ.get(
        "SLUICE_CORPUS", "/var/cache/sluice-corpus") + "/data"
    msgs = []
    for s in ("easy-ham-1", "spam-1"):
        d = os.path.join(corpus, s)
        for n in sorted(os.listdir(d))[:300]:
            with open(os.path.join(d, n), "rb") as f:
                raw = f.read().replace(b"\r\n", b"\n")
            head, _, body = raw.partition(b"\n\n")
            head = b"\n".join(ln for ln in head.split(b"\n")
                             if not ln.lower().startswith(
                                 (b"content-", b"mime-")))
            msgs.append((head, body))
    os.makedirs(out, exist_ok=True)
    for i in range(count):
        head, _ = msgs[(i * 7) % len(msgs)]
        body, j = b"", i
        while len(head) + len(body) < size:
            body += msgs[j % len(msgs)][1]
            j += 1
        msg = head + b"\nContent-Type: text/plain\n\n" + body
        with open(os.path.join(out, "%05d.txt" % i), "wb") as f:
            f.write(msg[:size])


if __name__ == "__main__":
    main()
