import Benchmark
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// Micro-benchmarks of the monitor's hot paths. Each concern registers its benchmarks from a
/// file of its own; run them with `./run.sh` (or `swift package benchmark`) from Benchmarks/.
///
/// Single-threaded benchmarks repeat their body `scalingFactor` (1000) times per sample; the
/// tool's default output divides by it, so figures are per operation (`--scale` shows them
/// per 1000).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput, threadCPUTime],
        timeUnits: .nanoseconds,
        warmupIterations: 10,
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 1_000_000
    )
    registerCodecBenchmarks()
    registerSDAMCoreBenchmarks()
    registerSelectionBenchmarks()
    registerLoopBenchmarks()
}
