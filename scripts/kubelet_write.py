"""Updates a directory exactly the way the kubelet updates a mounted ConfigMap volume
(pkg/volume/util/atomic_writer.go; docs of the steps: the team's reference on the atomic
writer): nothing written if the content is unchanged, else a new timestamped directory,
`..data_tmp` symlink, atomic rename to `..data`, per-key symlinks created for new keys and
removed for deleted ones, old directory removed. For the demo and for trying raybridge by hand.

  kubelet_write.py DIR --from-yaml configmap.yaml [--set key=value ...] [--set-file key=path ...]
  kubelet_write.py DIR --set key=value            (changes keys of what DIR holds now)
"""
import argparse
import datetime
import os
import random
import shutil
import string


def publish(directory, values):
    """Writes `values` (key -> text) as the complete new content of `directory`, kubelet-style.
    Returns False, writing nothing, when `directory` already holds exactly `values`."""
    os.makedirs(directory, exist_ok=True)
    data_link = os.path.join(directory, "..data")
    old = os.readlink(data_link) if os.path.islink(data_link) else None
    # 1. Unchanged content is not written again (no new generation, no events).
    previous = current(directory)
    if old is not None and previous == values:
        return False
    # 2. A new timestamped directory with every key (modes set explicitly: no umask).
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y_%m_%d_%H_%M_%S")
    suffix = "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(8))
    new = f"..{stamp}.{suffix}"
    os.mkdir(os.path.join(directory, new))
    os.chmod(os.path.join(directory, new), 0o755)
    for key, value in values.items():
        path = os.path.join(directory, new, key)
        with open(path, "w") as f:
            f.write(value)
        os.chmod(path, 0o644)
    # 3-4. `..data_tmp` -> the new directory, renamed over `..data`: the commit point.
    tmp = os.path.join(directory, "..data_tmp")
    if os.path.lexists(tmp):
        os.remove(tmp)
    os.symlink(new, tmp)
    os.rename(tmp, data_link)
    # 5. A symlink for each new key; the symlinks of keys the old content had and this one has not go.
    for key in values:
        link = os.path.join(directory, key)
        if not os.path.lexists(link):
            os.symlink(os.path.join("..data", key), link)
    for key in previous:
        if key not in values:
            os.remove(os.path.join(directory, key))
    # 6. The old timestamped directory goes.
    if old and old != new:
        shutil.rmtree(os.path.join(directory, old), ignore_errors=True)
    return True


def current(directory):
    """What `directory` holds now (through ..data), key -> text."""
    data = os.path.join(directory, "..data")
    if not os.path.isdir(data):
        return {}
    values = {}
    for name in os.listdir(data):
        with open(os.path.join(data, name)) as f:
            values[name] = f.read()
    return values


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--from-yaml")
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--set-file", action="append", default=[])
    parser.add_argument("--delete", action="append", default=[])
    args = parser.parse_args()
    if args.from_yaml:
        import yaml
        with open(args.from_yaml) as f:
            values = {k: "" if v is None else str(v) for k, v in (yaml.safe_load(f).get("data") or {}).items()}
    else:
        values = current(args.dir)
    for item in args.set:
        key, _, value = item.partition("=")
        values[key] = value
    for item in args.set_file:
        key, _, path = item.partition("=")
        with open(path) as f:
            values[key] = f.read()
    for key in args.delete:
        values.pop(key, None)
    publish(args.dir, values)


if __name__ == "__main__":
    main()
