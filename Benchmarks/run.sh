#!/usr/bin/env bash
# Runs the micro-benchmarks from a fresh clone and prints a markdown table of the medians.
#
#   ./run.sh                      every benchmark (about a minute after the first build)
#   ./run.sh --filter 'SDAM.*'    only those whose name matches (any `benchmark` option works)
#
# stdout: the machine's facts and one markdown table of p50 figures per benchmark (paste it
# into the README). stderr: the build, and the tool's full percentile tables per metric.
# The build goes to ../.build-bench (override with BENCH_BUILD_PATH) so it never collides with
# the main package's .build. Results are kept as the baseline "latest" in .benchmarkBaselines/.
set -euo pipefail
cd "$(dirname "$0")"
../scripts/setup.sh
build_path="${BENCH_BUILD_PATH:-../.build-bench}"
baseline=latest

# Run once, keep the results as a baseline, then render them (no second run).
swift package --build-path "$build_path" --allow-writing-to-package-directory \
  benchmark baseline update "$baseline" --no-progress "$@" >&2
percentiles="$(swift package --build-path "$build_path" \
  benchmark baseline read "$baseline" --format markdown --grouping metric --no-progress 2>/dev/null)"
printf '%s\n' "$percentiles" | grep -E '^(#|\|)' >&2

echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), Linux $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg) after the run; $(swift --version 2>/dev/null | grep -m1 -o 'Swift version [0-9.]*')."
echo
# Picks the p50 column of three metrics out of the tool's tables. Row names end in the unit
# the tool chose, e.g. "(μs) *" ("*": divided by the scaling factor, so per operation).
printf '%s\n' "$percentiles" | awk -F'|' '
  /^### / { metric = substr($0, 5); next }
  /^\| SDAMBenchmarks:/ {
    name = $2; sub(/^ *SDAMBenchmarks:/, "", name); sub(/ +$/, "", name); sub(/ \*$/, "", name)
    unit = ""
    if (match(name, / \((ns|μs|ms|s|K|M|G)\)$/)) { unit = substr(name, RSTART + 2, RLENGTH - 3); name = substr(name, 1, RSTART - 1) }
    p50 = $5; gsub(/ /, "", p50)
    if (metric == "Time (wall clock)") col = 1
    else if (metric ~ /^Thread CPU time/) col = 2
    else if (metric == "Malloc (total)") col = 3
    else next
    if (col == 3) unit = (unit == "K") ? "k" : (unit == "M") ? "M" : ""
    else if (unit == "K") unit = "μs"
    else if (unit == "M") unit = "ms"
    else if (unit == "") unit = "ns"
    if (col != 3 && unit == "ns" && p50 >= 1000) { p50 = sprintf("%.1f", p50 / 1000); unit = "μs" }
    if (!(name in seen)) { seen[name] = 1; order[++n] = name }
    value[name, col] = (col == 3) ? p50 unit : p50 " " unit
  }
  END {
    print "| Benchmark (per operation) | wall clock p50 | thread CPU p50 | mallocs p50 |"
    print "|:--|--:|--:|--:|"
    for (i = 1; i <= n; i++) {
      name = order[i]
      printf "| %s | %s | %s | %s |\n", name, value[name, 1], ((name, 2) in value) ? value[name, 2] : "–", value[name, 3]
    }
  }'
