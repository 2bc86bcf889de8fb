#!/usr/bin/python3
"""Draw bench/results.png from bench/results.json with gnuplot: the
relay, delivery and outbound paths on top (linear), the pipeline path
below (logarithmic: Postfix with its milters is two orders of magnitude
slower), with Postfix's plain relay of the same run as the reference."""
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEMS = ("postfix", "sluice", "postfix-relay")


def main():
    with open(os.path.join(HERE, "results.json")) as f:
        res = json.load(f)["results"]
    rows = {}
    for r in res:
        if r["path"] in ("defenses", "cold"):  # tables of their own
            continue
        key = "%s %dK %ds" % (r["path"], r["size"] // 1024, r["sessions"])
        rows.setdefault(r["path"] == "pipeline", {}).setdefault(
            key, {})[r["system"]] = r["msgs_per_s"] if r["ok"] else 0
    dats = []
    for pipe in (False, True):
        dat = os.path.join(HERE, "results-%d.dat" % pipe)
        with open(dat, "w") as f:
            for k, v in rows.get(pipe, {}).items():
                f.write('"%s" %s\n' % (k, " ".join(
                    "%.1f" % v[s] if s in v else "-" for s in SYSTEMS)))
        dats.append(dat)
    script = """
set terminal pngcairo size 1100,900 noenhanced
set output '%s'
set datafile missing '-'
set multiplot layout 2,1
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel 'messages/s (median of repeats)'
set xtics rotate by -30
set grid ytics
set rmargin 8
set title 'Messages per second, Sluice vs Postfix (same machine; \
each pair from one run)'
set yrange [0:*]
plot '%s' using 2:xtic(1) title 'Postfix', '' using 3 title 'Sluice'
set title 'Inbound pipeline: Sluice mx+avscan+spamd+store vs Postfix with \
clamav-milter and spamass-milter (log scale)'
set logscale y
set yrange [0.5:30000]
set key left top
plot '%s' using 2:xtic(1) title 'Postfix + clamav-milter + SpamAssassin', \
  '' using 3 title 'Sluice pipeline', \
  '' using 4 title 'Postfix plain relay (reference)'
unset multiplot
""" % (os.path.join(HERE, "results.png"), dats[0], dats[1])
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    for d in dats:
        os.unlink(d)
    print("chart in", os.path.join(HERE, "results.png"))


if __name__ == "__main__":
    main()
