#!/usr/bin/env bash
# Every test: set up, build with warnings as errors, run the whole suite, then the loop's and the
# pool's tests again under ThreadSanitizer (their own build in .build-tsan).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/check-purity.sh
bash scripts/interop-setup.sh
swift build --build-tests -Xswiftc -warnings-as-errors
swift test --skip-build
# The seedlist discovery spec tests once more as the README's command runs them: `sdam spec-test`
# enters a network namespace of its own (root) with the tests' DNS server.
.build/debug/sdam spec-test "${MONGO_SPECS_DIR:-../shared/specs}/initial-dns-seedlist-discovery"
bash scripts/sanitize.sh thread --filter "MonitorLoopTests|ConditionLockTests|CheckSchedulerTests|TopologyMonitorTests|PopPushTests|CloseTests|CallersThreadLoopTests|BoundedResolverTests|EventOrderTests|ServerSelectionWaitTests|CommandExecutionTests|ErrorFeedbackTests|LoadBalancedPoolTests"
