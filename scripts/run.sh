#!/usr/bin/env bash
# Builds and runs orbit-server on its embedded defaults (data in ./data,
# every endpoint on its standard port on 127.0.0.1, admin on 9090),
# installing what is missing first. Extra arguments go to orbit-server.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
export PATH="$HOME/.cargo/bin:$PATH"
exec cargo run --release --locked -p orbit-server --bin orbit-server -- "$@"
