import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// The RTT estimator: 0.2-weighted average, first sample whole, reset when Unknown; minimum of
/// the last 10 samples, 0 until 2 were taken.
@Suite struct RoundTripTimeTests {
    @Test func firstSampleIsTakenWhole() {
        var estimator = RoundTripTimeEstimator()
        #expect(estimator.average == nil)
        #expect(estimator.add(10) == 10)
    }

    @Test func laterSamplesAreWeightedOneFifth() {
        var estimator = RoundTripTimeEstimator()
        estimator.add(3.1)
        #expect(abs(estimator.add(36) - 9.68) < 1e-9)
        estimator.reset()
        estimator.add(1)
        #expect(abs(estimator.add(1000) - 200.8) < 1e-9)
    }

    @Test func resetClearsTheAverageSoTheNextSampleIsTakenWhole() {
        var estimator = RoundTripTimeEstimator()
        estimator.add(100)
        estimator.add(100)
        estimator.reset()
        #expect(estimator.average == nil)
        #expect(estimator.minimum == 0)
        #expect(estimator.add(4) == 4)
    }

    @Test func minimumIsZeroUntilTwoSamples() {
        var estimator = RoundTripTimeEstimator()
        estimator.add(7)
        #expect(estimator.minimum == 0)
        estimator.add(9)
        #expect(estimator.minimum == 7)
    }

    @Test func minimumCoversOnlyTheLastTenSamples() {
        var estimator = RoundTripTimeEstimator()
        estimator.add(1)
        for _ in 0..<9 { estimator.add(50) }
        #expect(estimator.minimum == 1)
        estimator.add(60)  // the 1 ms sample is now the 11th most recent
        #expect(estimator.minimum == 50)
    }

    @Test func badSamplesCountAsZero() {
        var estimator = RoundTripTimeEstimator()
        #expect(estimator.add(-.infinity) == 0)
        #expect(estimator.add(.nan) == 0)
        #expect(estimator.add(-5) == 0)
    }
}
