#!/usr/bin/env python3
"""Cross-check nab-run's scorer: re-score results written in NAB's layout
(results/<name>/<category>/<name>_<file>.csv) with an independent,
standard-library-only transcription of NAB's sweep scoring rules.

    python3 bench/nab/crosscheck.py NAB_DIR RESULTS_DIR/NAME
"""
import csv, json, math, os, sys

PROFILES = [("standard", 1.0, 0.11, 1.0), ("reward_low_FP_rate", 1.0, 0.22, 1.0),
            ("reward_low_FN_rate", 1.0, 0.11, 2.0)]


def sig(y):
    return -1.0 if y >= 3.0 else 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def rows_of(ts, scores, wins, tp, fp, key):
    prob = min(math.floor(0.15 * len(ts)), 0.15 * 5000)
    idx = {t: i for i, t in enumerate(ts)}
    spans = [(idx[a], idx[b]) for a, b in wins]
    out, prev = [], None
    for i, s in enumerate(scores):
        inside = [k for k, (l, r) in enumerate(spans) if l <= i <= r]
        if inside:
            l, r = spans[inside[0]]
            w = sig(-(r - i + 1) / (r - l + 1)) * tp / sig(-1.0)
            name = "%s|%d" % (key, inside[0])
        else:
            before = [(l, r) for l, r in spans if r < i]
            if before:
                l, r = before[-1]
                w = sig(abs(r - i) / (r - l)) * fp
            else:
                w = sig(3.0) * fp
            name = None
        if i >= prob:
            out.append((s, w, name))
    return out


def best(rows, fn):
    parts = {n: -fn for _, _, n in rows if n is not None}
    fpsum, top = 0.0, (sum(parts.values()), 1.1)
    rows = sorted(rows, key=lambda x: -x[0])
    i = 0
    while i < len(rows):
        j = i
        while j < len(rows) and rows[j][0] == rows[i][0]:
            s, w, n = rows[j]
            if n is None:
                fpsum += w
            else:
                parts[n] = max(parts[n], w)
            j += 1
        total = fpsum + sum(parts.values())
        if total > top[0]:
            top = (total, rows[i][0])
        i = j
    return top


def main():
    nab, res = sys.argv[1], sys.argv[2].rstrip("/")
    name = os.path.basename(res)
    labels = json.load(open(os.path.join(nab, "labels", "combined_windows.json")))
    files = sorted(os.path.relpath(os.path.join(d, f), os.path.join(nab, "data"))
                   for d, _, fs in os.walk(os.path.join(nab, "data")) for f in fs
                   if f.endswith(".csv"))
    nwin = sum(len(labels[f]) for f in files)
    for prof, tp, fp, fn in PROFILES:
        rows = []
        for f in files:
            cat, base = os.path.split(f)
            path = os.path.join(res, cat, "%s_%s" % (name, base))
            data = list(csv.DictReader(open(path)))
            ts = [r["timestamp"] for r in data]
            sc = [float(r["anomaly_score"]) for r in data]
            wins = [(a[:19], b[:19]) for a, b in labels[f]]
            rows += rows_of(ts, sc, wins, tp, fp, f)
        raw, thr = best(rows, fn)
        null = -nwin * fn
        print("%-20s %8.3f raw at threshold %.6f -> %6.2f" %
              (prof, raw, thr, 100 * (raw - null) / (nwin * tp - null)))


if __name__ == "__main__":
    main()
