import Testing
@testable import SDAMCore
@_spi(LoopPrimitives) @testable import PoolMonitor
#if canImport(Glibc)
import Glibc
#endif

/// The primary hint: when a reply names a primary among many new members and opening all their
/// sockets would grow the descriptor table (a kernel wait on the loop), the primary is checked
/// first and the others after it.
@Suite struct PrimaryHintTests {
    static let members = (0..<50).map { ServerAddress(host: "10.0.0.\($0)", port: 27017) }
    static let primary = members[7]

    static func type(_ address: ServerAddress) -> ServerType? { address == primary ? .possiblePrimary : .unknown }

    @Test func theHintedPrimaryGoesFirstWhenTheTableWouldGrow() {
        let (now, later) = MonitorCore.firstChecks(of: Self.members, types: Self.type, highestDescriptor: 20)
        #expect(now == [Self.primary])
        #expect(later.count == 49 && !later.contains(Self.primary))
    }

    @Test func everyoneStartsAtOnceWhenTheTableHasRoomOrThereIsNoHint() {
        let three = Array(Self.members[5...7])
        #expect(MonitorCore.firstChecks(of: three, types: Self.type, highestDescriptor: 20).later.isEmpty)
        #expect(MonitorCore.firstChecks(of: Self.members, types: Self.type, highestDescriptor: 300).later.isEmpty,
                "a table of 512 holds 50 more")
        #expect(MonitorCore.firstChecks(of: Self.members, types: { _ in .unknown }, highestDescriptor: 20).later.isEmpty)
    }

    @Test func startingAtOnceTheHintedPrimaryConnectsFirst() {
        let three = Array(Self.members[5...7])
        #expect(MonitorCore.firstChecks(of: three, types: Self.type, highestDescriptor: 20).now == [Self.primary] + three.prefix(2),
                "the primary, then the others in the reply's order")
        #expect(MonitorCore.firstChecks(of: Self.members, types: Self.type, highestDescriptor: 300).now
                == [Self.primary] + Self.members.filter { $0 != Self.primary })
        #expect(MonitorCore.firstChecks(of: three, types: { _ in .unknown }, highestDescriptor: 20).now == three, "no hint: as named")
    }

    @Test func theTableEstimateDoublesFrom64() {
        #expect(!MonitorCore.descriptorTableWouldGrow(highestDescriptor: 10, by: 50))
        #expect(MonitorCore.descriptorTableWouldGrow(highestDescriptor: 20, by: 50))
        #expect(!MonitorCore.descriptorTableWouldGrow(highestDescriptor: 64, by: 50), "a table of 128")
        #expect(MonitorCore.descriptorTableWouldGrow(highestDescriptor: 100, by: 50))
    }
}

/// Growing the descriptor table once for a batch of sockets, instead of once per doubling.
@Suite struct DescriptorTableTests {
    @Test func growthsCountTheDoublingsABatchWouldCause() {
        #expect(DescriptorTable.estimatedSize(highestDescriptor: 0) == 64)
        #expect(DescriptorTable.estimatedSize(highestDescriptor: 64) == 128)
        #expect(DescriptorTable.growths(highestDescriptor: 10, opening: 50) == 0)
        #expect(DescriptorTable.growths(highestDescriptor: 20, opening: 50) == 1)
        #expect(DescriptorTable.growths(highestDescriptor: 20, opening: 5_000) == 7, "64 -> 8,192")
    }

    @Test func reserveGrowsTheTableInOneStep() throws {
        let reserved = try #require(DescriptorTable.reserve(upTo: 16_000))
        #expect(reserved >= 16_000 || reserved == Self.softLimit() - 1)
        // The kernel reports the table's size as FDSize in /proc/self/status.
        let status = try #require(HostEnvironment.readSmallFile("/proc/self/status"))
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("FDSize:") })
        let size = try #require(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).last.flatMap { Int($0) })
        #expect(size > Int(reserved), "FDSize \(size) after reserving \(reserved)")
    }

    static func softLimit() -> Int32 {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return Int32(clamping: limit.rlim_cur)
    }
}
