import MongoBSON

/// The final choice within the latency window for multi-threaded drivers: "power of two random
/// choices with least connections" (server-selection specification, steps 6 and 7).
public enum OperationCountChoice {
    /// Draws two distinct servers at random from `window` and returns the one with the lower
    /// operationCount (the first drawn on a tie, which is itself random). One server is
    /// returned as is; an empty window gives nil.
    public static func choose<Generator: RandomNumberGenerator>(
        from window: [ServerDescription],
        operationCount: (ServerAddress) -> Int,
        using generator: inout Generator
    ) -> ServerDescription? {
        guard window.count > 1 else { return window.first }
        let first = Int.random(in: 0..<window.count, using: &generator)
        // Draw from the other count - 1 positions so that the two are distinct.
        var second = Int.random(in: 0..<(window.count - 1), using: &generator)
        if second >= first { second += 1 }
        let a = window[first], b = window[second]
        return operationCount(a.address) <= operationCount(b.address) ? a : b
    }
}
