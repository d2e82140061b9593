"""Prints the `podman run` options that run one container of a Deployment the way the kubelet runs
it, so that scripts/image-test.sh runs the sidecar exactly as deploy/base/deployment.yaml says and
follows that file when it changes. One option per line.

  podman_args.py DEPLOYMENT.yaml CONTAINER --volume NAME=HOST_DIR ... [--user UID:GID] [--image IMAGE]
                 [--env NAME=VALUE ...] [--arg-replace OLD=NEW ...] [--no-args]

What is mapped (anything else in the container spec is an error, so nothing is dropped unseen):
- securityContext (pod, then container): runAsUser/runAsGroup -> --user (or --user's override),
  fsGroup -> --group-add (the kubelet adds it to every container's groups), readOnlyRootFilesystem
  -> --read-only without podman's own tmpfs mounts (Kubernetes adds none), capabilities.drop ALL ->
  --cap-drop ALL, allowPrivilegeEscalation: false -> no-new-privileges, seccompProfile
  RuntimeDefault -> podman's default profile (nothing to add);
- volumeMounts: configMap/secret/emptyDir volumes -> the host directories given with --volume
  (written kubelet-style by the caller), `readOnly` -> :ro; an emptyDir with medium Memory -> a
  tmpfs of its sizeLimit;
- env (values only), command (--entrypoint), args (after the image), resources.limits -> --memory/--cpus.
Probes, ports and requests need nothing: the probes are checked by the caller over the host network.
"""
import argparse
import json
import sys

import yaml

IGNORED = {"name", "image", "ports", "livenessProbe", "readinessProbe", "startupProbe"}


def quantity_bytes(text):
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return int(text[: -len(suffix)]) * factor
    return int(text)


def cpus(text):
    return str(int(text[:-1]) / 1000) if text.endswith("m") else text


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("deployment")
    parser.add_argument("container")
    parser.add_argument("--volume", action="append", default=[], help="NAME=HOST_DIR")
    parser.add_argument("--user", help="UID:GID instead of the securityContext's (the app of another uid)")
    parser.add_argument("--image", help="printed after the options, before the args")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE, replaces the manifest's")
    parser.add_argument("--arg-replace", action="append", default=[], help="OLD=NEW in args")
    parser.add_argument("--no-args", action="store_true", help="leave out command and args")
    parser.add_argument("--omit-volume", action="append", default=[], help="NAME: a mount left out (a misconfiguration)")
    opts = parser.parse_args()

    with open(opts.deployment) as f:
        pod = yaml.safe_load(f)["spec"]["template"]["spec"]
    container = next((c for c in pod["containers"] if c["name"] == opts.container), None)
    if container is None:
        sys.exit(f"podman_args: no container {opts.container!r} in {opts.deployment}")
    handled = IGNORED | {"securityContext", "volumeMounts", "env", "args", "command", "resources"}
    unknown = set(container) - handled
    if unknown:
        sys.exit(f"podman_args: container {opts.container!r} has fields this mapping does not know: {sorted(unknown)}")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    hosts = dict(item.split("=", 1) for item in opts.volume)
    out = []

    security = dict(pod.get("securityContext", {}))
    security.update(container.get("securityContext", {}))
    user = opts.user or f"{security['runAsUser']}:{security.get('runAsGroup', security['runAsUser'])}"
    out += ["--user", user]
    if "fsGroup" in pod.get("securityContext", {}):
        out += ["--group-add", str(pod["securityContext"]["fsGroup"])]
    if security.get("readOnlyRootFilesystem"):
        out += ["--read-only", "--read-only-tmpfs=false"]
    for cap in security.get("capabilities", {}).get("drop", []):
        out += ["--cap-drop", cap]
    if security.get("allowPrivilegeEscalation") is False:
        out += ["--security-opt", "no-new-privileges"]
    seccomp = security.get("seccompProfile", {}).get("type", "RuntimeDefault")
    if seccomp != "RuntimeDefault":
        sys.exit(f"podman_args: seccompProfile {seccomp} is not mapped")

    for mount in container.get("volumeMounts", []):
        if mount["name"] in opts.omit_volume:
            continue
        volume = volumes[mount["name"]]
        ro = ":ro" if mount.get("readOnly") else ""
        empty = volume.get("emptyDir")
        if empty is not None and empty.get("medium") == "Memory":
            size = quantity_bytes(empty.get("sizeLimit", "64Mi"))
            out += ["--tmpfs", f"{mount['mountPath']}:rw,size={size},mode=1777"]
            continue
        if mount["name"] not in hosts:
            sys.exit(f"podman_args: give --volume {mount['name']}=HOST_DIR (mounted at {mount['mountPath']})")
        out += ["--volume", f"{hosts[mount['name']]}:{mount['mountPath']}{ro}"]

    env = {e["name"]: e["value"] for e in container.get("env", [])}
    env.update(dict(item.split("=", 1) for item in opts.env))
    for name, value in env.items():
        out += ["--env", f"{name}={value}"]

    limits = container.get("resources", {}).get("limits", {})
    if "memory" in limits:
        out += ["--memory", str(quantity_bytes(limits["memory"]))]
    if "cpu" in limits:
        out += ["--cpus", cpus(limits["cpu"])]

    replace = dict(item.split("=", 1) for item in opts.arg_replace)
    if container.get("command") and not opts.no_args:
        out += ["--entrypoint", json.dumps([replace.get(a, a) for a in container["command"]])]
    if opts.image:
        out.append(opts.image)
    if not opts.no_args:
        out += [replace.get(a, a) for a in container.get("args", [])]
    print("\n".join(out))


if __name__ == "__main__":
    main()
