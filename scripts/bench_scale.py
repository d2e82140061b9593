"""The scale section of `make bench` (also runnable alone: `scripts/services.sh run
.venv/bin/python scripts/bench_scale.py [N ...]`): what watching silent running jobs costs the
Ray head, per job, and how fast the end of a run still shows.

For each N (default 1 8 16) it submits N silent jobs (they sleep, print nothing) straight through
the REST API, then measures, on those same jobs and in turns (so the machine's drift hits every
mode alike): unwatched; each watched by its own sidecar attached with `id` (own ConfigMap dir,
written kubelet-style, and status dir), without S3; the same with S3 (log shipped to moto).
CPU is counted as CPU time (utime+stime in /proc), not wall time, since the machine is shared:
the head is every process of the local Ray (scripts/ray-head.sh's marker and their descendants)
except the jobs' own (their supervisor actors and entrypoints).
Then the end-of-run latency: sidecars that submit a silent job ending at a known moment; from
Ray's end_time to the status file showing the terminal state. Medians; nothing here asserts.
"""
import json
import os
import re
import statistics
import sys
import time
import urllib.request

import bench_scale_costs
from bench_common import BIN, RAY_URL, ROOT, SILENT, TICK, Sidecar, head_cpu_between, head_processes, read_status, request, wait

WINDOW = float(os.environ.get("BENCH_SCALE_WINDOW", "30"))
SETTLE = float(os.environ.get("BENCH_SCALE_SETTLE", "8"))
REPEATS = int(os.environ.get("BENCH_SCALE_REPEATS", "3"))
LATENCY_RUNS = int(os.environ.get("BENCH_SCALE_LATENCY_RUNS", "8"))
S3 = {"s3.endpoint": "127.0.0.1:9000", "s3.secure": "false", "s3upload.bucket": "ray-logs"}
MODES = (("unwatched", None), ("watched, no S3", {}), ("watched, S3", S3))
TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")


def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def request_counts(ports):
    """Ray requests the sidecars made so far, by endpoint (their /metrics)."""
    counts = {}
    for port in ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as r:
            for line in r.read().decode().splitlines():
                m = re.match(r'raybridge_ray_request_duration_seconds_count\{(.*)\} (\S+)', line)
                if m:
                    endpoint = re.search(r'endpoint="([^"]*)"', m.group(1)).group(1)
                    counts[endpoint] = counts.get(endpoint, 0) + float(m.group(2))
    return counts


def measure_jobs(n, repeats):
    """Per mode: lists (one entry per repeat) of head CPU %, sidecar CPU %, component breakdown,
    requests per second by endpoint."""
    ids = []
    for i in range(n):
        ids.append(request("POST", "/api/jobs/", {"entrypoint": SILENT, "metadata": {"raybridge.bench": "scale"}})["submission_id"])
    wait(lambda: all(request("GET", f"/api/jobs/{i}")["status"] == "RUNNING" for i in ids), timeout=300, step=0.5)
    results = {label: {"head": [], "sidecar": [], "by": [], "requests": []} for label, _ in MODES}
    try:
        for _ in range(repeats):
            for label, extra in MODES:
                sidecars, ports = [], []
                try:
                    if extra is not None:
                        for k, sid in enumerate(ids):
                            ports.append(9700 + k)
                            sidecars.append(Sidecar(f"scale-{k}", {"resourceURL": RAY_URL, "id": sid, **extra}, listen=f"127.0.0.1:{ports[-1]}"))
                    time.sleep(SETTLE)
                    h0, s0, r0, t0 = head_processes(), [proc_cpu(s.process.pid) for s in sidecars], request_counts(ports), time.time()
                    time.sleep(WINDOW)
                    h1, s1, r1, t1 = head_processes(), [proc_cpu(s.process.pid) for s in sidecars], request_counts(ports), time.time()
                finally:
                    for s in sidecars:
                        s.stop()
                took = t1 - t0
                if took > WINDOW * 1.5:
                    # The machine (a VM) was paused meanwhile: the wall clock jumped while nothing
                    # ran, which would make the window look idle. Not counted.
                    print(f"warning: a {WINDOW:.0f} s window took {took:.0f} s; dropped", file=sys.stderr)
                    continue
                total, by = head_cpu_between(h0, h1)
                results[label]["head"].append(total / took * 100)
                results[label]["by"].append({k: v / took * 100 for k, v in by.items()})
                results[label]["sidecar"].append(sum(b - a for a, b in zip(s0, s1)) / took * 100)
                results[label]["requests"].append({k: (r1.get(k, 0) - r0.get(k, 0)) / took for k in r1})
    finally:
        for sid in ids:
            request("POST", f"/api/jobs/{sid}/stop")
    return results


def end_latency(extra, runs, last_line):
    """Seconds from Ray's end_time to the status file showing the terminal state, one per run;
    the job ends silently, or (`last_line`) prints one line right before it ends, as most do.
    The jobs sleep past the sidecar's early poll ramp (1, 2, 4, 8, 16 s after submit) and end at
    spread moments, so only the steady state is measured."""
    sidecars, delays = [], []
    try:
        for k in range(runs):
            script = f"import time; time.sleep({19 + k * 0.45:.2f})" + ("; print('done', flush=True)" if last_line else "")
            sidecars.append(Sidecar(f"scale-end-{int(time.time())}-{k}", {"resourceURL": RAY_URL, "jobdata.jobScript": script, **extra}))
        seen = {}
        def all_seen():
            for k, s in enumerate(sidecars):
                if k not in seen and read_status(s.status).get("jobStatus") in TERMINAL:
                    seen[k] = time.time()
            return len(seen) == len(sidecars)
        wait(all_seen, timeout=180, step=0.01)
        for k, s in enumerate(sidecars):
            end_ms = request("GET", f"/api/jobs/{read_status(s.status)['id']}")["end_time"]
            delays.append(seen[k] - end_ms / 1000)
    finally:
        for s in sidecars:
            s.stop()
    return delays


def med(values):
    return statistics.median(values) if values else float("nan")


def table(ns):
    started = time.time()
    rows, details = [], []
    measured = {}
    for n in ns:
        measured[n] = measure_jobs(n, REPEATS)
        print(f"N={n}: {json.dumps({k: v['head'] for k, v in measured[n].items()})}", file=sys.stderr, flush=True)
    nothing = [float("nan")]
    latency = {(label, loud): end_latency(extra, LATENCY_RUNS, loud) if LATENCY_RUNS else nothing for label, extra in MODES[1:] for loud in (False, True)}
    costs = ""
    if os.environ.get("BENCH_SCALE_COSTS", "1") == "1":
        try:
            costs = bench_scale_costs.main()
        except Exception as e:  # the table above is worth keeping without it
            costs = f"The cost of each kind of request was not measured: {e!r}\n"
            print(costs, file=sys.stderr, flush=True)
    for n, res in measured.items():
        base = med(res["unwatched"]["head"])
        rows.append(f"| {n} | unwatched | {base:.2f} % | {base / n:.3f} % | - | - | - |")
        for label, _ in MODES[1:]:
            head = med(res[label]["head"])
            base_all = res["unwatched"]["head"] or [float("nan")]
            extra = [(h - statistics.median(base_all)) / n for h in res[label]["head"]] or [float("nan")]
            reqs = {k: med([r.get(k, 0) for r in res[label]["requests"]]) / n for k in res[label]["requests"][0]}
            req_text = ", ".join(f"{k} {v:.2f}" for k, v in sorted(reqs.items()) if v > 0) or "-"
            lat = "{:.2f} s / {:.2f} s".format(statistics.median(latency[(label, False)]), statistics.median(latency[(label, True)]))
            rows.append(f"| {n} | {label} | {head:.2f} % | {med(extra):.3f} % (min {min(extra):.3f}, max {max(extra):.3f}) | "
                        f"{med(res[label]['sidecar']) / n:.3f} % | {req_text} | {lat} |")
            comps = {}
            for by in res[label]["by"]:
                for k, v in by.items():
                    comps.setdefault(k, []).append(v)
            unw = {}
            for by in res["unwatched"]["by"]:
                for k, v in by.items():
                    unw.setdefault(k, []).append(v)
            diff = {k: (med(v) - med(unw.get(k, [0]))) / n for k, v in comps.items()}
            details.append(f"| {n} | {label} | " + ", ".join(f"{k} {v:+.3f}" for k, v in sorted(diff.items(), key=lambda kv: -abs(kv[1])) if abs(v) >= 0.005) + " |")
    lat_rows = [f"| {label} | {'last line printed right before the end' if loud else 'silent to the end'} | {stats_text(latency[(label, loud)])} |"
                for label, _ in MODES[1:] for loud in (False, True)]
    header = (f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} cores, binary "
              f"{os.path.relpath(BIN, ROOT)}, default settings; CPU as % of one core from CPU time over {WINDOW:.0f} s "
              f"windows, median of {REPEATS} repeats (modes taken in turns on the same silent running jobs); "
              f"end-of-run latency over {LATENCY_RUNS} runs per mode. This section took {time.time() - started:.0f} s.")
    text = ("## Scale: silent running jobs watched by one sidecar each\n\n" + header + "\n\n"
            "| N | mode | head CPU | head CPU per job over unwatched | sidecar CPU per job | Ray requests/s per job by endpoint | end of run -> status, median (silent end / last line printed) |\n"
            "|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
            "Head CPU per watched job over unwatched, by component (% of a core; shown when at least 0.005):\n\n"
            "| N | mode | components |\n|---|---|---|\n" + "\n".join(details) + "\n\n"
            "End of run (Ray's end_time) -> status file shows the terminal state, default updateInterval:\n\n"
            "| mode | run | seconds |\n|---|---|---|\n" + "\n".join(lat_rows) + "\n" + ("\n" + costs if costs else ""))
    return text


def stats_text(values):
    return f"{statistics.median(values):.3f} (min {min(values):.3f}, max {max(values):.3f})"


DOC = os.path.join(ROOT, "docs/benchmarks.md")


def current_section():
    """The scale section of docs/benchmarks.md as it is, or ""."""
    try:
        with open(DOC) as f:
            doc = f.read()
    except OSError:
        return ""
    start = doc.find("## Scale")
    return doc[start:] if start >= 0 else ""


def write_section(text, path=DOC):
    """Replaces the scale section of docs/benchmarks.md (or appends it), keeping the rest."""
    try:
        with open(path) as f:
            doc = f.read()
    except OSError:
        doc = "# Benchmarks\n\n`make bench` writes this file.\n"
    start = doc.find("## Scale")
    if start >= 0:
        end = doc.find("\n## ", start + 1)
        doc = doc[:start] + text + (doc[end + 1:] if end >= 0 else "")
    else:
        doc = doc.rstrip("\n") + "\n\n" + text
    with open(path, "w") as f:
        f.write(doc)


def main(args):
    ns = [int(a) for a in args] or [int(x) for x in os.environ.get("BENCH_SCALE_N", "1 8 16").split()]
    text = table(ns)
    print(text)
    write_section(text)


if __name__ == "__main__":
    main(sys.argv[1:])
