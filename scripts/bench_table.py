"""`make bench`'s job-table section (alone: `scripts/services.sh run scripts/bench.sh table`): what
one status check of a run, `GET /api/jobs/{id}`, costs the Ray head (CPU time of all its
processes, `bench_common.head_processes`, less its idle rate) and how long it takes (the client's
wall time), with 20 jobs in the cluster's job table and with 500; then again after the extra 480
were deleted (`DELETE /api/jobs/{id}`, what raybridge's keepFinishedRuns does to its old runs).
`GET /api/jobs/` (the list, which raybridge reads when it starts or finds its runs again) beside it.

The table is filled with finished dummy jobs (`true`: a submission record each, no Ray driver):
up to the first size run for real, at most FILL_PARALLEL starting at once (each runs a supervisor
actor, a Python process); beyond it their records are written as Ray writes a finished job's
(see `fill`).
"""
import http.client
import os
import statistics
import sys
import time

from bench_common import SILENT, head_cpu_between, head_processes, request, wait, write_section

CALLS = int(os.environ.get("BENCH_TABLE_CALLS", "300"))
LIST_CALLS = int(os.environ.get("BENCH_TABLE_LIST_CALLS", "30"))
SIZES = [int(x) for x in os.environ.get("BENCH_TABLE_SIZES", "20 500").split()]
FILL_PARALLEL = int(os.environ.get("BENCH_TABLE_FILL_PARALLEL", "6"))
HEADING = "## Job table"


def idle_rate(seconds=10.0):
    h0, t0 = head_processes(), time.time()
    time.sleep(seconds)
    return head_cpu_between(h0, head_processes())[0] / (time.time() - t0)


def per_call(path, calls):
    """(head CPU ms per call less the idle rate, median and 90th percentile wall ms per call) of
    `calls` GETs of `path` on one kept-alive connection, as the sidecar sends them."""
    idle = idle_rate()
    conn = http.client.HTTPConnection("127.0.0.1", 8265, timeout=60)
    walls = []
    h0, t0 = head_processes(), time.time()
    for _ in range(calls):
        start = time.perf_counter()
        conn.request("GET", path, headers={"User-Agent": "raybridge-bench"})
        r = conn.getresponse()
        r.read()
        walls.append((time.perf_counter() - start) * 1000)
        assert r.status == 200, (path, r.status)
    took = time.time() - t0
    total, _ = head_cpu_between(h0, head_processes())
    conn.close()
    walls.sort()
    return (total - idle * took) / calls * 1000, statistics.median(walls), walls[int(len(walls) * 0.9) - 1]


def job_count():
    return len(request("GET", "/api/jobs/"))


def fill(target, real):
    """Adds finished dummy jobs until the table holds `target` (the ones starting count); returns
    their ids. `real`: submitted and run (`true`); else their records are written where Ray's job
    manager keeps them (the GCS's internal KV, through Ray's own JobInfoStorageClient), as it
    writes them for a job that ended: starting hundreds of real ones takes the best part of an
    hour on 2 shared cores, and `GET /api/jobs/{id}` reads only the run's own record and the
    GCS's driver rows, which a job without `ray.init()` does not add."""
    if not real:
        return write_records(target - job_count())
    added, running, told = [], [], 0
    while True:
        count = job_count()
        while len(running) < FILL_PARALLEL and count < target:
            sid = request("POST", "/api/jobs/", {"entrypoint": "true", "metadata": {"raybridge.bench": "table"}})["submission_id"]
            running.append(sid)
            added.append(sid)
            count += 1
        if not running:
            return added
        time.sleep(0.5)
        running = [s for s in running if request("GET", f"/api/jobs/{s}")["status"] not in ("SUCCEEDED", "FAILED", "STOPPED")]
        if count - told >= 10:
            told = count
            print(f"job table: {count} of {target}", file=sys.stderr, flush=True)


def write_records(count):
    import asyncio

    from ray._raylet import GcsClient
    from ray.dashboard.modules.job.common import JobInfo, JobInfoStorageClient, JobStatus

    storage = JobInfoStorageClient(GcsClient(address="127.0.0.1:6379"))
    ids = [f"raysubmit_benchtable{int(time.time())}{k:05d}" for k in range(max(count, 0))]

    async def put():
        now = int(time.time() * 1000)
        for sid in ids:
            info = JobInfo(status=JobStatus.SUCCEEDED, entrypoint="true", message="Job finished successfully.", start_time=now - 2000,
                           end_time=now - 1000, metadata={"raybridge.bench": "table"}, runtime_env={}, driver_exit_code=0)
            await storage.put_info(sid, info)

    asyncio.run(put())
    return ids


def measure(label, target_id, rows):
    jobs = job_count()
    get_ms, get_wall, get_p90 = per_call(f"/api/jobs/{target_id}", CALLS)
    list_ms, list_wall, list_p90 = per_call("/api/jobs/", LIST_CALLS)
    rows.append(f"| {jobs}{label} | {get_ms:.2f} ms | {get_wall:.1f} ms (p90 {get_p90:.1f}) | {list_ms:.1f} ms | "
                f"{list_wall:.1f} ms (p90 {list_p90:.1f}) |")
    print(rows[-1], file=sys.stderr, flush=True)


def section():
    started = time.time()
    target = request("POST", "/api/jobs/", {"entrypoint": SILENT, "metadata": {"raybridge.bench": "table"}})["submission_id"]
    rows, dummies = [], []
    try:
        wait(lambda: request("GET", f"/api/jobs/{target}")["status"] == "RUNNING", timeout=300, step=0.5)
        first = []
        for size in SIZES:
            t0 = time.time()
            added = fill(size, real=size == SIZES[0])
            if size == SIZES[0]:
                first = added
            dummies += added
            filled = time.time() - t0
            time.sleep(5)  # the last supervisors' exit is not the steady state
            measure("" if size == SIZES[0] else f" (filled in {filled:.0f} s)", target, rows)
        if len(SIZES) > 1:
            for sid in dummies[len(first):]:
                request("DELETE", f"/api/jobs/{sid}")
            dummies = first
            time.sleep(5)
            measure(" (the others deleted again)", target, rows)
    finally:
        request("POST", f"/api/jobs/{target}/stop")
        for sid in dummies:
            try:
                request("DELETE", f"/api/jobs/{sid}")
            except Exception:
                pass  # left for the head's next restart
    text = (f"{HEADING}: what a run's status check costs as the cluster's job table grows\n\n"
            f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} cores. "
            f"The run checked is a silent running job; the other jobs are finished dummies (`true`: a "
            f"submission record each, no driver): up to {SIZES[0]} run for real (at most {FILL_PARALLEL} at once), "
            f"the rest written as Ray's job manager writes a finished job's record (JobInfoStorageClient), "
            f"since hundreds of real ones take most of an hour here. Head CPU per call: "
            f"the head's CPU time (all its processes, not the jobs') less its idle rate, over {CALLS} GETs "
            f"of the run ({LIST_CALLS} of the list) on one kept-alive connection; time: the client's wall "
            f"time per call. This section took {time.time() - started:.0f} s.\n\n"
            "| jobs in the table | `GET /api/jobs/<id>`: head CPU per call | its time, median | "
            "`GET /api/jobs/` (list): head CPU per call | its time, median |\n"
            "|---|---|---|---|---|\n" + "\n".join(rows) + "\n")
    return text


def main():
    text = section()
    print(text)
    write_section(HEADING, text)


if __name__ == "__main__":
    main()
