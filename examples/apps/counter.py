"""The Bridge Operator's sample Ray app: an actor counter driven by --kwargs, printing env vars."""
import argparse
import os
import time

import ray


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
iterations = int(kwargs.get("iterations", "5"))
delay = float(kwargs.get("delay", "0"))
print(f"kwargs: {kwargs}")
print(f"MY_VARIABLE1={os.environ.get('MY_VARIABLE1')} MY_VARIABLE2={os.environ.get('MY_VARIABLE2')}")


@ray.remote
class Counter:
    def __init__(self):
        self.n = 0

    def increment(self):
        self.n += 1
        return self.n


ray.init()
counter = Counter.remote()
for i in range(iterations):
    print(f"iteration {i + 1}/{iterations}: counter = {ray.get(counter.increment.remote())}", flush=True)
    time.sleep(delay)
print("counter: done", flush=True)
