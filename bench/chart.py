#!/usr/bin/python3
"""Draw bench/results.png from bench/results.json with gnuplot."""
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    with open(os.path.join(HERE, "results.json")) as f:
        res = json.load(f)["results"]
    rows = {}
    for r in res:
        key = "%s %dK %ds" % (r["path"], r["size"] // 1024, r["sessions"])
        rows.setdefault(key, {})[r["system"]] = (
            r["msgs_per_s"] if r["ok"] else 0)
    dat = os.path.join(HERE, "results.dat")
    with open(dat, "w") as f:
        for k, v in rows.items():
            f.write('"%s" %.0f %.0f\n' % (k, v.get("postfix", 0),
                                          v.get("sluice", 0)))
    script = """
set terminal pngcairo size 1100,500 noenhanced
set output '%s'
set title 'Messages per second, Sluice vs Postfix (same machine, same run)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel 'messages/s (median of repeats)'
set xtics rotate by -30
set grid ytics
set yrange [0:*]
plot '%s' using 2:xtic(1) title 'Postfix', '' using 3 title 'Sluice'
""" % (os.path.join(HERE, "results.png"), dat)
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    os.unlink(dat)
    print("chart in", os.path.join(HERE, "results.png"))


if __name__ == "__main__":
    main()
