#!/usr/bin/env bash
# Runs the whole test suite under a sanitizer, each with its own scratch path so that the
# instrumented build never mixes with the normal one:
#   scripts/sanitize.sh thread    # ThreadSanitizer, .build-tsan
#   scripts/sanitize.sh address   # AddressSanitizer (with LeakSanitizer), .build-asan
# Extra arguments go to `swift test` (e.g. `--filter EventLoopTests`).
# The sanitizer stops the run at its first report (halt_on_error), so a clean exit means a
# clean suite. Exit status: swift test's.
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-thread}"
shift || true
case "$kind" in
  thread)
    scratch=.build-tsan
    export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"
    ;;
  address)
    scratch=.build-asan
    export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=1}"
    ;;
  *)
    echo "usage: scripts/sanitize.sh [thread|address] [swift test arguments...]" >&2
    exit 2
    ;;
esac
bash scripts/setup.sh
start=$(date +%s)
status=0
swift build --build-tests --sanitize="$kind" --scratch-path "$scratch" || status=$?
if [ "$status" = 0 ]; then
  built=$(date +%s)
  echo "sanitize: built with --sanitize=$kind in $((built - start)) s" >&2
  swift test --skip-build --sanitize="$kind" --scratch-path "$scratch" "$@" || status=$?
fi
end=$(date +%s)
echo "sanitize: --sanitize=$kind finished with status $status in $((end - start)) s" >&2
exit "$status"
