/// The few DNS messages (RFC 1035) a resolver without a thread needs: an A or AAAA query, and
/// the addresses, response code and truncation flag of its answer. Pure: bytes in, bytes out.
enum DNSMessage {
    static let typeA: UInt16 = 1
    static let typeAAAA: UInt16 = 28
    static let classIN: UInt16 = 1

    /// The response codes a lookup acts on.
    enum ResponseCode: Equatable {
        case noError
        /// The name does not exist: try the next search candidate.
        case nameError
        /// SERVFAIL, REFUSED and the rest: try the next server.
        case failure(UInt8)
    }

    struct Answer: Equatable {
        var code: ResponseCode
        /// Set when the answer did not fit a UDP datagram (TC): its address list may be short.
        var truncated: Bool
        /// The IPv4 and IPv6 addresses of the answer section, as text.
        var addresses: [String]
    }

    struct MalformedAnswer: Error, Equatable, CustomStringConvertible {
        var reason: String
        var description: String { "malformed DNS answer: \(reason)" }
    }

    /// A recursive query for `name` (absolute: no search domain is added here).
    /// - Returns: nil when the name cannot be a DNS name (an empty label, a label over 63
    ///   bytes, over 255 bytes in all).
    static func query(id: UInt16, name: String, type: UInt16) -> [UInt8]? {
        var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        let labels = name.hasSuffix(".") ? name.dropLast().split(separator: ".", omittingEmptySubsequences: false)
                                         : name.split(separator: ".", omittingEmptySubsequences: false)
        var length = 1
        for label in labels {
            let utf8 = Array(label.utf8)
            guard !utf8.isEmpty, utf8.count <= 63 else { return nil }
            length += utf8.count + 1
            bytes.append(UInt8(utf8.count))
            bytes += utf8
        }
        guard length <= 255 else { return nil }
        bytes += [0, UInt8(type >> 8), UInt8(type & 0xFF), 0, UInt8(classIN)]
        return bytes
    }

    /// Reads the answer to the query `id`.
    /// - Throws: `MalformedAnswer` when the bytes are not a DNS response to that query.
    static func answer(_ bytes: [UInt8], id: UInt16) throws(MalformedAnswer) -> Answer {
        var reader = Reader(bytes: bytes)
        let answerID = try reader.u16()
        let flags = try reader.u16()
        guard answerID == id else { throw MalformedAnswer(reason: "id \(answerID), expected \(id)") }
        guard flags & 0x8000 != 0 else { throw MalformedAnswer(reason: "not a response") }
        let questions = try reader.u16()
        let answers = try reader.u16()
        _ = try reader.u16()
        _ = try reader.u16()
        for _ in 0..<questions {
            try reader.skipName()
            try reader.skip(4)
        }
        var addresses: [String] = []
        for _ in 0..<answers {
            try reader.skipName()
            let type = try reader.u16()
            let klass = try reader.u16()
            try reader.skip(4)  // TTL
            let length = Int(try reader.u16())
            let data = try reader.take(length)
            guard klass == classIN else { continue }
            if type == typeA, length == 4 {
                addresses.append(data.map(String.init).joined(separator: "."))
            } else if type == typeAAAA, length == 16 {
                addresses.append(ipv6Text(data))
            }
        }
        let code: ResponseCode = switch UInt8(flags & 0x000F) {
        case 0: .noError
        case 3: .nameError
        case let other: .failure(other)
        }
        return Answer(code: code, truncated: flags & 0x0200 != 0, addresses: addresses)
    }

    private static func ipv6Text(_ bytes: ArraySlice<UInt8>) -> String {
        let bytes = Array(bytes)
        return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
            .joined(separator: ":")
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func take(_ count: Int) throws(MalformedAnswer) -> ArraySlice<UInt8> {
            guard count >= 0, offset + count <= bytes.count else { throw MalformedAnswer(reason: "truncated at byte \(offset)") }
            defer { offset += count }
            return bytes[offset..<(offset + count)]
        }

        mutating func skip(_ count: Int) throws(MalformedAnswer) { _ = try take(count) }

        mutating func u16() throws(MalformedAnswer) -> UInt16 {
            let two = try take(2)
            return UInt16(two[two.startIndex]) << 8 | UInt16(two[two.startIndex + 1])
        }

        /// Skips a name: labels up to a zero byte, or a compression pointer (two bytes).
        mutating func skipName() throws(MalformedAnswer) {
            for _ in 0..<128 {
                let length = try take(1).first!
                if length == 0 { return }
                if length & 0xC0 == 0xC0 {
                    try skip(1)
                    return
                }
                guard length & 0xC0 == 0 else { throw MalformedAnswer(reason: "label type \(length >> 6)") }
                try skip(Int(length))
            }
            throw MalformedAnswer(reason: "a name of more than 128 labels")
        }
    }
}
