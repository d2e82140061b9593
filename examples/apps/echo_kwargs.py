"""Prints exactly what arrived: its --kwargs and selected environment variables, as one JSON line.

Tests read this line back from the driver log to check that every parameter and env var arrived
byte for byte. Uses the ParseKwargs parser of the Bridge ray pod's README, unchanged.
"""
import argparse
import json
import os
import sys


class ParseKwargs(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, dict())
        for value in values:
            key, value = value.split('=')
            getattr(namespace, self.dest)[key] = value


parser = argparse.ArgumentParser()
parser.add_argument('-k', '--kwargs', nargs='*', action=ParseKwargs)
args = parser.parse_args()

prefix = os.environ.get("ECHO_ENV_PREFIX", "RB_")
env = {k: v for k, v in os.environ.items() if k.startswith(prefix)}
print("RAYBRIDGE_ECHO " + json.dumps({"argv": sys.argv[1:], "kwargs": args.kwargs or {}, "env": env}, ensure_ascii=True), flush=True)
