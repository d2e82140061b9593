"""`make bench`: measures the raybridge sidecar against the real local Ray and S3 and prints a
table (also written to docs/benchmarks.md). Programs that print numbers; nothing here asserts.

Measured here: log shipping of a large log (time from the run's end to the complete S3 object,
CPU seconds, peak RSS, MiB/s), reaction to a kubelet-style edit (internal histogram and the status
file) next to `ray job submit --no-wait`, and idle cost. Medians over RUNS runs with min and max.
This is the entry point: the other sections have their own files (bench_s3.py, bench_scale.py
with bench_scale_costs.py, bench_table.py, bench_revisions.py), which import only bench_common.py
(and bench_scale.py its costs).

  bench.py [reaction|log|end|storm|s3|scale|table|revisions ...]   those sections only (default: all)
"""
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request

import bench_revisions
import bench_s3
import bench_scale
import bench_table
from bench_common import (BIN, LOG_MIB, PY, RAY, RAY_URL, ROOT, RUNS, VENV, Sidecar, kubelet_write, proc_stats, ray_job,
                          read_status, s3_env, s3_object_size, sections, stats, wait)

IDLE_SECONDS = int(os.environ.get("BENCH_IDLE_SECONDS", "60"))


def wakeups(pid):
    """Context switches per thread: {tid: (name, count)}."""
    threads = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            total = 0
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
            threads[tid] = (name, total)
        except OSError:
            pass  # the thread ended meanwhile
    return threads


def wakeups_between(before, after):
    """Switches of the threads alive at the end (a thread that ended takes its count along), and
    the busiest thread's name."""
    per = {}
    for tid, (name, count) in after.items():
        per[name] = per.get(name, 0) + count - before.get(tid, (name, 0))[1]
    busiest = max(per, key=per.get) if per else "-"
    return sum(per.values()), busiest


def metrics(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as r:
        return r.read().decode()


def sample(text, name):
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.split()[-1])
    return 0.0


def children_usage():
    import resource
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_log_shipping(rows):
    """One job prints LOG_MIB MiB of mixed-length lines as fast as it can. raybridge ships it live;
    then, on the same (finished) run: the two log sources read bare, `ray job logs --follow | aws s3
    cp -`, and raybridge attached to the finished run (so all of them read a finished log)."""
    live = {k: [] for k in ("end", "cpu", "hwm", "rate")}
    catch = {k: [] for k in ("rate", "cpu", "hwm")}
    bare = {"tail": [], "stream": []}
    sink_rates = []
    pipe = {"rate": [], "cpu": [], "end": []}
    for i in range(RUNS):
        job = f"bench-log-{int(time.time())}-{i}"
        s3 = {"s3.endpoint": "127.0.0.1:9000", "s3.secure": "false", "s3upload.bucket": "ray-logs"}
        values = {"resourceURL": RAY_URL, "updateInterval": "20",
                  "jobdata.jobParameters": json.dumps({"bytes": LOG_MIB << 20}), **s3}
        sidecar = Sidecar(job, values, script_file=os.path.join(ROOT, "examples/apps/log_generator.py"))
        try:
            status = wait(lambda: (s := read_status(sidecar.status)).get("log", {}) and s["log"].get("complete") and s, timeout=900, step=0.02)
            done = time.time()
            cpu, _, hwm = proc_stats(sidecar.process.pid)
        finally:
            sidecar.stop()
        submission = status["id"]
        details = ray_job(submission)
        size = status["log"]["bytes"]
        mib = size / (1 << 20)
        live["end"].append(done - details["end_time"] / 1000)
        live["cpu"].append(cpu)
        live["hwm"].append(hwm)
        live["rate"].append(mib / (done - details["start_time"] / 1000))

        for kind in ("tail", "stream"):
            args = [PY, os.path.join(ROOT, "scripts/bench_sources.py"), kind, RAY_URL, submission]
            if kind == "stream":
                args.append(details["driver_node_id"])
            got, seconds, _ = subprocess.run(args, capture_output=True, text=True, check=True).stdout.split()
            if int(got) != size:
                print(f"warning: the {kind} reader got {got} bytes, the log has {size}", file=sys.stderr)
            bare[kind].append(int(got) / (1 << 20) / float(seconds))

        got, seconds, _ = subprocess.run([PY, os.path.join(ROOT, "scripts/bench_sources.py"), "sink", "http://127.0.0.1:9000", str(size), "5"],
                                         env=s3_env(), capture_output=True, text=True, check=True).stdout.split()
        sink_rates.append(int(got) / (1 << 20) / float(seconds))

        key = f"bench/pipeline-{submission}.log"
        c0, t0 = children_usage(), time.time()
        subprocess.run(["bash", "-o", "pipefail", "-c",
                        f"{RAY} job logs --address {RAY_URL} --follow {submission} | "
                        f"{os.path.join(VENV, 'bin/aws')} --endpoint-url http://127.0.0.1:9000 s3 cp - s3://ray-logs/{key}"],
                       env=s3_env(), check=True, stdout=subprocess.DEVNULL)
        took = time.time() - t0
        pipe["cpu"].append(children_usage() - c0)
        pipe["rate"].append(mib / took)
        got = s3_object_size(key)
        if got != size:
            print(f"warning: the pipeline's object has {got} bytes, the log has {size}", file=sys.stderr)

        attach = Sidecar(f"{job}-attach", {"resourceURL": RAY_URL, "id": submission, **s3})
        try:
            t0 = attach.started
            wait(lambda: (s := read_status(attach.status)).get("log", {}) and s["log"].get("complete") and s, timeout=900, step=0.01)
            took = time.time() - t0
            cpu, _, hwm = proc_stats(attach.process.pid)
        finally:
            attach.stop()
        catch["rate"].append(mib / took)
        catch["cpu"].append(cpu)
        catch["hwm"].append(hwm)

    label = f"log shipping, {LOG_MIB} MiB"
    rows.append((f"{label}, live run: run end -> S3 object complete", stats(live["end"], " s")))
    rows.append((f"{label}, live run: MiB/s from run start to object complete", stats(live["rate"], " MiB/s", "{:.1f}")))
    rows.append((f"{label}, live run: sidecar CPU seconds", stats(live["cpu"], " s")))
    rows.append((f"{label}, live run: sidecar peak RSS (VmHWM)", stats(live["hwm"], " MiB", "{:.1f}")))
    rows.append((f"{label}, finished run: bare tail WebSocket reader", stats(bare["tail"], " MiB/s", "{:.1f}")))
    rows.append((f"{label}, finished run: bare state-API stream reader", stats(bare["stream"], " MiB/s", "{:.1f}")))
    rows.append((f"{label}, finished run: `ray job logs --follow \\| aws s3 cp -`, launch -> done", stats(pipe["rate"], " MiB/s", "{:.1f}")))
    rows.append((f"{label}, finished run: that pipeline's CPU seconds", stats(pipe["cpu"], " s")))
    rows.append((f"{label}, finished run: raybridge attached, launch -> object complete", stats(catch["rate"], " MiB/s", "{:.1f}")))
    rows.append((f"{label}, finished run: raybridge CPU seconds", stats(catch["cpu"], " s")))
    rows.append((f"{label}, finished run: raybridge peak RSS (VmHWM)", stats(catch["hwm"], " MiB", "{:.1f}")))
    rows.append((f"{label}: S3 server's intake alone (boto3, sequential 5 MiB parts + complete, from memory)", stats(sink_rates, " MiB/s", "{:.1f}")))
    fastest = max(statistics.median(bare["tail"]), statistics.median(bare["stream"]))
    rows.append((f"{label}: raybridge (finished run) / faster bare source", f"{statistics.median(catch['rate']) / fastest:.2f}"))
    limit = min(fastest, statistics.median(sink_rates))
    rows.append((f"{label}: raybridge (finished run) / slower of (faster source, S3 intake)", f"{statistics.median(catch['rate']) / limit:.2f}"))
    rows.append((f"{label}: raybridge / pipeline, rate (finished run)", f"{statistics.median(catch['rate']) / statistics.median(pipe['rate']):.1f}x"))
    rows.append((f"{label}: raybridge / pipeline, CPU seconds (finished run)", f"{statistics.median(catch['cpu']) / statistics.median(pipe['cpu']):.2f}"))


def bench_reaction_and_idle(rows):
    port = 9590
    job = f"bench-react-{int(time.time())}"
    values = {"resourceURL": RAY_URL, "updateInterval": "20", "jobdata.jobScript": "print('hi')"}
    sidecar = Sidecar(job, values, listen=f"127.0.0.1:{port}")
    internal, to_status = [], []
    try:
        wait(lambda: read_status(sidecar.status).get("jobStatus") == "SUCCEEDED", timeout=120, step=0.05)
        for i in range(RUNS):
            before = metrics(port)
            count0, sum0 = sample(before, "raybridge_reaction_seconds_count"), sample(before, "raybridge_reaction_seconds_sum")
            previous = read_status(sidecar.status).get("id")
            t0 = time.time()
            kubelet_write(sidecar.config, "--set", f"resubmit=r{i}")
            wait(lambda: (s := read_status(sidecar.status)).get("id") != previous and s.get("jobStatus") in ("SUBMITTED", "PENDING", "RUNNING", "SUCCEEDED"), timeout=60, step=0.001)
            to_status.append(time.time() - t0)
            after = metrics(port)
            internal.append((sample(after, "raybridge_reaction_seconds_sum") - sum0) / max(1, sample(after, "raybridge_reaction_seconds_count") - count0))
            wait(lambda: read_status(sidecar.status).get("jobStatus") == "SUCCEEDED", timeout=120, step=0.05)
        cli = []
        for _ in range(RUNS):
            t0 = time.time()
            subprocess.run([RAY, "job", "submit", "--address", RAY_URL, "--no-wait", "--", "python", "-c", "pass"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cli.append(time.time() - t0)
        rows.append(("reaction: ..data swap seen -> submit request sent (internal)", stats([x * 1000 for x in internal], " ms")))
        rows.append(("reaction: ..data swap -> status file shows the new run", stats([x * 1000 for x in to_status], " ms")))
        rows.append(("`ray job submit --no-wait` (same venv), launch -> return", stats([x * 1000 for x in cli], " ms", "{:.0f}")))
        rows.append(("ratio CLI / raybridge internal reaction (medians)", f"{statistics.median(cli) / max(1e-9, statistics.median(internal)):.0f}x"))

        cpu0, _, _ = proc_stats(sidecar.process.pid)
        w0 = wakeups(sidecar.process.pid)
        time.sleep(IDLE_SECONDS)
        cpu1, rss, _ = proc_stats(sidecar.process.pid)
        w1 = wakeups(sidecar.process.pid)
        rows.append((f"idle over {IDLE_SECONDS} s (finished job, no edits): RSS", f"{rss:.1f} MiB"))
        rows.append((f"idle over {IDLE_SECONDS} s: CPU", f"{(cpu1 - cpu0) / IDLE_SECONDS * 100:.3f} % ({cpu1 - cpu0:.2f} s)"))
        switches, busiest = wakeups_between(w0, w1)
        rows.append((f"idle over {IDLE_SECONDS} s: context switches (all threads) per second", f"{switches / IDLE_SECONDS:.1f} (most: thread `{busiest}`)"))

        # After more than a minute the package check is no longer trusted: the next edit pays for it.
        before = metrics(port)
        count0, sum0 = sample(before, "raybridge_reaction_seconds_count"), sample(before, "raybridge_reaction_seconds_sum")
        previous = read_status(sidecar.status).get("id")
        kubelet_write(sidecar.config, "--set", "resubmit=after-idle")
        wait(lambda: read_status(sidecar.status).get("id") != previous, timeout=60, step=0.001)
        after = metrics(port)
        cold = (sample(after, "raybridge_reaction_seconds_sum") - sum0) / max(1, sample(after, "raybridge_reaction_seconds_count") - count0)
        note = "package checked with Ray again" if IDLE_SECONDS >= 60 else "package check still trusted"
        rows.append((f"reaction to the first edit after {IDLE_SECONDS} s idle ({note}), one run", f"{cold * 1000:.3f} ms"))
    finally:
        sidecar.stop()


def submissions(job):
    with urllib.request.urlopen(f"{RAY_URL}/api/jobs/") as r:
        return [j for j in json.load(r) if (j.get("metadata") or {}).get("raybridge.job") == job]


def bench_end_of_run(rows):
    """Run end (Ray's end_time) -> status.jobStatus SUCCEEDED, updateInterval left at 20 s;
    without S3 (the poll) and with S3 (the log stream notices the end)."""
    for label, extra in (("without S3", {}), ("with S3", {"s3.endpoint": "127.0.0.1:9000", "s3.secure": "false", "s3upload.bucket": "ray-logs"})):
        delays = []
        for i in range(RUNS):
            job = f"bench-end-{int(time.time())}-{i}"
            values = {"resourceURL": RAY_URL, "jobdata.jobScript": "import time; time.sleep(4); print('done')", **extra}
            sidecar = Sidecar(job, values)
            try:
                wait(lambda: read_status(sidecar.status).get("jobStatus") == "SUCCEEDED", timeout=120, step=0.01)
                seen = time.time()
                end_ms = ray_job(read_status(sidecar.status)["id"])["end_time"]
                delays.append(seen - end_ms / 1000)
            finally:
                sidecar.stop()
        rows.append((f"end of run -> status SUCCEEDED, default updateInterval, {label}", stats(delays, " s")))


def bench_edit_storm(rows):
    """200 kubelet-style edits in about 2 s: how many submissions, and when the status settles."""
    job = f"bench-storm-{int(time.time())}"
    values = {"resourceURL": RAY_URL, "updateInterval": "20", "jobdata.jobScript": "print('storm')"}
    sidecar = Sidecar(job, values)
    try:
        wait(lambda: read_status(sidecar.status).get("jobStatus") == "SUCCEEDED", timeout=120, step=0.05)
        t0 = time.time()
        # In process: a Python start per edit would take longer than the 2 s the storm lasts.
        sys.path.insert(0, os.path.join(ROOT, "scripts"))
        import kubelet_write
        values = kubelet_write.current(sidecar.config)
        for i in range(200):
            values["resubmit"] = f"s{i}"
            kubelet_write.publish(sidecar.config, values)
            time.sleep(max(0.0, t0 + (i + 1) * 0.01 - time.time()))
        edits_took = time.time() - t0
        def settled():
            s = read_status(sidecar.status)
            return s.get("jobStatus") == "SUCCEEDED" and s.get("revision") and s.get("id", "").startswith(job) and s
        status = wait(lambda: (s := settled()) and s.get("runRevision") == s.get("revision") and s, timeout=300, step=0.05)
        settle = time.time() - t0
        runs = submissions(job)
        rows.append((f"edit storm: 200 edits written in {edits_took:.1f} s -> submissions (incl. the first run)", f"{len(runs)}"))
        rows.append(("edit storm: first edit -> status settled on the last revision, SUCCEEDED", f"{settle:.1f} s"))
    finally:
        sidecar.stop()


def main():
    rows = []
    which = sys.argv[1:] or ["reaction", "log", "end", "storm", "s3", "scale", "table", "revisions"]
    if "reaction" in which:
        bench_reaction_and_idle(rows)
    if "log" in which:
        bench_log_shipping(rows)
    if "end" in which:
        bench_end_of_run(rows)
    if "storm" in which:
        bench_edit_storm(rows)
    if "s3" in which:
        bench_s3.bench_s3(rows)
    ray_version = subprocess.run([RAY, "--version"], capture_output=True, text=True).stdout.strip()
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // (1024 * 1024)
    header = (f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} cores, {mem} GiB, "
              f"{ray_version}, binary {os.path.relpath(BIN, ROOT)}; medians over {RUNS} runs "
              "with min and max.")
    table = "| measure | value |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)
    if rows:
        print(header)
        print(table)
    os.makedirs(os.path.join(ROOT, "docs"), exist_ok=True)
    if rows:
        # The sections that write themselves (scale, job table, revisions) are kept when not
        # measured again.
        kept = sections()
        with open(os.path.join(ROOT, "docs/benchmarks.md"), "w") as f:
            f.write("# Benchmarks\n\n`make bench` writes this file.\n\n" + header + "\n\n" + table + "\n" + ("\n" + kept if kept else ""))
    if "scale" in which:
        bench_scale.main([])
    if "table" in which:
        bench_table.main()
    if "revisions" in which:
        bench_revisions.main()


if __name__ == "__main__":
    main()
