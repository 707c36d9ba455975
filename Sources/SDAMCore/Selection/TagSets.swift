import MongoBSON

/// Tag set matching, per the server-selection specification ("tag_sets").
enum TagSets {
    /// Whether the server's tags include every tag of `tagSet` (`T ⊆ S`); the empty set matches
    /// every server.
    static func server(_ server: ServerDescription, matches tagSet: [String: String]) -> Bool {
        tagSet.allSatisfy { server.tags[$0.key] == $0.value }
    }

    /// The candidates matching the first tag set that matches any candidate; all candidates
    /// when the list is empty; none when no set matches.
    ///
    /// Cost: tag sets × candidates × tags per set, linear in the number of servers.
    static func eligible(_ candidates: [ServerDescription], tagSets: [[String: String]]) -> [ServerDescription] {
        guard !tagSets.isEmpty else { return candidates }
        for tagSet in tagSets {
            let matching = candidates.filter { server($0, matches: tagSet) }
            if !matching.isEmpty { return matching }
        }
        return []
    }
}
