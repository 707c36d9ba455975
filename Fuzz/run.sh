#!/usr/bin/env bash
# Builds the libFuzzer targets (release, -sanitize=fuzzer,address on every module), writes the
# seed corpora from the official spec data, and runs each target for a while:
#
#   Fuzz/run.sh [TARGET|all] [SECONDS]      # default: all 60
#
# TARGET is FuzzFrameDecoder, FuzzBSON, FuzzHello or FuzzConnectionString. Prints, per target,
# the inputs executed and whether it crashed; exits 1 if any target crashed. A crash leaves its
# input in .build-fuzz/crashes/<target>/ (reproduce: `.build-fuzz/release/<target> FILE`).
#
# Environment: MONGO_SPECS_DIR (default: the first shared/specs beside the repository or one of
# its ancestors, as the spec runner finds it), FUZZ_ARGS (extra libFuzzer flags, e.g.
# "-max_len=65536").
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd -P)"
root="$(dirname "$here")"
target="${1:-all}"
seconds="${2:-60}"
specs="${MONGO_SPECS_DIR:-}"
if [ -z "$specs" ]; then
  folder="$root"
  while [ "$folder" != / ] && [ ! -d "$folder/shared/specs" ]; do folder="$(dirname "$folder")"; done
  specs="$folder/shared/specs"
fi
if [ ! -d "$specs/bson-corpus" ]; then
  echo "run.sh: no spec data at $specs (set MONGO_SPECS_DIR)" >&2
  exit 1
fi
build="$root/.build-fuzz"
targets=(FuzzFrameDecoder FuzzBSON FuzzHello FuzzConnectionString)
if [ "$target" != all ]; then
  case " ${targets[*]} " in
    *" $target "*) targets=("$target") ;;
    *) echo "usage: Fuzz/run.sh [all|${targets[*]// /|}] [SECONDS]" >&2; exit 2 ;;
  esac
fi
bash "$root/scripts/setup.sh" || exit 1

# SwiftPM names a path dependency after its folder: a checkout folder named "fuzz" would clash
# with this package's own folder "Fuzz". Build from a copy under another name in that case.
package="$here"
if [ "$(basename "$root" | tr '[:upper:]' '[:lower:]')" = fuzz ]; then
  mirror="${TMPDIR:-/tmp}/mongo-sdam-fuzz-src/mongo-sdam"
  mkdir -p "$mirror"
  rm -rf "$mirror/Sources" "$mirror/Tests" "$mirror/Fuzz"
  tar -C "$root" --exclude='./.build*' --exclude=./.git --exclude=./.swiftpm -cf - . | tar -C "$mirror" -xf -
  package="$mirror/Fuzz"
fi

# The seed tool is an ordinary program: debug build, no fuzzer flags (libFuzzer brings its own main).
swift build --package-path "$package" --build-path "$build" --product FuzzSeeds 2>&1 | grep -E "error|warning:" && exit 1
"$build/debug/FuzzSeeds" "$specs" "$build/corpus" || exit 1

flags=(-c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
for t in "${targets[@]}"; do
  if ! swift build --package-path "$package" --build-path "$build" "${flags[@]}" --product "$t" >"$build/build-$t.log" 2>&1; then
    grep -E "error" "$build/build-$t.log" >&2
    echo "$t: build failed (log: $build/build-$t.log)" >&2
    exit 1
  fi
done

crashed=0
for t in "${targets[@]}"; do
  mkdir -p "$build/crashes/$t"
  log="$build/fuzz-$t.log"
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" "$build/release/$t" "$build/corpus/$t" \
    -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$build/crashes/$t/" \
    ${FUZZ_ARGS:-} >"$log" 2>&1
  status=$?
  runs=$(grep -E "stat::number_of_executed_units" "$log" | awk '{print $2}' | tail -1)
  [ -z "$runs" ] && runs=$(grep -oE "^#[0-9]+" "$log" | tail -1 | tr -d '#')
  if [ "$status" = 0 ]; then
    echo "$t: ${runs:-?} inputs in ${seconds} s, no crash"
  else
    crashed=1
    echo "$t: CRASHED after ${runs:-?} inputs (status $status); log $log; input in $build/crashes/$t/"
    # A Swift trap shows as "Swift runtime failure" with the backtrace's frames (file:line);
    # an ASan report that follows one, inside CrashHandlerLinux, comes from the backtracer.
    grep -E "Swift runtime failure|^ +[0-9]+ .* at /|ERROR: AddressSanitizer|ERROR: libFuzzer" "$log" | head -6
  fi
done
exit "$crashed"
