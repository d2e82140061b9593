"""`make order-file`: writes deploy/raybridge.order, the functions the release binary runs in a
sidecar's ordinary life, for lld's --symbol-ordering-file (make release, deploy/Dockerfile).

Why: an idle sidecar's memory is mostly the binary's code paged in, and the kernel maps the 64 KiB
around every page of code touched (fault-around). Spread over 20 MB of .text, the 1.5 MB that runs
kept 14 MiB resident; laid out first and together, about a fifth of that.

How: the release binary runs under valgrind's callgrind (which lists every function that ran)
against the local Ray and S3 (run under scripts/services.sh): start, a run whose log goes to S3,
an edit and its run, a few seconds idle, SIGTERM. Names that no longer exist after a code change
are ignored by the linker; new code lands after the listed functions, so a stale file costs memory,
never correctness. Regenerate it after larger changes.
"""
import glob
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from bench_common import BIN, RAY_URL, ROOT, kubelet_write, read_status, wait

OUT = os.path.join(ROOT, "deploy/raybridge.order")


def ran(binary, outputs):
    """The binary's functions named in callgrind's outputs, in the order first seen."""
    defined = set()
    for line in subprocess.check_output(["nm", binary], text=True).splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tTwW":
            defined.add(parts[2])
    names, seen = [], set()
    for out in outputs:
        ids = {}
        with open(out, errors="replace") as f:
            for line in f:
                m = re.match(r"^c?fn=\((\d+)\)(?: (.*))?", line)
                if not m:
                    continue
                if m.group(2):
                    ids[m.group(1)] = m.group(2).strip()
                name = ids.get(m.group(1))
                if name in defined and name not in seen:
                    seen.add(name)
                    names.append(name)
    return names


def main():
    work = tempfile.mkdtemp(prefix="raybridge-order-")
    # valgrind 3.19 cannot read Swift 6.3's DWARF 5 and gives up: a copy without it, symbols kept.
    binary = os.path.join(work, "raybridge")
    subprocess.run(["strip", "--strip-debug", "-o", binary, BIN], check=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config, status = os.path.join(work, "config"), os.path.join(work, "status")
    kubelet_write(config, "--set", f"resourceURL={RAY_URL}", "--set", "jobdata.jobScript=print('order')",
                  "--set", "s3.endpoint=127.0.0.1:9000", "--set", "s3.secure=false", "--set", "s3upload.bucket=ray-logs")
    cmd = ["valgrind", "--tool=callgrind", "--demangle=no", f"--callgrind-out-file={work}/callgrind.%p",
           binary, "run", "--config-dir", config, "--status-dir", status, "--job-name", f"order-{int(time.time())}",
           "--s3-credentials-dir", os.path.join(ROOT, ".run/s3"), "--ray-credentials-dir", "/nonexistent",
           "--listen", f"127.0.0.1:{port}"]
    with open(os.path.join(work, "sidecar.log"), "w") as log:
        sidecar = subprocess.Popen(cmd, stdout=log, stderr=log)
        try:
            def done(previous):
                if sidecar.poll() is not None:
                    raise RuntimeError(f"the sidecar under valgrind exited ({sidecar.returncode}): see {work}/sidecar.log")
                s = read_status(status)
                return s.get("id") != previous and s.get("jobStatus") == "SUCCEEDED" and (s.get("log") or {}).get("complete") and s
            first = wait(lambda: done(None), timeout=600, step=0.2)
            kubelet_write(config, "--set", "resubmit=1")
            wait(lambda: done(first["id"]), timeout=600, step=0.2)
            # Kubernetes probes these every few seconds.
            for path in ("/healthz", "/readyz", "/metrics") * 3:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30).read()
            time.sleep(5)
        finally:
            sidecar.send_signal(signal.SIGTERM)
            sidecar.wait(120)
    names = ran(binary, glob.glob(f"{work}/callgrind.*"))
    if not names:
        sys.exit(f"order-file: no function of the binary in the callgrind output ({work})")
    with open(OUT, "w") as f:
        f.write("# scripts/order_file.py wrote this: the functions a sidecar runs, for lld --symbol-ordering-file\n")
        f.write("\n".join(names) + "\n")
    print(f"order-file: {len(names)} functions -> {os.path.relpath(OUT, ROOT)}", file=sys.stderr)
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
