#!/usr/bin/env bash
# Runs pgbench against Debian's PostgreSQL 15 and against orbit-server, side
# by side on this machine, and prints orbit/PostgreSQL ratios: the load time
# of `pgbench -i`, and TPS and p50/p99 latency of the TPC-B-like and
# select-only (-S) workloads in the simple and prepared protocols.
#
# Both servers run with durable commits: PostgreSQL with its defaults
# (fsync on, synchronous_commit on), orbit with its default sync policy
# (every commit fsynced, group committed).
#
# Each workload runs ROUNDS times on each server, in the order PostgreSQL,
# orbit, orbit, PostgreSQL, ...: a shared or virtual machine's speed drifts
# over minutes, and always running one server second would hand it the
# drift. The table shows the means; each run's TPS follows it.
#
# Usage: scripts/bench-postgres.sh
# Environment: SCALE (10), CLIENTS (8), THREADS (2), DURATION (60 seconds per
#   run), ROUNDS (2), PG_PORT (15432), ORBIT_PORT (15433), KEEP_LOGS=1 to keep
#   the temporary directory.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

SCALE="${SCALE:-10}"
CLIENTS="${CLIENTS:-8}"
THREADS="${THREADS:-2}"
DURATION="${DURATION:-60}"
ROUNDS="${ROUNDS:-2}"
PG_PORT="${PG_PORT:-15432}"
ORBIT_PORT="${ORBIT_PORT:-15433}"
PG_BIN=/usr/lib/postgresql/15/bin

if [ ! -x "$PG_BIN/initdb" ] || ! command -v pgbench >/dev/null; then
  echo "installing postgresql-15 (server and pgbench)"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends postgresql-15 postgresql-client-15
fi

export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --locked -q -p orbit-server --bin orbit-server
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
orbit_bin="$target_dir/release/orbit-server"

work="$(mktemp -d)"
chmod 755 "$work"
pids=()
as_pg=()
# PostgreSQL refuses to run as root.
if [ "$(id -u)" -eq 0 ]; then as_pg=(runuser -u postgres --); fi
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$work/pg" -m fast stop >/dev/null 2>&1 || true
  wait 2>/dev/null || true
  if [ "${KEEP_LOGS:-0}" = 1 ]; then echo "logs kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

mkdir -p "$work/pg" "$work/logs"
[ "$(id -u)" -eq 0 ] && chown postgres "$work/pg" "$work/logs"
"${as_pg[@]}" "$PG_BIN/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
"${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$work/pg" -o "-p $PG_PORT -k $work/pg -c listen_addresses=127.0.0.1" -l "$work/pg/server.log" -w start >/dev/null

"$orbit_bin" --data-dir "$work/orbit" --postgres-port "$ORBIT_PORT" --admin-port 0 --redis-port 0 \
  --disable mysql --disable cql --disable cypher --disable aql --disable graphrag --log-level warn \
  >"$work/orbit.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do
  pg_isready -h 127.0.0.1 -p "$ORBIT_PORT" -q && break
  sleep 0.1
done

pgb() { # PORT args...
  local port=$1
  shift
  pgbench -h 127.0.0.1 -p "$port" -U postgres "$@" postgres
}

# load PORT: seconds taken by pgbench -i.
load() {
  pgb "$1" -i -s "$SCALE" -q 2>&1 | sed -n 's/^done in \([0-9.]*\) s.*/\1/p'
}

# run PORT NAME ARGS...: prints "tps p50_ms p99_ms".
run() {
  local port=$1 name=$2
  shift 2
  local prefix="$work/logs/$name-$port"
  local out
  out="$(cd "$work/logs" && pgb "$port" "$@" -c "$CLIENTS" -j "$THREADS" -T "$DURATION" --log --log-prefix="$prefix" 2>&1)"
  if ! grep -q "number of failed transactions: 0 " <<<"$out"; then
    echo "$name on port $port had failures:" >&2
    echo "$out" | grep -E "failed|error|abort" >&2 || true
  fi
  local tps
  tps="$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")"
  # Column 3 of pgbench's per-transaction log is the latency in microseconds.
  local p50 p99
  read -r p50 p99 < <(cat "$prefix".* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {
    if (NR == 0) { print "0 0"; exit }
    i50 = int((NR + 1) * 0.50); if (i50 < 1) i50 = 1
    i99 = int((NR + 1) * 0.99); if (i99 > NR) i99 = NR; if (i99 < 1) i99 = 1
    printf "%.3f %.3f\n", a[i50] / 1000, a[i99] / 1000 }')
  rm -f "$prefix".*
  echo "$tps $p50 $p99"
}

echo "pgbench scale $SCALE, $CLIENTS clients, $THREADS threads, ${DURATION}s per run"
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') (fsync on, synchronous_commit on) vs orbit-server (sync=commit)"
echo
pg_load="$(load "$PG_PORT")"
orbit_load="$(load "$ORBIT_PORT")"
printf '%-28s %10s %10s %8s\n' "pgbench -i -s $SCALE (s)" postgres orbit "ratio"
awk -v p="$pg_load" -v o="$orbit_load" 'BEGIN { printf "%-28s %10.2f %10.2f %8.2f  (orbit/postgres time; lower is better)\n", "load time", p, o, o / p }'
echo
printf '%-26s %10s %10s %7s | %8s %8s %7s | %8s %8s %7s\n' workload "pg tps" "orbit tps" ratio "pg p50" "or p50" ratio "pg p99" "or p99" ratio
rounds_log="$work/rounds.txt"
: >"$rounds_log"
for mode in simple prepared; do
  for wl in tpcb select; do
    args=(-M "$mode")
    [ "$wl" = select ] && args+=(-S)
    results="$work/results-$wl-$mode.txt"
    : >"$results"
    for round in $(seq "$ROUNDS"); do
      if ((round % 2)); then order=("$PG_PORT" "$ORBIT_PORT"); else order=("$ORBIT_PORT" "$PG_PORT"); fi
      for port in "${order[@]}"; do
        echo "$port $(run "$port" "$wl-$mode" "${args[@]}")" >>"$results"
      done
    done
    awk -v n="$wl ($mode)" -v p="$PG_PORT" -v o="$ORBIT_PORT" -v rl="$rounds_log" '
      { tps[$1] += $2; l50[$1] += $3; l99[$1] += $4; runs[$1]++; each[$1] = each[$1] " " sprintf("%.0f", $2) }
      END {
        pt = tps[p] / runs[p]; ot = tps[o] / runs[o]; p50 = l50[p] / runs[p]; o50 = l50[o] / runs[o]; p99 = l99[p] / runs[p]; o99 = l99[o] / runs[o]
        printf "%-26s %10.0f %10.0f %7.2f | %8.3f %8.3f %7.2f | %8.3f %8.3f %7.2f\n", n, pt, ot, (pt > 0 ? ot / pt : 0), p50, o50, (p50 > 0 ? o50 / p50 : 0), p99, o99, (p99 > 0 ? o99 / p99 : 0)
        printf "%-26s postgres:%s   orbit:%s\n", n, each[p], each[o] >> rl
      }' "$results"
  done
done
echo
echo "tps ratio = orbit/postgres (higher is better); latency ratios = orbit/postgres in ms (lower is better)"
echo "means of $ROUNDS runs per server"
echo
echo "tps of each run, in run order per server:"
cat "$rounds_log"
