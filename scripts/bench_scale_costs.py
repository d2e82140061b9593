"""Where the Ray head's CPU goes when raybridge watches runs: what one request of each kind costs
the head (CPU time of all its processes, `bench_common.head_processes`, less its idle rate), and
what a followed silent driver log costs per second, also as the job table grows. Part of the scale
section of `make bench`; alone: `scripts/services.sh run .venv/bin/python scripts/bench_scale_costs.py`.
"""
import http.client
import os
import statistics
import sys
import time
import urllib.parse

from bench_common import SILENT, head_cpu_between, head_processes, request, wait

CALLS = int(os.environ.get("BENCH_COSTS_CALLS", "300"))
STREAMS = int(os.environ.get("BENCH_COSTS_STREAMS", "16"))
STREAM_WINDOW = float(os.environ.get("BENCH_COSTS_STREAM_WINDOW", "20"))
GROW_TO = int(os.environ.get("BENCH_COSTS_DRIVERS", "40"))


def idle_rate(seconds=10.0):
    h0, t0 = head_processes(), time.time()
    time.sleep(seconds)
    return head_cpu_between(h0, head_processes())[0] / (time.time() - t0)


def per_call(path, idle):
    """Head CPU milliseconds per GET of `path`, on one kept-alive connection (as the sidecar)."""
    conn = http.client.HTTPConnection("127.0.0.1", 8265, timeout=30)
    h0, t0 = head_processes(), time.time()
    for _ in range(CALLS):
        conn.request("GET", path, headers={"User-Agent": "raybridge-bench"})
        r = conn.getresponse()
        r.read()
        assert r.status == 200, (path, r.status)
    took = time.time() - t0
    total, by = head_cpu_between(h0, head_processes())
    conn.close()
    return (total - idle * took) / CALLS * 1000, {k: v / CALLS * 1000 for k, v in by.items() if v / CALLS * 1000 >= 0.05}


def stream_cost(ids, interval, idle):
    """Head CPU % per open follow stream of a silent driver log (state API, this interval)."""
    conns = []
    for sid in ids:
        node = request("GET", f"/api/jobs/{sid}")["driver_node_id"]
        q = urllib.parse.urlencode({"node_id": node, "filename": f"job-driver-{sid}.log", "lines": "-1", "interval": str(interval)})
        c = http.client.HTTPConnection("127.0.0.1", 8265, timeout=30)
        c.request("GET", f"/api/v0/logs/stream?{q}", headers={"User-Agent": "raybridge-bench"})
        r = c.getresponse()
        if r.status != 200:
            for opened, _ in conns + [(c, r)]:
                opened.close()
            raise RuntimeError(f"the state API refused follow stream {len(conns) + 1} of {len(ids)} with HTTP {r.status}")
        conns.append((c, r))
    time.sleep(3)  # the streams' setup is not the steady state
    h0, t0 = head_processes(), time.time()
    time.sleep(STREAM_WINDOW)
    took = time.time() - t0
    total, by = head_cpu_between(h0, head_processes())
    for c, _ in conns:
        c.close()
    return (total - idle * took) / took / len(ids) * 100, {k: v / took / len(ids) * 100 for k, v in by.items() if v / took / len(ids) * 100 >= 0.005}


def grow_drivers(count):
    """Adds `count` finished jobs that used Ray (a submission entry and a driver in the GCS job
    table each), the way a long-lived cluster's table grows."""
    ids = [request("POST", "/api/jobs/", {"entrypoint": "python -c 'import ray; ray.init()'"})["submission_id"] for _ in range(count)]
    wait(lambda: all(request("GET", f"/api/jobs/{i}")["status"] in ("SUCCEEDED", "FAILED") for i in ids), timeout=900, step=2)


def fmt(by):
    return ", ".join(f"{k} {v:.2f}" for k, v in sorted(by.items(), key=lambda kv: -kv[1]))


def main():
    ids = [request("POST", "/api/jobs/", {"entrypoint": SILENT})["submission_id"] for _ in range(STREAMS)]
    rows = []
    try:
        wait(lambda: all(request("GET", f"/api/jobs/{i}")["status"] == "RUNNING" for i in ids), timeout=300, step=0.5)
        time.sleep(3)
        idle = statistics.median(idle_rate() for _ in range(2))
        rows.append(("head idle (this many silent jobs running, nothing watching)", f"{idle * 100:.2f} % of a core", ""))
        table = len(request("GET", "/api/jobs/"))
        for label, path in (("GET /api/version", "/api/version"), (f"GET /api/jobs/<id>, {table} jobs in the table", f"/api/jobs/{ids[0]}")):
            ms, by = per_call(path, idle)
            rows.append((label, f"{ms:.2f} ms head CPU per call", fmt(by)))
            print(rows[-1], file=sys.stderr, flush=True)
        for interval in (0.5, 2.0):
            pct, by = stream_cost(ids, interval, idle)
            rows.append((f"open follow stream (state API, interval={interval}) of a silent log", f"{pct:.3f} % of a core per stream", fmt(by)))
            print(rows[-1], file=sys.stderr, flush=True)
        if GROW_TO:
            t0 = time.time()
            grow_drivers(GROW_TO)
            grown = time.time() - t0
            idle = idle_rate()
            table = len(request("GET", "/api/jobs/"))
            ms, by = per_call(f"/api/jobs/{ids[0]}", idle)
            rows.append((f"GET /api/jobs/<id>, {table} jobs in the table (+{GROW_TO} finished drivers, added in {grown:.0f} s)", f"{ms:.2f} ms head CPU per call", fmt(by)))
    finally:
        for sid in ids:
            request("POST", f"/api/jobs/{sid}/stop")
    text = ("Cost to the head of each kind of request (its CPU time less its idle rate; "
            f"{CALLS} calls on one kept-alive connection; streams: {STREAMS} at once over {STREAM_WINDOW:.0f} s):\n\n"
            "| what | cost | by component (ms per call or % per stream) |\n|---|---|---|\n"
            + "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows) + "\n")
    print(text)
    return text


if __name__ == "__main__":
    main()
