"""Runs for `seconds` (a --kwargs parameter, default 30), printing a line a second: a job that is
still RUNNING when a test edits, kills or restarts things."""
import argparse
import time


class ParseKwargs(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, dict())
        for value in values:
            key, value = value.split('=')
            getattr(namespace, self.dest)[key] = value


parser = argparse.ArgumentParser()
parser.add_argument('-k', '--kwargs', nargs='*', action=ParseKwargs)
args = parser.parse_args()
kwargs = args.kwargs or {}
seconds = float(kwargs.get("seconds", "30"))
print(f"sleeper: running for {seconds} s, kwargs={kwargs}", flush=True)
start = time.time()
while time.time() - start < seconds:
    time.sleep(1)
    print(f"sleeper: {time.time() - start:.0f} s", flush=True)
print("sleeper: done", flush=True)
