import MongoBSON
import HashTreeCollections

/// The servers of a `TopologyDescription`, by address: a persistent hash tree (swift-collections'
/// `TreeDictionary`, a CHAMP trie) whose values sit in immutable boxes.
///
/// Why persistent: the description is a value, and snapshots that selecting threads hold and
/// events on their way to listeners (every TopologyDescriptionChanged carries the previous and
/// the new description) share it. With a hash table, a write while anything else still held
/// the map copied the whole map, so discovering N servers cost O(N²) time and, for a listener
/// that keeps its events, O(N²) memory: 5,000 mongos with such a listener took 5.9–23.9 s and
/// 2.6 GiB. A tree shares every node a write does not touch: a write copies O(log N) nodes,
/// and the versions of the map share the rest.
///
/// Why boxes: a `ServerDescription` is some 300 bytes with a dozen references; a node holds a
/// reference per entry, and an unchanged server in two versions is the same box (a pointer
/// comparison in `changes(since:)` and `==`).
public struct ServerMap: Sendable {
    /// One immutable description. Immutable and final, so sharing it between threads is safe.
    final class Entry: Sendable {
        let description: ServerDescription
        init(_ description: ServerDescription) { self.description = description }
    }

    private var entries: TreeDictionary<ServerAddress, Entry>

    public init() { entries = [:] }

    public init(_ servers: [ServerAddress: ServerDescription]) {
        entries = TreeDictionary(uniqueKeysWithValues: servers.lazy.map { ($0.key, Entry($0.value)) })
    }

    /// The servers whose description differs from `previous` (added or changed), and the
    /// addresses `previous` had that this map has not. A description kept from `previous` is
    /// the same box, so unchanged servers cost a pointer comparison.
    public func changes(since previous: ServerMap) -> (changed: [ServerDescription], removed: [ServerAddress]) {
        var changed: [ServerDescription] = []
        for (address, entry) in entries {
            guard let before = previous.entries[address] else {
                changed.append(entry.description)
                continue
            }
            if before !== entry, before.description != entry.description { changed.append(entry.description) }
        }
        let removed = previous.entries.keys.filter { entries[$0] == nil }
        return (changed.sorted { $0.address < $1.address }, removed.sorted())
    }

    public subscript(address: ServerAddress) -> ServerDescription? {
        get { entries[address]?.description }
        set { entries[address] = newValue.map(Entry.init) }
    }

    /// Sets the description of `address` and returns the one it replaced.
    @discardableResult
    public mutating func updateValue(_ server: ServerDescription, forKey address: ServerAddress) -> ServerDescription? {
        entries.updateValue(Entry(server), forKey: address)?.description
    }

    /// Removes `address` and returns its description.
    @discardableResult
    public mutating func removeValue(forKey address: ServerAddress) -> ServerDescription? {
        entries.removeValue(forKey: address)?.description
    }

    public var keys: some Collection<ServerAddress> { entries.keys }
    public var values: some Collection<ServerDescription> { entries.values.lazy.map(\.description) }
    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
}

extension ServerMap: Sequence {
    public struct Iterator: IteratorProtocol {
        var base: TreeDictionary<ServerAddress, Entry>.Iterator
        public mutating func next() -> (key: ServerAddress, value: ServerDescription)? {
            base.next().map { (key: $0.key, value: $0.value.description) }
        }
    }

    public func makeIterator() -> Iterator { Iterator(base: entries.makeIterator()) }
    public var underestimatedCount: Int { entries.count }
}

extension ServerMap: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (ServerAddress, ServerDescription)...) {
        entries = TreeDictionary(elements.map { ($0.0, Entry($0.1)) }, uniquingKeysWith: { _, last in last })
    }
}

extension ServerMap: Equatable {
    /// The same addresses, each with an equal description by the spec's Server Description
    /// Equality. A shared box is equal without comparing.
    public static func == (lhs: ServerMap, rhs: ServerMap) -> Bool {
        guard lhs.entries.count == rhs.entries.count else { return false }
        return lhs.entries.allSatisfy { address, entry in
            guard let other = rhs.entries[address] else { return false }
            return entry === other || entry.description == other.description
        }
    }
}
