"""cuzarr under other settings (`--variants`), each in a process of its own, timed in turns.

cuzarr reads its settings (CUZARR_*) once per process, so a variant runs in a child process: the
harness started again with `--serve` and the variant's environment. The parent opens a workload
in every child (each checks its first result), then asks them for one timed run at a time, in
turns (bench/turns.py), so that a slow spell of the machine reaches every variant alike, and
closes the workload (each reports its memory growth). The protocol is one JSON object a line:
requests on the child's stdin, replies on its stdout, everything else the child prints on its
stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Callable


def parse_variants(text: str) -> list[tuple[str, dict]]:
    """'NAME:VAR=VALUE,VAR=VALUE;NAME2:...' as (name, environment) pairs."""
    variants = []
    for item in filter(None, (t.strip() for t in text.split(";"))):
        name, _, assignments = item.partition(":")
        env = dict(a.split("=", 1) for a in assignments.split(",") if "=" in a)
        if not name.strip() or not env:
            raise SystemExit(f"--variants: '{item}' is not NAME:VAR=VALUE[,VAR=VALUE]")
        variants.append((name.strip(), env))
    return variants


# --- the child ----------------------------------------------------------------------------------

def serve(h, pipes, wl_by_name, ds_by_name, paths) -> int:
    """Answers the parent's requests until its stdin closes:
    {"op": "open", "workload": W} -> {"rows": [row, ...]} (the pipelines that do W, checked);
    {"op": "run", "workload": W, "pipeline": P, "cold": bool} -> {"s": seconds};
    {"op": "close", "workload": W} -> {"rows": [row, ...]} (with their memory growth);
    a request that fails -> {"error": "Type: message"}."""
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # what libraries print stays off the protocol
    opened = {}  # pipeline name -> Opened, of the open workload
    for line in sys.stdin:
        request = json.loads(line)
        try:
            w = wl_by_name[request["workload"]]
            path = paths[w.dataset]
            if request["op"] == "open":
                rows, ready = h.open_all(w, ds_by_name[w.dataset], path, [(p, ()) for p in pipes])
                opened = {op.row["pipeline"]: op for op, _ in ready}
                reply = {"rows": rows}
            elif request["op"] == "run":
                reply = {"s": opened[request["pipeline"]].one(path, bool(request.get("cold")))}
            elif request["op"] == "close":
                for op in opened.values():
                    op.close()
                reply = {"rows": [op.row for op in opened.values()]}
                opened.clear()
            else:
                raise ValueError(f"unknown request {request['op']!r}")
        except Exception as e:  # noqa: BLE001 - the parent reports it in the rows
            reply = {"error": f"{type(e).__name__}: {e}"}
        replies.write(json.dumps(reply, default=str) + "\n")
    return 0


# --- the parent ---------------------------------------------------------------------------------

class Child:
    """A variant's process."""

    def __init__(self, args, name: str, env: dict, workloads: list[str]):
        self.name, self.env = name, env
        cmd = [sys.executable, "-m", "bench", "--serve", "--dir", str(args.dir), "--device", args.device,
               "--workloads", ",".join(workloads), "--pipelines", args.variant_pipelines]
        if args.size:
            cmd += ["--size", str(args.size)]
        if args.small_size:
            cmd += ["--small-size", str(args.small_size)]
        if args.verbose:
            cmd.append("--verbose")
        self.proc = subprocess.Popen(cmd, env=dict(os.environ, **env), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    def ask(self, **request) -> dict:
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass  # reported below, with the exit status
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the process of variant {self.name} exited (status {self.proc.wait()}; "
                               "its messages are above)")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply

    def stop(self) -> None:
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_variants(h, args, variants: list[tuple[str, dict]], workload_names: list[str], modes: list[str],
                 after_workload: Callable[[], None] = lambda: None) -> None:
    """Times every variant on every wanted workload, in turns; adds rows named
    `<pipeline>[<variant>]` to h.results."""
    wanted = args.variant_workloads.split(",") if args.variant_workloads else workload_names
    wanted = [w for w in wanted if w in workload_names]
    children = []
    try:
        for name, env in variants:
            h.log(f"variant {name}: {' '.join(f'{k}={v}' for k, v in env.items())}")
            children.append(Child(args, name, env, wanted))
        for w in wanted:
            rows_of_w, entries = [], []  # every row; (child, pipeline, row) of those ready to time
            for c in children:
                try:
                    rows = c.ask(op="open", workload=w)["rows"]
                except RuntimeError as e:
                    rows = [{"workload": w, "pipeline": args.variant_pipelines, "role": "cuzarr",
                             "device": args.device, "status": f"failed: {e}"}]
                for row in rows:
                    name = row["pipeline"]
                    row.update(pipeline=f"{name}[{c.name}]", variant=c.env)
                    h.results.append(row)
                    rows_of_w.append(row)
                    if row["status"] == "ok":
                        entries.append((c, name, row))
            for mode in modes:
                h.time_rows([row for _, _, row in entries],
                            [lambda c=c, name=name: c.ask(op="run", workload=w, pipeline=name, cold=mode == "cold")["s"]
                             for c, name, _ in entries], mode)
            for c in children:
                try:
                    closed = {r["pipeline"]: r for r in c.ask(op="close", workload=w)["rows"]}
                except RuntimeError:
                    continue  # its rows already say why
                for child, name, row in entries:
                    if child is c and name in closed:
                        for key in ("rss_growth_mib", "stored_bytes"):
                            if key in closed[name]:
                                row[key] = closed[name][key]
            for row in rows_of_w:
                h.log_row(row, modes)
            after_workload()
    finally:
        for c in children:
            c.stop()
