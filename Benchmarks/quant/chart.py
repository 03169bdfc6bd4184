#!/usr/bin/env python3
"""Draws the cost of each quantization mixture as an SVG bar chart (mean KL divergence, log scale, and top-1
agreement) from the markdown table Benchmarks/quant/run.sh prints.

    bash Benchmarks/quant/run.sh BIN > table.md && python3 Benchmarks/quant/chart.py table.md docs/images/quant-cost.svg
"""
import math
import sys

rows = []
for line in open(sys.argv[1], encoding="utf-8"):
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) < 9 or not cells[0].startswith("q"):
        continue
    rows.append((cells[0], float(cells[6]), float(cells[8].rstrip("%"))))
W, H, left, top, bar = 640, 300, 70, 40, 60
plot_h = H - top - 60
lo, hi = -5.0, -1.0  # log10 KL axis
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       f'<rect width="{W}" height="{H}" fill="white"/>',
       f'<text x="{W / 2}" y="20" text-anchor="middle" font-size="14">What a quantization costs: GPT-2 124M shape, random weights</text>']
for e in range(int(lo), int(hi) + 1):
    y = top + plot_h * (hi - e) / (hi - lo)
    out.append(f'<line x1="{left}" x2="{W - 20}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
    out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">1e{e}</text>')
out.append(f'<text x="16" y="{top + plot_h / 2}" transform="rotate(-90 16 {top + plot_h / 2})" text-anchor="middle">mean KL divergence (bars)</text>')
step = (W - left - 40) / max(len(rows), 1)
for i, (name, kl, top1) in enumerate(rows):
    x = left + 20 + i * step
    v = min(max(math.log10(kl), lo), hi)
    y = top + plot_h * (hi - v) / (hi - lo)
    out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar}" height="{top + plot_h - y:.1f}" fill="#4878a8"/>')
    out.append(f'<text x="{x + bar / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle">{kl:.1e}</text>')
    out.append(f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{name}</text>')
    out.append(f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 32}" text-anchor="middle" fill="#a85448">top-1 {top1:.0f}%</text>')
out.append("</svg>")
open(sys.argv[2], "w").write("\n".join(out) + "\n")
