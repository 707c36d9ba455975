import Benchmark
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// The cross-thread primitives later issues build on: how fast a topology change reaches a
/// client blocked in server selection (`ConditionLock` broadcast), and how fast work posted
/// from an application thread runs on the monitor's loop (`MonitorLoop.execute`).
///
/// Each sample is one round trip (no scaling), so the percentiles show the wake-up latency's
/// spread, not just its mean.
func registerLoopBenchmarks() {
    // The benchmark thread's own CPU time says little when the work happens on another thread.
    let perRoundTrip = Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        timeUnits: .nanoseconds,
        scalingFactor: .one,
        maxDuration: .seconds(2)
    )

    // What the tool itself costs per unscaled sample (its own mallocs included), to subtract
    // from the two round trips below.
    Benchmark("Calibration: an empty unscaled sample", configuration: perRoundTrip) { benchmark in
        blackHole(benchmark)
    }

    let pingPong = PingPong()
    Benchmark(
        "ConditionLock: broadcast, waiter wakes, broadcasts back (round trip)",
        configuration: perRoundTrip,
        closure: { benchmark in
            pingPong.roundTrip()
        },
        setup: { pingPong.start() },
        teardown: { pingPong.stop() }
    )

    let loopRoundTrip = LoopRoundTrip()
    Benchmark(
        "MonitorLoop: execute a closure, wait until it has run (round trip)",
        configuration: perRoundTrip,
        closure: { benchmark in
            loopRoundTrip.roundTrip()
        },
        setup: { try loopRoundTrip.start() },
        teardown: { loopRoundTrip.stop() }
    )
}

/// Far enough away never to expire during a run; timed waits are what selection uses.
private func farDeadline() -> UInt64 {
    MonotonicClock.nanoseconds() + 60_000_000_000
}

/// Two threads passing a counter through one `ConditionLock`: the benchmark thread makes it odd
/// and broadcasts; the waiter, blocked in `wait(until:)`, makes it even and broadcasts back.
/// A round trip is two wake-ups; -1 tells the waiter to return.
private final class PingPong {
    private let lock = ConditionLock(0)
    private var waiter: JoinableThread?

    func start() {
        let lock = self.lock
        lock.withLock { $0 = 0 }
        waiter = JoinableThread {
            while true {
                let seen = lock.wait(until: farDeadline()) { value -> Int? in
                    if value < 0 { return value }
                    if value % 2 == 1 {
                        value += 1
                        return value
                    }
                    return nil
                }
                guard let seen, seen >= 0 else { return }
                lock.broadcast()
            }
        }
    }

    func roundTrip() {
        let ping = lock.withLock { value -> Int in
            value += 1
            return value
        }
        lock.broadcast()
        let answered = lock.wait(until: farDeadline()) { value in value == ping + 1 ? true : nil }
        precondition(answered == true, "the waiter thread did not answer within a minute")
    }

    func stop() {
        lock.withLock { $0 = -1 }
        lock.broadcast()
        waiter?.join()
        waiter = nil
    }
}

/// An `MonitorLoop` and a counter its posted closures bump; the caller waits on the counter as
/// an application thread waits for work it handed to the monitor thread.
private final class LoopRoundTrip {
    private var loop: MonitorLoop?
    private let ran = ConditionLock(0)

    func start() throws {
        loop = try MonitorLoop(name: "bench-loop")
    }

    func roundTrip() {
        guard let loop else { fatalError("setup did not start the loop") }
        let ran = self.ran
        let target = ran.withLock { $0 } + 1
        loop.execute {
            ran.withLock { $0 += 1 }
            ran.broadcast()
        }
        let done = ran.wait(until: farDeadline()) { count in count >= target ? true : nil }
        precondition(done == true, "the loop did not run the closure within a minute")
    }

    func stop() {
        loop?.shutdown()
        loop = nil
    }
}
