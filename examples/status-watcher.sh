#!/usr/bin/env bash
# What an app container can do with raybridge's status directory: wait for changes with
# inotifywait (Debian's inotify-tools) and print each transition. The directory is written like a
# ConfigMap volume, so one event marks a whole consistent update: the `..data` symlink being
# moved into place. Read the files through ..data/ and a reader never sees a half-written set.
#
#   examples/status-watcher.sh /status            # prints transitions until killed
#   examples/status-watcher.sh /status SUCCEEDED  # exits 0 when the job succeeds (1 if FAILED/STOPPED)
set -euo pipefail
dir=${1:?usage: status-watcher.sh STATUS_DIR [UNTIL_STATUS]}
until_status=${2:-}
last=""

show() {
  [ -e "$dir/..data/status.jobStatus" ] || return 0
  local id status message
  id=$(cat "$dir/..data/id")
  status=$(cat "$dir/..data/status.jobStatus")
  message=$(head -c 200 "$dir/..data/status.message" | tr '\n' ' ')
  if [ "$id $status" != "$last" ]; then
    printf '%s %-10s %s %s\n' "$(date -u +%H:%M:%S)" "$status" "$id" "$message"
    last="$id $status"
  fi
  if [ -n "$until_status" ]; then
    case "$status" in
      "$until_status") exit 0 ;;
      SUCCEEDED | FAILED | STOPPED) exit 1 ;;
    esac
  fi
}

mkdir -p "$dir"
show
# -m: keep watching; moved_to/create of ..data is the commit point of every update.
exec 3< <(inotifywait -m -q -e moved_to -e create --format '%f' "$dir")
watcher=$!
trap 'kill "$watcher" 2>/dev/null || true' EXIT
while read -r name <&3; do
  if [ "$name" = "..data" ]; then show; fi
done
