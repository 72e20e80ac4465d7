#!/usr/bin/env bash
# Runs sysbench against Debian's MariaDB 10.11 and against orbit-server,
# side by side on this machine, and prints orbit/MariaDB ratios of TPS and
# p95 latency for oltp_point_select and oltp_read_write (prepared
# statements, as sysbench sends them), plus the time `prepare` takes.
#
# Both servers run with durable commits: MariaDB with its defaults
# (innodb_flush_log_at_trx_commit = 1), orbit with its default sync policy
# (every commit fsynced, group committed).
#
# Each workload runs ROUNDS times on each server, in the order MariaDB,
# orbit, orbit, MariaDB, ...: a shared or virtual machine's speed drifts over
# minutes, and always running one server second would hand it the drift.
# The table shows the means; each run's TPS follows it.
#
# Usage: scripts/bench-mysql.sh
# Environment: TABLES (4), TABLE_SIZE (10000), THREADS (8), DURATION (60
#   seconds per run), ROUNDS (2), MARIA_PORT (13316), ORBIT_PORT (13317),
#   KEEP_LOGS=1 to keep the temporary directory.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

TABLES="${TABLES:-4}"
TABLE_SIZE="${TABLE_SIZE:-10000}"
THREADS="${THREADS:-8}"
DURATION="${DURATION:-60}"
ROUNDS="${ROUNDS:-2}"
MARIA_PORT="${MARIA_PORT:-13316}"
ORBIT_PORT="${ORBIT_PORT:-13317}"

if ! command -v mariadbd >/dev/null || ! command -v sysbench >/dev/null || ! command -v mysql >/dev/null; then
  echo "installing mariadb-server, mariadb-client and sysbench"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends mariadb-server mariadb-client sysbench
fi

export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --locked -q -p orbit-server --bin orbit-server
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
orbit_bin="$target_dir/release/orbit-server"

work="$(mktemp -d)"
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP_LOGS:-0}" = 1 ]; then echo "logs kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# MariaDB in its own directory; no grant tables, so any user gets in over
# TCP as with orbit's default (root, no password).
mkdir -p "$work/maria"
user_flag=()
if [ "$(id -u)" -eq 0 ]; then
  chown mysql "$work/maria"
  user_flag=(--user=mysql)
fi
mariadb-install-db --no-defaults "${user_flag[@]}" --datadir="$work/maria" --auth-root-authentication-method=normal \
  >"$work/maria-install.log" 2>&1
mariadbd --no-defaults "${user_flag[@]}" --datadir="$work/maria" --port="$MARIA_PORT" --bind-address=127.0.0.1 \
  --socket="$work/maria/mysqld.sock" --skip-grant-tables --skip-log-bin --innodb-buffer-pool-size=256M \
  --max-connections=200 >"$work/maria.log" 2>&1 &
pids+=($!)

"$orbit_bin" --data-dir "$work/orbit" --mysql-port "$ORBIT_PORT" --admin-port 0 --redis-port 0 \
  --disable postgresql --disable cql --disable cypher --disable aql --disable graphrag --log-level warn \
  >"$work/orbit.log" 2>&1 &
pids+=($!)

for port in "$MARIA_PORT" "$ORBIT_PORT"; do
  for _ in $(seq 1 300); do
    mysql --no-defaults -h 127.0.0.1 -P "$port" -u root -e "SELECT 1" >/dev/null 2>&1 && break
    sleep 0.1
  done
  mysql --no-defaults -h 127.0.0.1 -P "$port" -u root -e "CREATE DATABASE sbtest"
done

sb() { # PORT WORKLOAD COMMAND args...
  local port=$1 workload=$2 command=$3
  shift 3
  sysbench "$workload" --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$port" --mysql-user=root \
    --mysql-db=sbtest --tables="$TABLES" --table-size="$TABLE_SIZE" "$@" "$command"
}

# prepare PORT: seconds taken by sysbench prepare.
prepare() {
  local start end
  start=$(date +%s.%N)
  sb "$1" oltp_read_write prepare --threads="$TABLES" >"$work/prepare-$1.log" 2>&1
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f\n", e - s }'
}

# run PORT WORKLOAD: prints "tps p95_ms errors".
run() {
  local out
  out="$(sb "$1" "$2" run --threads="$THREADS" --time="$DURATION" --report-interval=0 --percentile=95 2>&1)"
  echo "$out" >"$work/run-$2-$1.log"
  local tps p95 errors
  tps="$(sed -n 's/^ *transactions: *[0-9]* *(\([0-9.]*\) per sec.*/\1/p' <<<"$out")"
  p95="$(sed -n 's/^ *95th percentile: *\([0-9.]*\).*/\1/p' <<<"$out")"
  errors="$(sed -n 's/^ *ignored errors: *\([0-9]*\).*/\1/p' <<<"$out")"
  echo "${tps:-0} ${p95:-0} ${errors:-0}"
}

maria_version="$(mariadbd --version | awk '{print $3}')"
echo "sysbench: $TABLES tables x $TABLE_SIZE rows, $THREADS threads, ${DURATION}s per run"
echo "MariaDB $maria_version (innodb_flush_log_at_trx_commit=1) vs orbit-server (sync=commit)"
echo
maria_prep="$(prepare "$MARIA_PORT")"
orbit_prep="$(prepare "$ORBIT_PORT")"
printf '%-24s %10s %10s %8s\n' "prepare (s)" mariadb orbit ratio
awk -v m="$maria_prep" -v o="$orbit_prep" 'BEGIN { printf "%-24s %10.2f %10.2f %8.2f  (orbit/mariadb time; lower is better)\n", "load time", m, o, o / m }'
echo
printf '%-20s %10s %10s %7s | %9s %9s %7s | %9s %9s\n' workload "maria tps" "orbit tps" ratio "maria p95" "orbit p95" ratio "maria err" "orbit err"
rounds_log="$work/rounds.txt"
: >"$rounds_log"
for wl in oltp_point_select oltp_read_write; do
  results="$work/results-$wl.txt"
  : >"$results"
  for round in $(seq "$ROUNDS"); do
    if ((round % 2)); then order=("$MARIA_PORT" "$ORBIT_PORT"); else order=("$ORBIT_PORT" "$MARIA_PORT"); fi
    for port in "${order[@]}"; do
      echo "$port $(run "$port" "$wl")" >>"$results"
    done
  done
  awk -v n="$wl" -v m="$MARIA_PORT" -v o="$ORBIT_PORT" -v rl="$rounds_log" '
    { tps[$1] += $2; p95[$1] += $3; err[$1] += $4; runs[$1]++; each[$1] = each[$1] " " sprintf("%.0f", $2) }
    END {
      mt = tps[m] / runs[m]; ot = tps[o] / runs[o]; m95 = p95[m] / runs[m]; o95 = p95[o] / runs[o]
      printf "%-20s %10.0f %10.0f %7.2f | %9.2f %9.2f %7.2f | %9d %9d\n", n, mt, ot, (mt > 0 ? ot / mt : 0), m95, o95, (m95 > 0 ? o95 / m95 : 0), err[m], err[o]
      printf "%-20s mariadb:%s   orbit:%s\n", n, each[m], each[o] >> rl
    }' "$results"
done
for port in "$MARIA_PORT" "$ORBIT_PORT"; do
  sb "$port" oltp_read_write cleanup >/dev/null
done
echo
echo "tps ratio = orbit/mariadb (higher is better); p95 ratio = orbit/mariadb in ms (lower is better);"
echo "means of $ROUNDS runs per server; err = errors sysbench ignored and retried (deadlocks and write conflicts)"
echo
echo "tps of each run, in run order per server:"
cat "$rounds_log"
