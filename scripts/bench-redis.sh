#!/usr/bin/env bash
# Runs redis-benchmark against Debian's redis-server and against orbit-server,
# side by side on this machine, and prints requests per second and the ratio
# orbit/redis per command, plain and pipelined.
#
# redis-server runs with `appendonly yes`, `appendfsync everysec`. Orbit runs
# once with its default sync policy (`commit`: every write fsynced, group
# committed, before the reply) and once with `interval` (fsync every 100 ms),
# the like-for-like match to everysec.
#
# Usage: scripts/bench-redis.sh
# Environment: N (requests per test, 100000), CLIENTS (50), PIPELINE (16),
#   TESTS (the redis-benchmark -t list), REDIS_PORT (16379), ORBIT_PORT (16380),
#   MODES ("commit interval"), ROUNDS (1: runs of each test on each server,
#   alternating; the medians are compared), KEEP_LOGS=1 to keep the
#   temporary directory.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

N="${N:-100000}"
CLIENTS="${CLIENTS:-50}"
PIPELINE="${PIPELINE:-16}"
TESTS="${TESTS:-set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,mset}"
REDIS_PORT="${REDIS_PORT:-16379}"
ORBIT_PORT="${ORBIT_PORT:-16380}"
MODES="${MODES:-commit interval}"
ROUNDS="${ROUNDS:-1}"

for tool in redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install redis-tools" >&2; exit 1; }
done
# Debian's redis-tools carries the server binary as redis-check-rdb, which
# runs as the server when started under the name redis-server. Call this
# in a subshell: it replaces the shell it runs in.
exec_redis_server() {
  if command -v redis-server >/dev/null; then
    exec redis-server "$@"
  else
    exec -a redis-server /usr/bin/redis-check-rdb "$@"
  fi
}

export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --locked -q -p orbit-server --bin orbit-server
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
orbit_bin="$target_dir/release/orbit-server"

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP_LOGS:-0}" = 1 ]; then echo "logs kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# median prints the middle of its arguments, as numbers.
median() {
  printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"
}

wait_ready() {
  for _ in $(seq 1 300); do
    redis-cli -p "$1" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server on port $1 did not come up" >&2
  exit 1
}

# rps PORT TEST PIPELINE prints the requests per second of one test.
# (lrange_* runs an LPUSH fill first: its figure is the last line.)
rps() {
  redis-benchmark -p "$1" -q -n "$N" -c "$CLIENTS" -t "$2" -P "$3" --csv |
    sed -n 's/^"[^"]*","\([0-9.]*\)".*/\1/p' | tail -n 1
}

mkdir -p "$work/redis"
(exec_redis_server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$work/redis" --save "" \
  --appendonly yes --appendfsync everysec --daemonize no) >"$work/redis.log" 2>&1 &
pids+=($!)
wait_ready "$REDIS_PORT"

echo "redis-benchmark -q -n $N -c $CLIENTS -t $TESTS; pipelined runs add -P $PIPELINE"
echo "median of $ROUNDS alternating run(s) per test and server"
echo "redis-server $(exec_redis_server --version | sed 's/.*v=\([^ ]*\).*/\1/') with appendfsync everysec"
echo

for mode in $MODES; do
  rm -rf "$work/orbit"
  ORBIT_SYNC="$mode" "$orbit_bin" --data-dir "$work/orbit" --redis-port "$ORBIT_PORT" --admin-port 0 \
    --disable postgresql --disable mysql --disable cql --disable cypher --disable aql --disable graphrag \
    --log-level warn >"$work/orbit-$mode.log" 2>&1 &
  orbit_pid=$!
  pids+=("$orbit_pid")
  wait_ready "$ORBIT_PORT"

  for pipe in 1 "$PIPELINE"; do
    printf '\norbit sync=%s, -P %s\n' "$mode" "$pipe"
    printf '%-12s %12s %12s %8s\n' command redis orbit ratio
    for t in ${TESTS//,/ }; do
      # One test at a time on each server, back to back, so that drift in
      # this machine's speed hits both sides of a ratio alike.
      rs=()
      os=()
      for _ in $(seq 1 "$ROUNDS"); do
        redis-cli -p "$REDIS_PORT" flushall >/dev/null
        redis-cli -p "$ORBIT_PORT" flushall >/dev/null
        rs+=("$(rps "$REDIS_PORT" "$t" "$pipe")")
        os+=("$(rps "$ORBIT_PORT" "$t" "$pipe")")
      done
      r=$(median "${rs[@]}")
      o=$(median "${os[@]}")
      awk -v t="$t" -v r="$r" -v o="$o" 'BEGIN { printf "%-12s %12.0f %12.0f %8.2f\n", t, r, o, (r > 0 ? o / r : 0) }'
    done
  done

  kill "$orbit_pid"
  wait "$orbit_pid" 2>/dev/null || true
done
