import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// When and how a command carries `$readPreference` over OP_MSG, per the server-selection
/// specification: "Passing read preference to mongos and load balancers", "Topology type:
/// Single", and the replica-set read rules.
enum ReadPreferencePassing {
    /// The `$readPreference` document to add to a command, or nil when none must be sent.
    ///
    /// - Writes never carry one.
    /// - Single topology: a mongos gets the mongos rules; a standalone never gets one; any
    ///   other server gets `{mode: "primaryPreferred"}` for a primary (or absent) read
    ///   preference, so that whatever the server is it takes the command, else the read
    ///   preference itself.
    /// - Sharded, load-balanced and replica-set topologies: mode primary sends none; every
    ///   other mode sends the read preference.
    static func argument(
        for operation: ServerSelectionOperation,
        serverType: ServerType,
        topologyType: TopologyType
    ) -> BSONDocument? {
        guard case .read(let readPreference) = operation else { return nil }
        switch topologyType {
        case .single:
            switch serverType {
            case .standalone:
                return nil
            case .mongos:
                return readPreference.mode == .primary ? nil : document(for: readPreference)
            default:
                return readPreference.mode == .primary ? ["mode": .string(ReadPreference.Mode.primaryPreferred.rawValue)] : document(for: readPreference)
            }
        case .sharded, .loadBalanced, .replicaSetWithPrimary, .replicaSetNoPrimary:
            return readPreference.mode == .primary ? nil : document(for: readPreference)
        case .unknown:
            return nil
        }
    }

    /// `{mode, tags?, maxStalenessSeconds?}` with the mode in camel case ("Document structure").
    /// `tags` is left out when there are no tag sets, as the spec requires it to hold at least
    /// one document when present.
    static func document(for readPreference: ReadPreference) -> BSONDocument {
        var document: BSONDocument = ["mode": .string(readPreference.mode.rawValue)]
        if !readPreference.tagSets.isEmpty {
            let sets: [BSON] = readPreference.tagSets.map { set in
                .document(BSONDocument(set.sorted { $0.key < $1.key }.map { (key: $0.key, value: BSON.string($0.value)) }))
            }
            document.append("tags", .array(sets))
        }
        if let maxStaleness = readPreference.maxStalenessSeconds {
            document.append("maxStalenessSeconds", .int64(Int64(maxStaleness)))
        }
        return document
    }

    /// The command as sent: `$readPreference` added when the rules call for it. A
    /// `$readPreference` the caller put in the command is left as it is.
    static func command(
        _ command: BSONDocument,
        for operation: ServerSelectionOperation,
        serverType: ServerType,
        topologyType: TopologyType
    ) -> BSONDocument {
        guard command["$readPreference"] == nil,
              let argument = argument(for: operation, serverType: serverType, topologyType: topologyType)
        else { return command }
        var body = command
        body.append("$readPreference", .document(argument))
        return body
    }
}
