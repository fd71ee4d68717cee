#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to the whole test suite:
# install what is missing, build, run every unit and integration test, run
# them all again under AddressSanitizer + UndefinedBehaviorSanitizer, then
# run each libFuzzer target for a bounded time. Fails on any failure or
# sanitizer report.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=2
start=$(date +%s)

echo "== build and test (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j$jobs
ctest --test-dir build --output-on-failure -j$jobs

echo "== build and test under ASan + UBSan"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSR_SANITIZE=ON >/dev/null
cmake --build build-asan -j$jobs
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
SR_SANITIZED=1 \
  ctest --test-dir build-asan --output-on-failure -j$jobs

echo "== fuzz (bounded)"
scripts/fuzz.sh "${SR_FUZZ_SECONDS:-12}"

echo "== all tests passed in $(( $(date +%s) - start )) s"
