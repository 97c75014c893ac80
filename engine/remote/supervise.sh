#!/usr/bin/env bash
# fleetstack remote supervisor, uploaded beside each job:
# `setsid nohup bash supervise.sh DIR GRACE CONTAINER` (CONTAINER=1: the job runs an image).
# Runs DIR/job.sh from DIR/code in a clean environment (the job script exports the job's own
# variables), appends its output to DIR/output.log, and records its exit status in DIR/exit_code
# (written whole, then renamed). It is detached from the SSH session, so it survives the
# connection. Signals: TERM = stop (TERM to the job script, everything killed after GRACE
# seconds), USR1 = abort (everything killed now). Nothing of the job outlives it.
# A job with an image, for an SSH user who is not root and cannot use docker, runs through
# `sudo -n` where that works (a cloud image's default user): docker needs root there.
set -u
dir=$1
grace=$2
container=${3:-0}
as_root=()
sid=$$
child=""
killer=""
stop_pending=""
abort_pending=""

# Every process of this session (the job's, whatever their process group) except this one.
kill_session() {
  local f p line
  local -a fields
  for f in /proc/[0-9]*/stat; do
    p=${f#/proc/}
    p=${p%/stat}
    [[ "$p" == "$sid" ]] && continue
    read -r line <"$f" 2>/dev/null || continue
    read -r -a fields <<<"${line##*) }"
    [[ "${fields[3]:-}" == "$sid" ]] && "${as_root[@]}" kill -KILL "$p" 2>/dev/null
  done
}

# Invoked by the traps below.
# shellcheck disable=SC2329
on_stop() {
  if [[ -z "$child" ]]; then
    stop_pending=1
    return 0
  fi
  [[ -n "$killer" ]] && return 0
  kill -TERM "$child" 2>/dev/null
  (
    # shellcheck disable=SC2046
    trap 'kill $(jobs -p) 2>/dev/null; exit 0' TERM
    sleep "$grace" &
    wait "$!" && kill -USR1 "$sid"
  ) >/dev/null 2>&1 </dev/null &
  killer=$!
}

# shellcheck disable=SC2329
on_abort() {
  [[ -z "$child" ]] && abort_pending=1
  kill_session
}

trap on_stop TERM
trap on_abort USR1
trap '' HUP
printf '%s\n' "$$" >"$dir/supervisor.pid.tmp" && mv -f "$dir/supervisor.pid.tmp" "$dir/supervisor.pid"

# `docker info` in the background, so a stop or an abort is handled while it runs (bash
# runs a trap only once its foreground command ends, and a slow docker may take long).
docker_answers() {
  docker info >/dev/null 2>&1 &
  local probe=$! status
  while true; do
    wait "$probe"
    status=$?
    kill -0 "$probe" 2>/dev/null || return "$status"
  done
}

# Named first, probed after: the starter waits for supervisor.pid, and `docker info` may take
# seconds on a busy or freshly booted host.
if [[ "$container" == 1 && "$(id -u)" != 0 ]] && ! docker_answers && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
fi

record() {
  printf '%s\n' "$1" >"$dir/exit_code.tmp" && mv -f "$dir/exit_code.tmp" "$dir/exit_code"
  exit 0
}

[[ -n "$abort_pending" ]] && record 137 # aborted before the job started: it never runs
cd "$dir/code" 2>/dev/null || { printf 'fleetstack: %s/code is missing\n' "$dir" >>"$dir/output.log"; record 2; }
"${as_root[@]}" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="${HOME:-/}" \
  LANG=C.UTF-8 bash "$dir/job.sh" >>"$dir/output.log" 2>&1 </dev/null &
child=$!
[[ -n "$stop_pending" ]] && on_stop
while true; do
  wait "$child"
  status=$?
  kill -0 "$child" 2>/dev/null || break
done
kill_session
record "$status"
