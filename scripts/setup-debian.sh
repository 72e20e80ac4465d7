#!/usr/bin/env bash
# Installs what building and testing Orbit needs on Debian 12, skipping what
# is already there: a C/C++ toolchain, libclang and Debian's librocksdb-dev
# for the RocksDB bindings, rocksdb-tools (ldb) for the store checks,
# redis-tools (redis-cli, redis-benchmark, and the redis-server binary as
# redis-check-rdb) for the Redis end-to-end tests, postgresql-client (psql,
# pgbench) for the PostgreSQL ones, mariadb-client (mysql, mysqldump) for
# the MySQL ones, and Rust
# via rustup when cargo is missing. Safe to run again.
set -euo pipefail

packages=(build-essential pkg-config clang libclang-dev librocksdb-dev rocksdb-tools redis-tools postgresql-client mariadb-client curl ca-certificates)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    :
  else
    echo "installing Rust with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt
  fi
fi
