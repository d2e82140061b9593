"""What the sections of `make bench` share (scripts/bench.py runs them): where things are, the
sidecar under test, the local Ray and S3, and reading CPU time from /proc. Imports no section.
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, os.environ.get("RAYBRIDGE_VENV") or ".venv")  # as scripts/lib.sh
PY = os.path.join(VENV, "bin/python")
RAY = os.path.join(VENV, "bin/ray")
BIN = os.environ.get("RAYBRIDGE_BIN", os.path.join(ROOT, ".build/debug/raybridge"))
RAY_URL = "http://127.0.0.1:8265"
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
LOG_MIB = int(os.environ.get("BENCH_LOG_MIB", "256"))
TICK = os.sysconf("SC_CLK_TCK")
# Every process of the local Ray head carries this (scripts/ray-head.sh).
MARKER = f"RAYBRIDGE_RAY_HEAD={ROOT}".encode()
# A job that runs until it is stopped and prints nothing.
SILENT = "python -c 'import time; time.sleep(100000)'"


def kubelet_write(directory, *args):
    subprocess.run([PY, os.path.join(ROOT, "scripts/kubelet_write.py"), directory, *args], check=True)


def read_status(status_dir):
    try:
        with open(os.path.join(status_dir, "..data", "status.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def wait(predicate, timeout=600, step=0.005):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise TimeoutError("benchmark step timed out")


def proc_stats(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK
    rss = hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    return cpu, rss, hwm


class Sidecar:
    def __init__(self, job, values, listen=None, script_file=None, env=None):
        self.dir = tempfile.mkdtemp(prefix="raybridge-bench-")
        self.config = os.path.join(self.dir, "config")
        self.status = os.path.join(self.dir, "status")
        args = []
        for key, value in values.items():
            args += ["--set", f"{key}={value}"]
        if script_file:
            args += ["--set-file", f"jobdata.jobScript={script_file}"]
        kubelet_write(self.config, *args)
        cmd = [BIN, "run", "--config-dir", self.config, "--status-dir", self.status, "--job-name", job,
               "--s3-credentials-dir", os.path.join(ROOT, ".run/s3"), "--ray-credentials-dir", "/nonexistent"]
        if listen:
            cmd += ["--listen", listen]
        self.log = open(os.path.join(self.dir, "sidecar.log"), "w")
        self.started = time.time()
        self.process = subprocess.Popen(cmd, stdout=self.log, stderr=self.log, env={**os.environ, **(env or {})})

    def stop(self):
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def ray_job(submission_id):
    with urllib.request.urlopen(f"{RAY_URL}/api/jobs/{submission_id}") as r:
        return json.load(r)


def stats(values, unit="", fmt="{:.3f}"):
    return f"{fmt.format(statistics.median(values))}{unit} (min {fmt.format(min(values))}, max {fmt.format(max(values))})"


def s3_env():
    env = dict(os.environ)
    with open(os.path.join(ROOT, ".run/s3.env")) as f:
        for line in f:
            key, _, value = line.strip().partition("=")
            if key:
                env[key] = value
    return env


def s3_object_size(key):
    out = subprocess.run([os.path.join(VENV, "bin/aws"), "--endpoint-url", "http://127.0.0.1:9000", "s3api", "head-object",
                          "--bucket", "ray-logs", "--key", key], env=s3_env(), capture_output=True, text=True, check=True).stdout
    return json.loads(out)["ContentLength"]


def request(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{RAY_URL}{path}", data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def head_processes():
    """{pid: (name, cpu seconds)} of the local Ray: the processes carrying ray-head.sh's marker and
    all their descendants (Ray renames some processes, which may overwrite their environ)."""
    parent, name, cpu, seeds = {}, {}, {}, set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/environ", "rb") as f:
                if MARKER in f.read().split(b"\0"):
                    seeds.add(pid)
        except OSError:
            continue  # gone meanwhile, or not ours to read
        fields = stat.rsplit(")", 1)[1].split()
        parent[pid] = int(fields[1])
        cpu[pid] = (int(fields[11]) + int(fields[12])) / TICK
        name[pid] = short_name(cmdline, stat)
    ours = descendants(seeds, parent)
    # The jobs' own processes (each job's supervisor actor, which polls its entrypoint 10 times a
    # second, and the entrypoint) are the same watched or not, and their noise would drown the
    # difference: they are not the head's.
    jobs = descendants({p for p in ours if name[p] in ("job supervisors", "job drivers")}, parent)
    return {p: (name[p], cpu[p]) for p in ours - jobs}


def descendants(seeds, parent):
    """`seeds` and all their descendants."""
    ours, changed = set(seeds), True
    while changed:
        grown = {p for p, pp in parent.items() if pp in ours} - ours
        ours |= grown
        changed = bool(grown)
    return ours


def short_name(cmdline, stat):
    """A stable label for a head process, to break the CPU down by component."""
    module = re.match(r"ray-dashboard-(\w+?)(-\d+)? ", cmdline)
    if module:
        return f"dashboard {module.group(1)}"  # the head's modules that run as subprocesses (2.4x+)
    for pattern, label in (("gcs_server", "gcs_server"), ("raylet/raylet", "raylet"), ("DashboardAgent", "dashboard agent"),
                           ("dashboard/agent.py", "dashboard agent"), ("RuntimeEnvAgent", "runtime_env agent"),
                           ("runtime_env/agent", "runtime_env agent"), ("dashboard/dashboard.py", "dashboard head"),
                           ("forkserver", "dashboard head"), ("log_monitor", "log_monitor"), ("autoscaler", "monitor"),
                           ("util.client.server", "ray client server"), ("JobSupervisor", "job supervisors"),
                           ("time.sleep", "job drivers"), ("ray::", "workers")):
        if pattern in cmdline:
            return label
    return stat.split("(", 1)[1].split(")", 1)[0]


def head_cpu_between(before, after):
    """CPU seconds of the head between two snapshots, in total and by component. Processes that
    started in between count from zero; those that ended take their share along (small: the jobs
    under test live on)."""
    by = {}
    for pid, (label, seconds) in after.items():
        by[label] = by.get(label, 0.0) + seconds - before.get(pid, (label, 0.0))[1]
    return sum(by.values()), by


DOC = os.path.join(ROOT, "docs/benchmarks.md")


def sections(path=DOC):
    """Every `## ` section of docs/benchmarks.md as it is (the sections that write themselves:
    scale, job table, revisions), or ""."""
    try:
        with open(path) as f:
            doc = f.read()
    except OSError:
        return ""
    start = doc.find("\n## ")
    return doc[start + 1:] if start >= 0 else ""


def write_section(heading, text, path=DOC):
    """Replaces the section that starts with `heading` in docs/benchmarks.md (or appends it),
    keeping the rest."""
    try:
        with open(path) as f:
            doc = f.read()
    except OSError:
        doc = "# Benchmarks\n\n`make bench` writes this file.\n"
    start = doc.find(heading)
    if start >= 0:
        end = doc.find("\n## ", start + 1)
        doc = doc[:start] + text.rstrip("\n") + "\n" + ("\n" + doc[end + 1:] if end >= 0 else "")
    else:
        doc = doc.rstrip("\n") + "\n\n" + text
    with open(path, "w") as f:
        f.write(doc)
