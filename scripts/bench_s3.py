"""`make bench`'s S3 section (`scripts/bench.sh s3` alone): what the second round of S3 keys
costs and saves, on the same LOG_MIB log as the log-shipping section, measured on the sidecar
process (CPU seconds from /proc, user + system):

- over TLS (nginx with the test CA in front of moto, scripts/tls-proxy.sh): parts sent as
  UNSIGNED-PAYLOAD with a CRC-32 (the default) against the signed payload (a SHA-256 of every
  part, RAYBRIDGE_S3_SIGN_PAYLOAD=1), side by side;
- `s3upload.compression: gzip` against none (plain http): CPU and the stored size.

Kept apart from the other sections so that each can change without touching the rest.
"""
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from bench_common import BIN, LOG_MIB, RAY_URL, ROOT, kubelet_write, proc_stats, read_status, s3_object_size, stats, wait

RUNS = int(os.environ.get("BENCH_S3_RUNS", "3"))


def ship(job, extra_values, env=None, args=()):
    """Runs one log_generator job of LOG_MIB with its log shipped; returns (cpu s, status)."""
    directory = tempfile.mkdtemp(prefix="raybridge-bench-s3-")
    config, status_dir = os.path.join(directory, "config"), os.path.join(directory, "status")
    values = {"resourceURL": RAY_URL, "updateInterval": "20", "s3upload.bucket": "ray-logs",
              "jobdata.jobParameters": json.dumps({"bytes": LOG_MIB << 20}), **extra_values}
    sets = [a for k, v in values.items() for a in ("--set", f"{k}={v}")]
    kubelet_write(config, *sets, "--set-file", f"jobdata.jobScript={os.path.join(ROOT, 'examples/apps/log_generator.py')}")
    cmd = [BIN, "run", "--config-dir", config, "--status-dir", status_dir, "--job-name", job,
           "--s3-credentials-dir", os.path.join(ROOT, ".run/s3"), "--ray-credentials-dir", "/nonexistent", *args]
    with open(os.path.join(directory, "sidecar.log"), "w") as log:
        process = subprocess.Popen(cmd, stdout=log, stderr=log, env={**os.environ, **(env or {})})
        try:
            status = wait(lambda: (s := read_status(status_dir)).get("log", {}) and s["log"].get("complete") and s,
                                timeout=900, step=0.05)
            cpu, _, _ = proc_stats(process.pid)
        finally:
            process.terminate()
            process.wait(10)
    shutil.rmtree(directory, ignore_errors=True)
    return cpu, status


def bench_s3(rows):
    subprocess.run([os.path.join(ROOT, "scripts/tls-proxy.sh"), "start"], check=True, stdout=subprocess.DEVNULL)
    tls = {"s3.endpoint": "https://127.0.0.1:9443", "s3.secure": "true"}
    ca = ["--ca-file", os.path.join(ROOT, ".run/tls/ca.pem")]
    unsigned, signed, plain, gzip, ratio = [], [], [], [], []
    for i in range(RUNS):
        stamp = f"{int(time.time())}-{i}"
        unsigned.append(ship(f"bench-s3-unsigned-{stamp}", tls, args=ca)[0])
        signed.append(ship(f"bench-s3-signed-{stamp}", tls, env={"RAYBRIDGE_S3_SIGN_PAYLOAD": "1"}, args=ca)[0])
        http = {"s3.endpoint": "127.0.0.1:9000", "s3.secure": "false"}
        plain.append(ship(f"bench-s3-plain-{stamp}", http)[0])
        cpu, status = ship(f"bench-s3-gzip-{stamp}", {**http, "s3upload.compression": "gzip"})
        gzip.append(cpu)
        key = status["log"]["destination"].split("/", 3)[3]
        ratio.append(status["log"]["bytes"] / s3_object_size(key))
    label = f"S3, {LOG_MIB} MiB log, sidecar CPU seconds ({RUNS} runs)"
    rows.append((f"{label}, TLS: UNSIGNED-PAYLOAD + CRC-32 (default)", stats(unsigned, " s")))
    rows.append((f"{label}, TLS: signed payload (SHA-256 of every part)", stats(signed, " s")))
    rows.append((f"{label}, TLS: unsigned / signed", f"{statistics.median(unsigned) / statistics.median(signed):.2f}"))
    rows.append((f"{label}, http: compression none", stats(plain, " s")))
    rows.append((f"{label}, http: compression gzip (zlib level 6)", stats(gzip, " s")))
    rows.append((f"S3, {LOG_MIB} MiB log ({RUNS} runs): gzip ratio (log bytes / object bytes; log_generator's text)", stats(ratio, "", "{:.2f}")))
