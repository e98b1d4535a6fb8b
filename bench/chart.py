"""The harness's results as a bar chart: GB/s by workload, one bar per pipeline, the machine's
pread limit (times the compression ratio) marked over each workload's bars.

    python -m bench.chart RESULTS.json [MORE.json ...] -o docs/bench_h200.png [--mode warm]

Later files override earlier ones for the same (workload, pipeline), so a run that re-measured
some workloads can be drawn over a complete one; `python -m bench --chart PATH` draws its own run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ORDER = ("cuzarr", "peer", "limit")


def rows(results: list[dict], mode: str) -> dict[tuple[str, str], dict]:
    out = {}
    for r in results:
        out[(r["workload"], r["pipeline"])] = r
    return {k: r for k, r in out.items() if r.get(mode) or r.get("status") != "ok"}


def draw(runs: list[dict], path: Path, mode: str = "warm", title: str | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    merged: dict[tuple[str, str], dict] = {}
    for run in runs:
        merged.update(rows(run["results"], mode))
    workloads = list(dict.fromkeys(w for w, _ in merged))
    pipelines = [p for p in dict.fromkeys(p for _, p in merged)
                 if not any(merged[(w, p)].get("role") == "limit" for w in workloads if (w, p) in merged)]
    limits = {w: r[mode]["gbps"] for (w, p), r in merged.items() if r.get("role") == "limit" and r.get(mode)}
    pipelines.sort(key=lambda p: (0 if p.startswith("cuzarr") else 1, p))
    width = 0.8 / max(1, len(pipelines))
    fig, ax = plt.subplots(figsize=(max(9.0, 1.6 * len(workloads) + 2.5), 4.8))
    colours = plt.get_cmap("tab10")
    for i, p in enumerate(pipelines):
        xs, ys = [], []
        for j, w in enumerate(workloads):
            r = merged.get((w, p))
            if r is None:
                continue
            x = j - 0.4 + width * (i + 0.5)
            if r.get("status") == "ok" and r.get(mode):
                xs.append(x)
                ys.append(r[mode]["gbps"])
            else:
                ax.text(x, 0.2, "fails", rotation=90, ha="center", va="bottom", fontsize=7, color=colours(i % 10))
        ax.bar(xs, ys, width, label=p, color=colours(i % 10))
    for j, w in enumerate(workloads):
        if w in limits:
            ax.hlines(limits[w], j - 0.42, j + 0.42, colors="black", linestyles="dashed", linewidth=1.2,
                      label="pread limit x ratio" if j == min(k for k, v in enumerate(workloads) if v in limits) else None)
    ax.set_xticks(range(len(workloads)))
    ax.set_xticklabels(workloads, rotation=20, ha="right")
    ax.set_ylabel("GB/s of decoded data")
    machine = runs[-1].get("machine", {})
    where = machine.get("gpu") or machine.get("cpu") or runs[-1].get("device", "")
    ax.set_title(title or f"{mode} reads, {where}")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.chart", description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="+", type=Path, help="results JSON of python -m bench --json")
    ap.add_argument("-o", "--output", type=Path, required=True, help="PNG to write")
    ap.add_argument("--mode", default="warm", choices=("warm", "cold"))
    ap.add_argument("--title")
    args = ap.parse_args(argv)
    runs = [json.loads(p.read_text()) for p in args.results]
    print(draw(runs, args.output, args.mode, args.title))


if __name__ == "__main__":
    main()
