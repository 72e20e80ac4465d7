#!/usr/bin/env bash
# Runs every test of the workspace, installing what is missing first.
# Usage: scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
export PATH="$HOME/.cargo/bin:$PATH"
# The tests that check stores with Debian's ldb must not skip here.
export ORBIT_REQUIRE_TOOLS=1
cargo test --workspace --locked "$@"
