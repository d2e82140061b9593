"""`make bench` section "revisions" (alone: `make bench BENCH=revisions`): does the sidecar's memory
grow with the revisions it has run? One sidecar, its ConfigMap edited (`resubmit`) once the run
before is SUCCEEDED and its log complete in S3, REVISIONS times; each revision is a short run
(`print`), so each one costs a submission, a followed log and a PutObject. VmRSS after the first
EARLY revisions and after all of them; a growth of more than a few hundred KiB means something is
kept per run (a dictionary that only grows, a metric label per submission id).

Prints its table and writes it as the "## RSS over revisions" section of docs/benchmarks.md, which
the other sections keep.
"""
import os
import sys
import time

from bench_common import BIN, RAY_URL, ROOT, Sidecar, proc_stats, read_status, wait, write_section

REVISIONS = int(os.environ.get("BENCH_REVISIONS", "500"))
EARLY = int(os.environ.get("BENCH_REVISIONS_EARLY", "50"))
TITLE = "## RSS over revisions"
# After a run is over the sidecar's loop is idle; RSS is read after this settle time.
SETTLE_SECONDS = 2.0


def rss_mib(pid):
    return proc_stats(pid)[1]


def run():
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    import kubelet_write

    job = f"bench-revs-{int(time.time())}"
    values = {"resourceURL": RAY_URL, "updateInterval": "20", "jobdata.jobScript": "print('revision')",
              "s3.endpoint": "127.0.0.1:9000", "s3.secure": "false", "s3upload.bucket": "ray-logs", "resubmit": "r0"}
    sidecar = Sidecar(job, values)
    samples, t0 = {}, time.time()

    def finished(previous):
        s = read_status(sidecar.status)
        return (s.get("id") != previous and s.get("jobStatus") == "SUCCEEDED" and (s.get("log") or {}).get("complete")
                and s.get("runRevision") == s.get("revision") and s)

    try:
        status = wait(lambda: finished(None), timeout=120, step=0.02)
        for revision in range(1, REVISIONS + 1):
            previous = status["id"]
            config = kubelet_write.current(sidecar.config)
            config["resubmit"] = f"r{revision}"
            kubelet_write.publish(sidecar.config, config)
            status = wait(lambda: finished(previous), timeout=120, step=0.02)
            if revision in (EARLY, REVISIONS):
                time.sleep(SETTLE_SECONDS)
                samples[revision] = (rss_mib(sidecar.process.pid), proc_stats(sidecar.process.pid)[2])
                print(f"revisions: {revision} done after {time.time() - t0:.0f} s, RSS {samples[revision][0]:.1f} MiB", file=sys.stderr)
    finally:
        sidecar.stop()
    took = time.time() - t0
    early, late = samples[EARLY], samples[REVISIONS]
    rows = [
        (f"RSS after {EARLY} revisions", f"{early[0]:.1f} MiB (peak {early[1]:.1f} MiB)"),
        (f"RSS after {REVISIONS} revisions", f"{late[0]:.1f} MiB (peak {late[1]:.1f} MiB)"),
        (f"RSS growth from {EARLY} to {REVISIONS} revisions", f"{(late[0] - early[0]) * 1024:+.0f} KiB"),
        ("seconds per revision (edit -> SUCCEEDED, log complete)", f"{took / REVISIONS:.2f} s"),
    ]
    header = (f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, binary {os.path.relpath(BIN, ROOT)}: "
              f"one sidecar, {REVISIONS} revisions one after the other, each a short run with its log in S3; "
              f"VmRSS {SETTLE_SECONDS:.0f} s after the run's log is complete.")
    return f"{TITLE}\n\n{header}\n\n| measure | value |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows) + "\n"


def main():
    text = run()
    print(text)
    write_section(TITLE, text)


if __name__ == "__main__":
    main()
