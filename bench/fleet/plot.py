#!/usr/bin/env python3
"""Draws the fleet simulator's budget rows as an SVG chart: gateway RSS (MiB) and CPU (cores) against devices.

    bench/fleet/plot.py OUT.svg "TITLE" DEVICES:RSS_MIB:CPU_CORES ... [--rss-budget MIB] [--cpu-budget CORES]

Each point is one `bench/fleet/run.sh` row (its "gateway RSS" and "gateway CPU" at the end of sending). Standard
library only, so it runs wherever the benchmark does.
"""
import sys

W, H, LEFT, RIGHT, TOP, BOTTOM = 720, 360, 70, 70, 40, 50


def scale(value, low, high, a, b):
    return a + (value - low) * (b - a) / (high - low)


def main(argv):
    out, title, rest = argv[1], argv[2], argv[3:]
    budgets = {"--rss-budget": None, "--cpu-budget": None}
    points = []
    i = 0
    while i < len(rest):
        if rest[i] in budgets:
            budgets[rest[i]] = float(rest[i + 1])
            i += 2
            continue
        devices, rss, cpu = rest[i].split(":")
        points.append((int(devices), float(rss), float(cpu)))
        i += 1
    if not points:
        sys.exit("usage: plot.py OUT.svg TITLE DEVICES:RSS_MIB:CPU_CORES ... [--rss-budget MIB] [--cpu-budget CORES]")
    points.sort()
    max_devices = max(p[0] for p in points)
    max_rss = max([p[1] for p in points] + [budgets["--rss-budget"] or 0]) * 1.1
    max_cpu = max([p[2] for p in points] + [budgets["--cpu-budget"] or 0]) * 1.1
    x = lambda d: scale(d, 0, max_devices, LEFT, W - RIGHT)
    y_rss = lambda v: scale(v, 0, max_rss, H - BOTTOM, TOP)
    y_cpu = lambda v: scale(v, 0, max_cpu, H - BOTTOM, TOP)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
             f'<rect width="{W}" height="{H}" fill="white"/>',
             f'<text x="{W / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>',
             f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}" stroke="black"/>',
             f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{H - BOTTOM}" stroke="#1f77b4"/>',
             f'<line x1="{W - RIGHT}" y1="{TOP}" x2="{W - RIGHT}" y2="{H - BOTTOM}" stroke="#d62728"/>',
             f'<text x="{W / 2}" y="{H - 12}" text-anchor="middle">devices</text>',
             f'<text x="16" y="{H / 2}" transform="rotate(-90 16 {H / 2})" text-anchor="middle" fill="#1f77b4">gateway RSS (MiB)</text>',
             f'<text x="{W - 16}" y="{H / 2}" transform="rotate(90 {W - 16} {H / 2})" text-anchor="middle" fill="#d62728">gateway CPU (cores)</text>']
    for d, _, _ in points:
        parts.append(f'<text x="{x(d):.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">{d:,}</text>')
    for k in range(5):
        rss, cpu = max_rss * k / 4, max_cpu * k / 4
        parts.append(f'<text x="{LEFT - 6}" y="{y_rss(rss) + 4:.1f}" text-anchor="end" fill="#1f77b4">{rss:.0f}</text>')
        parts.append(f'<text x="{W - RIGHT + 6}" y="{y_cpu(cpu) + 4:.1f}" fill="#d62728">{cpu:.2f}</text>')
    for key, fy, colour, label in (("--rss-budget", y_rss, "#1f77b4", "RSS budget"), ("--cpu-budget", y_cpu, "#d62728", "CPU budget")):
        if budgets[key] is not None:
            yy = fy(budgets[key])
            parts.append(f'<line x1="{LEFT}" y1="{yy:.1f}" x2="{W - RIGHT}" y2="{yy:.1f}" stroke="{colour}" stroke-dasharray="4 4"/>')
            parts.append(f'<text x="{LEFT + 4}" y="{yy - 4:.1f}" fill="{colour}">{label}</text>')
    for fy, index, colour in ((y_rss, 1, "#1f77b4"), (y_cpu, 2, "#d62728")):
        path = " ".join(f"{x(p[0]):.1f},{fy(p[index]):.1f}" for p in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for p in points:
            parts.append(f'<circle cx="{x(p[0]):.1f}" cy="{fy(p[index]):.1f}" r="3.5" fill="{colour}"/>')
    parts.append("</svg>")
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(parts) + "\n")


if __name__ == "__main__":
    main(sys.argv)
