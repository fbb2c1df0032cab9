#!/usr/bin/python3
"""Writes the report of the nesting experiment: docs/NESTING.md's results
section and the Fig. 9 plot as SVG, from the JSON files of nc-loadgen.

    report.py --out DIR --md FILE --svg FILE [--command CMD]

DIR holds L0.json, L1.json, L2.json (those that were measured) and
levels.json: for each level its accelerator, how it was reached, or why it
was not measured.  Standard library only."""
import argparse
import html
import json
import math
import os
import time

# Table I of the paper: HTTP request duration in seconds.
PAPER = {
    "L0": {"mean": 0.082, "p80": 0.081, "p90": 0.098},
    "L1": {"mean": 0.096, "p80": 0.109, "p90": 0.128},
    "L2": {"mean": 0.125, "p80": 0.144, "p90": 0.181},
}
LEVELS = ["L0", "L1", "L2"]
COLOURS = {"L0": "#1f77b4", "L1": "#ff7f0e", "L2": "#2ca02c"}


def load(out):
    runs = {}
    for lv in LEVELS:
        p = os.path.join(out, f"{lv}.json")
        if os.path.exists(p):
            with open(p) as f:
                runs[lv] = json.load(f)
    info = {}
    p = os.path.join(out, "levels.json")
    if os.path.exists(p):
        with open(p) as f:
            info = json.load(f)
    return runs, info


def pct(a, b):
    return f"{(a / b - 1) * 100:+.1f}%" if a and b else "n/a"


def fmt(x):
    return f"{x:.4f}" if x is not None else "not measured"


def table(runs, info):
    rows = ["| Level | Accelerator | Avg (s) | 80%-ile (s) | 90%-ile (s) | 99%-ile (s) | req/s "
            "| errors | load average (1, 5, 15 min) before -> after | paper Avg | paper 80%-ile "
            "| paper 90%-ile |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|"]
    for lv in LEVELS:
        r = runs.get(lv)
        acc = info.get(lv, {}).get("accelerator", "-")
        la = info.get(lv, {}).get("loadavg", "") or "-"
        p = PAPER[lv]
        if r:
            s = r["response"]
            rows.append(f"| {lv} | {acc} | {s['mean']:.4f} | {s['p80']:.4f} | {s['p90']:.4f} | "
                        f"{s['p99']:.4f} | {r['rps']:.1f} | {r['errors'] + r['unfinished']} | {la} | "
                        f"{p['mean']:.3f} | {p['p80']:.3f} | {p['p90']:.3f} |")
        else:
            rows.append(f"| {lv} | {acc} | not measured | | | | | | | "
                        f"{p['mean']:.3f} | {p['p80']:.3f} | {p['p90']:.3f} |")
    return "\n".join(rows)


def overheads(runs):
    rows = ["| Overhead | Avg | 80%-ile | 90%-ile | paper Avg | paper 80%-ile | paper 90%-ile |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for hi, lo in (("L1", "L0"), ("L2", "L1"), ("L2", "L0")):
        ours = []
        for k in ("mean", "p80", "p90"):
            if hi in runs and lo in runs:
                ours.append(pct(runs[hi]["response"][k], runs[lo]["response"][k]))
            else:
                ours.append("n/a")
        paper = [pct(PAPER[hi][k], PAPER[lo][k]) for k in ("mean", "p80", "p90")]
        rows.append(f"| {hi}/{lo} | " + " | ".join(ours) + " | " + " | ".join(paper) + " |")
    return "\n".join(rows)


def svg(runs, info, path):
    """Fig. 9: one row per level, the mean and 90th percentile response time
    of the requests intended in each second, on one logarithmic scale."""
    w, row_h, left, right, top = 900, 200, 60, 30, 30
    n = len(LEVELS)
    h = top + n * (row_h + 40) + 20
    # one logarithmic scale for all rows, in decades, so levels compare at a
    # glance although TCG is orders of magnitude slower and stalls reach seconds
    peak = max([s[k] for r in runs.values() for s in r["series"] for k in ("mean", "p90")] + [0.01])
    lo, hi = 0.001, 10 ** math.ceil(math.log10(peak))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2}" y="18" text-anchor="middle" font-size="14">Response time per second '
           f'(by intended send time, CO corrected): mean (line) and 90th percentile (light)</text>']
    for i, lv in enumerate(LEVELS):
        y0 = top + i * (row_h + 40) + 10
        x0, x1 = left, w - right
        out.append(f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{row_h}" fill="none" '
                   f'stroke="#888"/>')
        r = runs.get(lv)
        acc = info.get(lv, {}).get("accelerator", "")
        title = f"{lv}" + (f" ({acc})" if acc else "")
        if not r:
            why = info.get(lv, {}).get("note", "not measured")
            out.append(f'<text x="{x0 + 8}" y="{y0 + 18}">{html.escape(title)}: not measured</text>')
            out.append(f'<text x="{x0 + 8}" y="{y0 + 36}" fill="#666">{html.escape(why[:120])}</text>')
            continue
        series = r["series"]
        dur = max(1.0, r["duration_s"])

        def X(t):
            return x0 + (x1 - x0) * t / dur

        def Y(v):
            v = min(max(v, lo), hi)
            return y0 + row_h - row_h * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        v = lo
        while v <= hi * 1.0001:
            out.append(f'<line x1="{x0}" x2="{x1}" y1="{Y(v):.1f}" y2="{Y(v):.1f}" stroke="#eee"/>')
            label = f"{v * 1000:g} ms" if v < 1 else f"{v:g} s"
            out.append(f'<text x="{x0 - 5}" y="{Y(v) + 4:.1f}" text-anchor="end">{label}</text>')
            v *= 10
        step = 30 if dur > 60 else 5
        t = 0
        while t <= dur:
            out.append(f'<text x="{X(t):.1f}" y="{y0 + row_h + 14}" text-anchor="middle">{t:.0f}</text>')
            t += step
        for key, colour, width, op in (("p90", COLOURS[lv], 1, 0.35), ("mean", COLOURS[lv], 1.6, 1)):
            pts = " ".join(f"{X(s['t'] + 0.5):.1f},{Y(s[key]):.1f}" for s in series if s["n"])
            out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" '
                       f'stroke-width="{width}" stroke-opacity="{op}"/>')
        out.append(f'<text x="{x0 + 8}" y="{y0 + 16}" font-weight="bold">{html.escape(title)}: '
                   f'mean {r["response"]["mean"] * 1000:.1f} ms, p90 {r["response"]["p90"] * 1000:.1f} ms'
                   f'</text>')
    out.append(f'<text x="{w / 2}" y="{h - 6}" text-anchor="middle">seconds into the run</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--md", required=True)
    ap.add_argument("--svg", required=True)
    ap.add_argument("--command", default="bench/nesting/run.sh")
    args = ap.parse_args()
    runs, info = load(args.out)
    svg(runs, info, args.svg)
    any_run = next(iter(runs.values()), None)
    lines = [
        "<!-- results: written by bench/nesting/report.py; the text above the marker is by hand -->",
        f"Run of {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: "
        + (f"{any_run['users']} users, exponential intervals of mean {any_run['think_mean_s']:g} s, "
           f"{any_run['duration_s']:g} s per level." if any_run else "no level was measured."),
        "",
        f"Reproduce: `{args.command}`",
        "",
        "Response time from the intended send time (coordinated omission corrected), in seconds:",
        "",
        table(runs, info),
        "",
        "Overhead of the average and the percentiles (ours beside the paper's Table I):",
        "",
        overheads(runs),
        "",
        "Levels:",
        "",
    ]
    for lv in LEVELS:
        i = info.get(lv, {})
        state = "measured" if lv in runs else "**not measured**"
        lines.append(f"- **{lv}** ({state}): {i.get('how', '')} {i.get('note', '')}".rstrip())
        r = runs.get(lv)
        if r and r["series"]:
            w = max(r["series"], key=lambda x: x["mean"])
            slow = [x["t"] for x in r["series"] if x["n"] and x["mean"] > 10 * r["response"]["p50"]]
            lines.append(f"  Median {r['response']['p50']:.4f} s; worst second t={w['t']:.0f} s "
                         f"(mean {w['mean']:.3f} s, max {w['max']:.3f} s); {len(slow)} of "
                         f"{len(r['series'])} seconds had a mean above 10x the median.")
    lines += ["", "Uncorrected service time (from the actual send), for comparison:", "",
              "| Level | Avg | 80%-ile | 90%-ile | 99%-ile |", "|---|---:|---:|---:|---:|"]
    for lv in LEVELS:
        if lv in runs:
            s = runs[lv]["service"]
            lines.append(f"| {lv} | {s['mean']:.4f} | {s['p80']:.4f} | {s['p90']:.4f} | {s['p99']:.4f} |")
    lines += ["", f"![Fig. 9: response time per second at each level]({os.path.basename(args.svg)})", ""]
    results = "\n".join(lines)

    marker = "<!-- results:"
    text = ""
    if os.path.exists(args.md):
        with open(args.md) as f:
            text = f.read()
    head = text.split(marker)[0] if marker in text else (text or "# The nesting experiment\n\n")
    with open(args.md, "w") as f:
        f.write(head.rstrip("\n") + "\n\n" + results)
    print(f"report.py: wrote {args.md} and {args.svg}")


if __name__ == "__main__":
    main()
