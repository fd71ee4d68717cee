#!/usr/bin/env bash
# Build the libFuzzer targets (clang, ASan + UBSan) and run each for the given
# number of seconds (default 12) on a copy of its seed corpus under
# test/fuzz/corpus/NAME. Fails if any target finds a crash. For a longer run:
#   scripts/fuzz.sh 3600          # an hour per target
# Crash inputs are left in build-fuzz/crashes/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-12}
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSR_FUZZ=ON >/dev/null
cmake --build build-fuzz -j2
mkdir -p build-fuzz/crashes
status=0
for bin in build-fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin" | sed 's/^fuzz_//')
  work=build-fuzz/corpus-$name
  rm -rf "$work"; mkdir -p "$work"
  if [ -d "test/fuzz/corpus/$name" ]; then
    cp -r "test/fuzz/corpus/$name/." "$work/"
  fi
  echo "fuzz $name for ${secs}s"
  if ! "$bin" -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix=build-fuzz/crashes/"$name"- -print_final_stats=1 "$work" \
      >build-fuzz/"$name".log 2>&1; then
    echo "FAIL: fuzz target $name found a problem:"; tail -n 40 build-fuzz/"$name".log
    status=1
  else
    grep -E 'stat::number_of_executed_units' build-fuzz/"$name".log || true
  fi
done
exit $status
