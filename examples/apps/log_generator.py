"""Prints `bytes` bytes (a --kwargs parameter) of deterministic mixed-length lines: short and long
(over 20,000 characters) lines, multi-byte UTF-8, written as fast as it can (or over `seconds`).
Tests compare the S3 object with Ray's own copy of this log, byte for byte."""
import argparse
import random
import sys
import time


class ParseKwargs(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, dict())
        for value in values:
            key, value = value.split('=')
            getattr(namespace, self.dest)[key] = value


parser = argparse.ArgumentParser()
parser.add_argument('-k', '--kwargs', nargs='*', action=ParseKwargs)
kwargs = parser.parse_args().kwargs or {}
total = int(kwargs.get("bytes", "1024"))
seconds = float(kwargs.get("seconds", "0"))
rng = random.Random(int(kwargs.get("seed", "7")))
alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 äöü€日本語🚀"
out = sys.stdout.buffer


def make_line(line_no):
    length = rng.choice([0, 1, 40, 80, 200, 1000, 25000]) if line_no % 50 else 30000
    text = f"{line_no:08d} " + "".join(rng.choice(alphabet) for _ in range(min(length, 2000)))
    if length > 2000:
        text = (text * (length // len(text) + 1))[:length]
    return (text + "\n").encode("utf-8")


# Drawing every character at random runs at ~13 MiB/s, slower than Ray can ship a log: past the
# first 2,000 lines, lines are drawn from those instead, so big logs are written at disk speed.
pool = []
written = 0
line_no = 0
start = time.time()
while written < total:
    line_no += 1
    if len(pool) < 2000:
        data = make_line(line_no)
        pool.append(data)
    else:
        data = pool[rng.randrange(len(pool))]
    if written + len(data) > total:
        # ASCII filler, so the log never ends inside a multi-byte character.
        data = b"x" * (total - written)
    out.write(data)
    written += len(data)
    if seconds > 0:
        out.flush()
        due = start + seconds * written / total
        if due > time.time():
            time.sleep(max(0.0, due - time.time()))
out.flush()
