import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// The replica set's configuration and election state: who is a member, who is primary, the
/// election term and the config version. Pure: no sockets, no clock, so elections can be tested
/// alone.
///
/// `electionId` grows with each election as a real server's does: the ObjectId
/// `7fffffff` followed by the 8-byte big-endian term, so later elections compare greater.
public struct ReplicaSetState: Sendable, Equatable {
    /// The set's name (`setName` in hello).
    public let name: String
    /// Member addresses ("host:port"), in the order they joined (`hosts` in hello).
    public private(set) var members: [String]
    /// The current primary, nil while an election is pending.
    public private(set) var primary: String?
    /// Elections held so far (the term); 0 before the first.
    public private(set) var term: Int64
    /// The config version; grows when a member is added or removed.
    public private(set) var setVersion: Int32

    /// A set with `members` and no primary yet (term 0, setVersion 1).
    public init(name: String, members: [String]) {
        self.name = name
        self.members = members
        primary = nil
        term = 0
        setVersion = 1
    }

    /// The primary's electionId for the current term; nil before the first election.
    public var electionId: BSONObjectID? {
        guard term > 0 else { return nil }
        var bytes: [UInt8] = [0x7F, 0xFF, 0xFF, 0xFF]
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: term >> Int64(shift)))
        }
        return BSONObjectID(bytes: bytes)
    }

    /// What `address` reports: primary or secondary; nil when it is not a member.
    public func role(of address: String) -> ServerRole? {
        guard members.contains(address) else { return nil }
        return address == primary ? .primary : .secondary
    }

    /// Makes `address` primary in a new term. Electing the current primary changes nothing.
    /// - Throws: `SimulatorError.unknownServer` when `address` is not a member.
    public mutating func elect(_ address: String) throws(SimulatorError) {
        guard members.contains(address) else { throw .unknownServer(address) }
        guard primary != address else { return }
        term += 1
        primary = address
    }

    /// The primary steps down; no member is primary until the next `elect`.
    /// - Returns: the member that was primary.
    /// - Throws: `SimulatorError.noPrimary` when there is none.
    @discardableResult
    public mutating func stepDown() throws(SimulatorError) -> String {
        guard let old = primary else { throw .noPrimary }
        primary = nil
        return old
    }

    /// Whom the next election should choose: the first eligible member other than `excluded`
    /// (the member that just stepped down), else `excluded` itself when it is eligible and
    /// still a member (a set of one re-elects its only member), else nil.
    public func electionCandidate(excluding excluded: String?, eligible: (String) -> Bool) -> String? {
        if let other = members.first(where: { $0 != excluded && eligible($0) }) { return other }
        if let excluded, members.contains(excluded), eligible(excluded) { return excluded }
        return nil
    }

    /// Adds a secondary and bumps setVersion.
    /// - Throws: `SimulatorError.duplicateMember` when it is already a member.
    public mutating func addMember(_ address: String) throws(SimulatorError) {
        guard !members.contains(address) else { throw .duplicateMember(address) }
        members.append(address)
        setVersion += 1
    }

    /// Removes a member and bumps setVersion; removing the primary leaves the set without one.
    /// - Throws: `SimulatorError.unknownServer` when it is not a member.
    public mutating func removeMember(_ address: String) throws(SimulatorError) {
        guard let index = members.firstIndex(of: address) else { throw .unknownServer(address) }
        members.remove(at: index)
        if primary == address { primary = nil }
        setVersion += 1
    }
}
