#!/usr/bin/env bash
# Every test: set up, build with warnings as errors, run the whole suite, build the examples and
# run PeopleService once (Examples/smoke.sh), then the loop's and the pool's tests again under
# ThreadSanitizer (their own build in .build-tsan).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/check-purity.sh
bash scripts/interop-setup.sh
swift build --build-tests -Xswiftc -warnings-as-errors
swift test --skip-build
# The DNS tests, after the suite (they load both cores, which the suite's timing tests must not
# share): each command enters a network and mount namespace of its own (root) with the tests' DNS
# server, and says why when it cannot.
.build/debug/sdam spec-test "${MONGO_SPECS_DIR:-../shared/specs}/initial-dns-seedlist-discovery"
.build/debug/sdam srv-polling-test
bash Examples/smoke.sh
bash scripts/sanitize.sh thread --filter "MonitorLoopTests|ConditionLockTests|CheckSchedulerTests|TopologyMonitorTests|PopPushTests|CloseTests|CallersThreadLoopTests|BoundedResolverTests|EventOrderTests|ServerSelectionWaitTests|CommandExecutionTests|ErrorFeedbackTests|LoadBalancedPoolTests|RecordResolverTests|SRVPoolTests|AsyncFaceTests|PoolServiceTests"
