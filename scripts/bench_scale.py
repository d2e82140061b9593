"""The scale section of `make bench` (also runnable alone: `scripts/services.sh run
.venv/bin/python scripts/bench_scale.py [N ...]`): what watching silent running jobs costs the
Ray head, per job, by the runs' age, and how fast the end of a run still shows.

A watched run is checked for its end at a pace set by its age (FollowTiming: every 2.5 s under
5 minutes, then every 1 % of its age, at most every --end-check-cap, 15 s). Runs are measured in
three classes of age: young (under 5 minutes, real), 10 minutes old and old enough for the cap.
The older classes are on a compressed schedule: the sidecar adds RAYBRIDGE_BENCH_RUN_AGE_OFFSET
to every run's age, so that a run submitted a minute ago is paced as one 10 minutes old (at the
start of the measurement: the costliest of the runs older than 10 minutes) or 25 minutes old.

For each N (default 16) it submits N silent jobs (they sleep, print nothing) straight through
the REST API, then measures, on those same jobs and in turns (so the machine's drift hits every
mode alike): unwatched; for each age class, each job watched by its own sidecar attached with
`id` (own ConfigMap dir, written kubelet-style, and status dir), without S3, then the same with
S3 (log shipped to moto); unwatched again. Each repeat has jobs of its own, so that the young
class is young. CPU is counted as CPU time (utime+stime in /proc), not wall time, since the
machine is shared: the head is every process of the local Ray (scripts/ray-head.sh's marker and
their descendants) except the jobs' own (their supervisor actors and entrypoints). The status
checks (`GET /api/jobs/<id>`, the follower's and the reconciler's own polls together) are counted
from the sidecars' /metrics.
Then the end-of-run latency by class: sidecars that submit a silent job ending at a known moment,
spread over one check interval of the class; from Ray's end_time to the status file showing the
terminal state. Medians; nothing here asserts.
"""
import json
import os
import re
import statistics
import sys
import time
import urllib.request

import bench_scale_costs
from bench_common import BIN, RAY_URL, ROOT, SILENT, TICK, Sidecar, head_cpu_between, head_processes, read_status, request, wait, write_section

WINDOW = float(os.environ.get("BENCH_SCALE_WINDOW", "35"))
SETTLE = float(os.environ.get("BENCH_SCALE_SETTLE", "20"))
REPEATS = int(os.environ.get("BENCH_SCALE_REPEATS", "1"))
LATENCY_RUNS = int(os.environ.get("BENCH_SCALE_LATENCY_RUNS", "8"))
S3 = {"s3.endpoint": "127.0.0.1:9000", "s3.secure": "false", "s3upload.bucket": "ray-logs"}
YOUNG_FOR = 300
# Age classes: (label, age in seconds the runs have at the start of a measurement, or None: their
# real age; the end check's interval there; the end-latency jobs' length and spread).
CLASSES = (
    ("young (real age, under 5 min)", None, 2.5, 19, 0.45),
    ("10 min old", 600, 6.0, 30, 0.85),
    ("at the cap (25 min and older)", 1500, 15.0, 35, 1.9),
)
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


def modes():
    """(label, class index or None for unwatched, ConfigMap keys beyond resourceURL and id), in
    the order they are taken: unwatched at both ends, so its drift can be told."""
    watched = [(f"{c[0]}, {'S3' if extra else 'no S3'}", k, extra) for k, c in enumerate(CLASSES) for extra in ({}, S3)]
    return [("unwatched", None, None)] + watched + [("unwatched", None, None)]


def age_offset(k, started):
    """RAYBRIDGE_BENCH_RUN_AGE_OFFSET for class k, on jobs that started (Ray's start_time, s) at
    `started`: the youngest of them is the class's age now."""
    age = CLASSES[k][1]
    return 0 if age is None else max(age - (time.time() - max(started)), 0)


def measure_jobs(n, repeats):
    """Per mode: lists (one entry per repeat) of head CPU %, sidecar CPU %, component breakdown,
    requests per second by endpoint; and the oldest real age of the young class's runs."""
    results = {label: {"head": [], "sidecar": [], "by": [], "requests": []} for label, _, _ in modes()}
    oldest_young = 0.0
    for _ in range(repeats):
        ids = [request("POST", "/api/jobs/", {"entrypoint": SILENT, "metadata": {"raybridge.bench": "scale"}})["submission_id"] for _ in range(n)]
        try:
            wait(lambda: all(request("GET", f"/api/jobs/{i}")["status"] == "RUNNING" for i in ids), timeout=300, step=0.5)
            started = [request("GET", f"/api/jobs/{i}")["start_time"] / 1000 for i in ids]
            for label, k, extra in modes():
                sidecars, ports = [], []
                try:
                    if extra is not None:
                        env = {"RAYBRIDGE_BENCH_RUN_AGE_OFFSET": f"{age_offset(k, started):.3f}"}
                        for j, sid in enumerate(ids):
                            ports.append(9700 + j)
                            sidecars.append(Sidecar(f"scale-{j}", {"resourceURL": RAY_URL, "id": sid, **extra}, listen=f"127.0.0.1:{ports[-1]}", env=env))
                    time.sleep(SETTLE)
                    h0, s0, r0, t0 = head_processes(), [proc_cpu(s.process.pid) for s in sidecars], request_counts(ports), time.time()
                    time.sleep(WINDOW)
                    h1, s1, r1, t1 = head_processes(), [proc_cpu(s.process.pid) for s in sidecars], request_counts(ports), time.time()
                    if k is not None and CLASSES[k][1] is None:
                        oldest_young = max(oldest_young, t1 - min(started))
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
                results[label]["by"].append({key: v / took * 100 for key, v in by.items()})
                results[label]["sidecar"].append(sum(b - a for a, b in zip(s0, s1)) / took * 100)
                results[label]["requests"].append({key: (r1.get(key, 0) - r0.get(key, 0)) / took for key in r1})
                print(f"N={n} {label}: head {results[label]['head'][-1]:.2f} %, "
                      f"GET job/min/job {results[label]['requests'][-1].get('job', 0) * 60 / n:.1f}", file=sys.stderr, flush=True)
        finally:
            for sid in ids:
                request("POST", f"/api/jobs/{sid}/stop")
    if oldest_young > YOUNG_FOR:
        print(f"warning: the young class's runs were up to {oldest_young:.0f} s old", file=sys.stderr)
    return results, oldest_young


def end_latency(extra, runs, last_line, k):
    """Seconds from Ray's end_time to the status file showing the terminal state, one per run, for
    runs of age class k; the job ends silently, or (`last_line`) prints one line right before it
    ends, as most do. The jobs sleep past the sidecar's early poll ramp (1, 2, 4, 8, 16 s after
    submit) and end at moments spread over one check interval of the class, so only the steady
    state is measured."""
    _, age, _, length, spread = CLASSES[k]
    env = {"RAYBRIDGE_BENCH_RUN_AGE_OFFSET": str(age or 0)}
    sidecars, delays = [], []
    try:
        for j in range(runs):
            script = f"import time; time.sleep({length + j * spread:.2f})" + ("; print('done', flush=True)" if last_line else "")
            sidecars.append(Sidecar(f"scale-end-{int(time.time())}-{k}-{int(last_line)}-{j}", {"resourceURL": RAY_URL, "jobdata.jobScript": script, **extra}, env=env))
        return sidecars
    except BaseException:
        for s in sidecars:
            s.stop()
        raise


def collect(sidecars):
    """Waits for every sidecar's run to show its end; the delays from Ray's end_time."""
    seen = {}
    try:
        def all_seen():
            for j, s in enumerate(sidecars):
                if j not in seen and read_status(s.status).get("jobStatus") in TERMINAL:
                    seen[j] = time.time()
            return len(seen) == len(sidecars)
        wait(all_seen, timeout=240, step=0.01)
        return [seen[j] - request("GET", f"/api/jobs/{read_status(s.status)['id']}")["end_time"] / 1000 for j, s in enumerate(sidecars)]
    finally:
        for s in sidecars:
            s.stop()


def latencies(runs):
    """{(class, mode label, last line): delays}. Young: each batch alone, as their short runs end
    while later ones would still be starting; the older classes' batches of a class at once."""
    out = {}
    for k in range(len(CLASSES)):
        batches = [("no S3", {}, False), ("no S3", {}, True), ("S3", S3, False), ("S3", S3, True)]
        if k > 0:
            # Without S3 the log is not read: a last line changes nothing, as the young class shows.
            batches = [b for b in batches if b[1] or not b[2]]
        if CLASSES[k][1] is None:
            for mode, extra, loud in batches:
                out[(k, mode, loud)] = collect(end_latency(extra, runs, loud, k))
        else:
            started = {(mode, loud): end_latency(extra, runs, loud, k) for mode, extra, loud in batches}
            for (mode, loud), sidecars in started.items():
                out[(k, mode, loud)] = collect(sidecars)
        print(f"end latency, {CLASSES[k][0]}: " + ", ".join(f"{m}{' last line' if l else ''} {med(v):.2f} s" for (c, m, l), v in out.items() if c == k),
              file=sys.stderr, flush=True)
    return out


def med(values):
    return statistics.median(values) if values else float("nan")


def table(ns):
    started = time.time()
    rows, details = [], []
    measured, oldest = {}, 0.0
    # BENCH_SCALE_CPU=0: the end-of-run latency alone (its rows only).
    for n in ns if os.environ.get("BENCH_SCALE_CPU", "1") == "1" else []:
        measured[n], young_age = measure_jobs(n, REPEATS)
        oldest = max(oldest, young_age)
    latency = latencies(LATENCY_RUNS) if LATENCY_RUNS else {}
    costs = ""
    if os.environ.get("BENCH_SCALE_COSTS", "1") == "1":
        try:
            costs = bench_scale_costs.main()
        except Exception as e:  # the table above is worth keeping without it
            costs = f"The cost of each kind of request was not measured: {e!r}\n"
            print(costs, file=sys.stderr, flush=True)
    for n, res in measured.items():
        base_all = res["unwatched"]["head"] or [float("nan")]
        base = med(base_all)
        rows.append(f"| {n} | unwatched | - | {base:.2f} % (each: {', '.join(f'{b:.2f}' for b in base_all)}) | {base / n:.3f} % | - | - | - |")
        for label, k, extra in modes()[1:-1]:
            head = med(res[label]["head"])
            extra_cpu = [(h - base) / n for h in res[label]["head"]] or [float("nan")]
            reqs = {key: med([r.get(key, 0) for r in res[label]["requests"]]) / n for key in res[label]["requests"][0]}
            req_text = ", ".join(f"{key} {v * 60:.1f}" for key, v in sorted(reqs.items()) if v > 0) or "-"
            mode = "S3" if extra else "no S3"
            lat = [latency.get((k, mode, loud)) for loud in (False, True)]
            lat_text = " / ".join(f"{med(v):.2f} s" if v else "-" for v in lat)
            rows.append(f"| {n} | {CLASSES[k][0]} | {mode} | {head:.2f} % | {med(extra_cpu):.3f} %"
                        + (f" (min {min(extra_cpu):.3f}, max {max(extra_cpu):.3f})" if len(extra_cpu) > 1 else "")
                        + f" | {med(res[label]['sidecar']) / n:.3f} % | {req_text} | {lat_text} |")
            comps, unw = {}, {}
            for by in res[label]["by"]:
                for key, v in by.items():
                    comps.setdefault(key, []).append(v)
            for by in res["unwatched"]["by"]:
                for key, v in by.items():
                    unw.setdefault(key, []).append(v)
            diff = {key: (med(v) - med(unw.get(key, [0]))) / n for key, v in comps.items()}
            details.append(f"| {n} | {label} | " + ", ".join(f"{key} {v:+.3f}" for key, v in sorted(diff.items(), key=lambda kv: -abs(kv[1])) if abs(v) >= 0.005) + " |")
    lat_rows = [f"| {CLASSES[k][0]} | {mode} | {'last line printed right before the end' if loud else 'silent to the end'} | {stats_text(v)} |"
                for (k, mode, loud), v in latency.items()]
    header = (f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} cores, binary "
              f"{os.path.relpath(BIN, ROOT)}, default settings (--end-check-cap 15); CPU as % of one core from CPU time over "
              f"{WINDOW:.0f} s windows ({SETTLE:.0f} s after the sidecars started), median of {REPEATS} repeat(s), each on "
              f"N new silent jobs taken through the modes in turns, unwatched first and last (the baseline: their median). "
              f"Age classes on a compressed schedule: the 10-minute and cap classes' sidecars add "
              f"RAYBRIDGE_BENCH_RUN_AGE_OFFSET to each run's age, so that the youngest run is 600 s (1500 s) old when "
              f"its sidecar starts; the young class's runs were at most {oldest:.0f} s old. End-of-run latency over "
              f"{LATENCY_RUNS} runs per row, ends spread over one check interval of the class. This section took "
              f"{time.time() - started:.0f} s.")
    text = ("## Scale: silent running jobs watched by one sidecar each, by the runs' age\n\n" + header + "\n\n"
            "| N | runs | log | head CPU | head CPU per job over unwatched | sidecar CPU per job | Ray requests per job per minute, by endpoint (job: the status checks) | end of run -> status, median (silent end / last line printed) |\n"
            "|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
            "Head CPU per watched job over unwatched, by component (% of a core; shown when at least 0.005):\n\n"
            "| N | mode | components |\n|---|---|---|\n" + "\n".join(details) + "\n\n"
            "End of run (Ray's end_time) -> status file shows the terminal state, default updateInterval:\n\n"
            "| runs | log | run | seconds |\n|---|---|---|---|\n" + "\n".join(lat_rows) + "\n" + ("\n" + costs if costs else ""))
    return text


def stats_text(values):
    return f"{statistics.median(values):.3f} (min {min(values):.3f}, max {max(values):.3f})"


def main(args):
    ns = [int(a) for a in args] or [int(x) for x in os.environ.get("BENCH_SCALE_N", "16").split()]
    text = table(ns)
    print(text)
    write_section("## Scale", text)


if __name__ == "__main__":
    main(sys.argv[1:])
