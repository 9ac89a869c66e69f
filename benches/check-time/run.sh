#!/usr/bin/env bash
# Reruns the compile-time and plan-time benchmark; see bench.py for what it measures.
set -euo pipefail
exec python3 "$(dirname "$0")/bench.py" "$@"
