"""A job that fails on purpose, to try backoffLimit: every run counts itself in a file on the
Ray head's disk (--kwargs counter=/path), then
  - hangs (sleeps 600 s) while its attempt number is <= hang,
  - fails (exit 1) while it is <= hang + fail,
  - succeeds after that.
Started as the ray pod started its apps: python script.py --kwargs 'key=value' ..."""
import argparse
import os
import sys
import time


class ParseKwargs(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, dict())
        for value in values:
            key, value = value.split('=')
            getattr(namespace, self.dest)[key] = value


parser = argparse.ArgumentParser()
parser.add_argument('-k', '--kwargs', nargs='*', action=ParseKwargs, default={})
kwargs = parser.parse_args().kwargs
counter = kwargs.get("counter", "/tmp/flaky-counter")
hang = int(kwargs.get("hang", "0"))
fail = int(kwargs.get("fail", "2"))

attempt = (int(open(counter).read()) if os.path.exists(counter) else 0) + 1
with open(counter, "w") as f:
    f.write(str(attempt))
print(f"flaky: attempt {attempt} (hang {hang}, fail {fail})", flush=True)
if attempt <= hang:
    time.sleep(600)
if attempt <= hang + fail:
    print(f"flaky: attempt {attempt} fails", flush=True)
    sys.exit(1)
print(f"flaky: attempt {attempt} succeeds", flush=True)
