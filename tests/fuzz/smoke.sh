#!/usr/bin/env bash
# Short fuzzing session for ./test: run TARGET for SECONDS, seeded from SEED_DIR, with
# a fresh scratch corpus so the repository is never written. Fails on any finding.
set -euo pipefail
target=$1
seconds=$2
seeds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
cd "$work"
"$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/" "$work/corpus" "$seeds" 2>&1 | tail -n 15
