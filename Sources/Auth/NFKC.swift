/// Unicode Normalization Form KC (UAX #15): full compatibility decomposition, canonical
/// ordering, canonical composition — the normalization SASLprep applies to passwords.
///
/// Why not Foundation's `precomposedStringWithCompatibilityMapping`: it was MongoAuth's only use
/// of Foundation, and through it every process using the client pool loaded Foundation and ICU
/// for a step that an ASCII password skips entirely. A small program that links the pool and
/// parses a connection string: 23.0 MiB peak resident and 14.2 ms from exec to exit with them,
/// 14.3 MiB and 8.7 ms without (medians of 40 runs here). And on Linux it is wrong in places
/// (see `NFKCTests`), and it normalizes with today's Unicode where RFC 4013 asks for 3.2. The
/// data is `NFKCTables`, Unicode 3.2.0, generated from Python's `unicodedata.ucd_3_2_0` by
/// scripts/nfkc-tables.py; `NFKCTests` checks this against CPython's NFKC over that database for
/// every code point assigned in 3.2 (and a sample of the others), alone and with combining marks,
/// every primary composite in pieces, and random sequences.
enum NFKC {
    /// The NFKC form of `scalars`.
    static func normalize(_ scalars: some Sequence<Unicode.Scalar>) -> [Unicode.Scalar] {
        var values: [UInt32] = []
        for scalar in scalars { decompose(scalar.value, into: &values) }
        var classes = values.map(combiningClass)
        orderCanonically(&values, classes: &classes)
        return compose(values, classes: classes).map { Unicode.Scalar($0)! }
    }

    // MARK: - Decomposition

    /// Appends the full compatibility decomposition of `value`.
    private static func decompose(_ value: UInt32, into out: inout [UInt32]) {
        if let (l, v, t) = Hangul.decompose(value) {
            out.append(l)
            out.append(v)
            if let t { out.append(t) }
            return
        }
        guard let entry = lookUp(value, in: NFKCTables.decompositionIndex) else {
            out.append(value)
            return
        }
        let offset = Int(entry >> 8), length = Int(entry & 0xFF)
        out.append(contentsOf: NFKCTables.decompositionData[offset..<offset + length])
    }

    /// The canonical combining class of `value` (0 for starters).
    static func combiningClass(_ value: UInt32) -> UInt32 {
        lookUp(value, in: NFKCTables.combiningClasses) ?? 0
    }

    /// Sorts each run of non-starters by combining class (`classes`, one per value, sorted
    /// along), keeping the order of equal classes (the canonical ordering algorithm). Runs are
    /// short: an insertion sort.
    private static func orderCanonically(_ values: inout [UInt32], classes: inout [UInt32]) {
        guard values.count > 1 else { return }
        for i in 1..<values.count where classes[i] != 0 {
            var j = i
            while j > 0, classes[j - 1] > classes[j] {
                values.swapAt(j - 1, j)
                classes.swapAt(j - 1, j)
                j -= 1
            }
        }
    }

    // MARK: - Composition

    /// The canonical composition algorithm: each character that is not blocked from the last
    /// starter (nothing between them, or everything between of a lower, non-zero class)
    /// combines with it when the two have a primary composite.
    private static func compose(_ values: [UInt32], classes: [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(values.count)
        var starter: Int?
        var lastClass: UInt32 = 0
        for (value, cc) in zip(values, classes) {
            if let s = starter, out.count - 1 == s || (lastClass != 0 && lastClass < cc),
               let composite = composite(out[s], value) {
                out[s] = composite
                continue
            }
            if cc == 0 { starter = out.count }
            lastClass = cc
            out.append(value)
        }
        return out
    }

    /// The primary composite of `first` and `second`, if they have one.
    private static func composite(_ first: UInt32, _ second: UInt32) -> UInt32? {
        if let hangul = Hangul.compose(first, second) { return hangul }
        let table = NFKCTables.compositions
        return row(in: table, width: 3) { i in
            let pair = (table[i], table[i + 1])
            return pair < (first, second) ? .less : pair == (first, second) ? .equal : .greater
        }.map { table[$0 + 2] }
    }

    /// The value paired with `key` in a flat sorted table of (key, value) pairs.
    private static func lookUp(_ key: UInt32, in table: [UInt32]) -> UInt32? {
        row(in: table, width: 2) { table[$0] < key ? .less : table[$0] == key ? .equal : .greater }.map { table[$0 + 1] }
    }

    private enum Order { case less, equal, greater }

    /// Binary search over a flat table of rows of `width` values sorted by their key:
    /// `compare` orders the row starting at an index against the key sought.
    /// - Returns: the index where the matching row starts.
    private static func row(in table: [UInt32], width: Int, _ compare: (Int) -> Order) -> Int? {
        var low = 0, high = table.count / width - 1
        while low <= high {
            let middle = (low + high) / 2
            switch compare(width * middle) {
            case .equal: return width * middle
            case .less: low = middle + 1
            case .greater: high = middle - 1
            }
        }
        return nil
    }

    /// Hangul syllables decompose and compose by arithmetic (Unicode section 3.12).
    private enum Hangul {
        static let sBase: UInt32 = 0xAC00, lBase: UInt32 = 0x1100, vBase: UInt32 = 0x1161, tBase: UInt32 = 0x11A7
        static let lCount: UInt32 = 19, vCount: UInt32 = 21, tCount: UInt32 = 28
        static let nCount = vCount * tCount, sCount = lCount * nCount

        static func decompose(_ s: UInt32) -> (UInt32, UInt32, UInt32?)? {
            guard s >= sBase, s < sBase + sCount else { return nil }
            let index = s - sBase
            let t = index % tCount
            return (lBase + index / nCount, vBase + (index % nCount) / tCount, t == 0 ? nil : tBase + t)
        }

        static func compose(_ first: UInt32, _ second: UInt32) -> UInt32? {
            if first >= lBase, first < lBase + lCount, second >= vBase, second < vBase + vCount {
                return sBase + ((first - lBase) * vCount + (second - vBase)) * tCount
            }
            if first >= sBase, first < sBase + sCount, (first - sBase) % tCount == 0,
               second > tBase, second < tBase + tCount {
                return first + (second - tBase)
            }
            return nil
        }
    }
}
