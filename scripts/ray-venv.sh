#!/usr/bin/env bash
# Creates or updates, idempotently, a project-local venv with one Ray release for the
# compatibility tests: `.venv-ray-VERSION/` at the repo root, with `ray[default]==VERSION` (the
# [default] extra brings the dashboard, i.e. the Jobs REST API and the state API's log endpoints).
#
#   scripts/ray-venv.sh VERSION      e.g. scripts/ray-venv.sh 2.9.3
#
# The last line on stdout is the venv's path (for `RAY_VENV=$(scripts/ray-venv.sh 2.40.0 | tail -n1)`);
# everything else goes to stderr. Fast (well under a second) when the venv is already complete.
#
# Environment: RAY_VENV_PYTHON (default python3) is the interpreter the venv is made from. It has
# to be one that the release has wheels for: Ray 2.9.x has none for Python >= 3.12.
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || die "usage: $0 VERSION (e.g. 2.9.3)"
VERSION=$1
# Only plain releases: the version ends up in a path and in a pip requirement.
[[ $VERSION =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || die "not a Ray release number: $VERSION"
MAJOR=${BASH_REMATCH[1]}
MINOR=${BASH_REMATCH[2]}

PYTHON="${RAY_VENV_PYTHON:-python3}"
VENV="$ROOT/.venv-ray-$VERSION"

# What goes into the venv besides Ray itself. Only pins that a release was seen to need:
# - Ray < 2.10 imports pkg_resources (ray/_private/pydantic_compat.py, which the job and state
#   modules of the dashboard import at load time), and setuptools 82 removed pkg_resources. A
#   Python 3.11 venv comes with setuptools 65.5 from ensurepip, so this only keeps an upgrade out.
# Everything else resolves to a working set today (checked: 2.9.3, 2.40.0, 2.47.1, 2.52.1, 2.53.0
# with pydantic 2.14, aiohttp 3.14, grpcio 1.85, protobuf 7.36).
REQS=("ray[default]==$VERSION")
CHECK_PKG_RESOURCES=0
if [ "$MAJOR" -lt 2 ] || { [ "$MAJOR" -eq 2 ] && [ "$MINOR" -lt 10 ]; }; then
  REQS+=("setuptools<82")
  CHECK_PKG_RESOURCES=1
fi

# Is the venv complete? The installed Ray is the wanted one and its dashboard imports.
venv_ok() {
  "$VENV/bin/python" - "$VERSION" "$CHECK_PKG_RESOURCES" <<'PY' >/dev/null 2>&1
import sys, importlib.metadata as m
assert m.version("ray") == sys.argv[1]
import ray.dashboard  # noqa: F401
if sys.argv[2] == "1":
    import pkg_resources  # noqa: F401
PY
}

# Two callers at once (e.g. parallel test targets) must not run pip into the same venv.
mkdir -p "$ROOT/.run"
exec 9>"$ROOT/.run/ray-venv-$VERSION.lock"
flock 9

if [ -x "$VENV/bin/python" ] && venv_ok; then
  log "ray $VERSION already in $VENV"
  printf '%s\n' "$VENV"
  exit 0
fi

t0=$SECONDS
# A venv whose interpreter no longer runs (the base Python moved or was upgraded) cannot be
# repaired by pip: make it anew. An existing, working venv is only topped up.
if [ -e "$VENV" ] && ! "$VENV/bin/python" -c '' >/dev/null 2>&1; then
  log "$VENV is broken: recreating it"
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  command -v "$PYTHON" >/dev/null || die "no $PYTHON (set RAY_VENV_PYTHON)"
  log "creating $VENV with $("$PYTHON" --version 2>&1)"
  "$PYTHON" -m venv "$VENV"
fi

log "installing ${REQS[*]} (about 30-50 s)"
# pip's own output to stderr: stdout carries only the path.
"$VENV/bin/pip" install -q --disable-pip-version-check "${REQS[@]}" >&2 ||
  die "pip install ${REQS[*]} failed (a Python without wheels for this release? set RAY_VENV_PYTHON)"
venv_ok || die "ray $VERSION installed, but its dashboard does not import: $VENV/bin/python -c 'import ray.dashboard'"
log "ray $VERSION ready in $((SECONDS - t0)) s"
printf '%s\n' "$VENV"
