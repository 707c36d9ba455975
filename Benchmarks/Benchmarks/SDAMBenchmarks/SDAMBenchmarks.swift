import Benchmark
import PoolMonitor

/// Micro-benchmarks of the monitor's hot paths. Each one is registered here and defined in a
/// file of its own concern.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        warmupIterations: 10,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000
    )
    registerCodecBenchmarks()
}
