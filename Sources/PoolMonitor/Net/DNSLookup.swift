import CResolv
import SDAMCore
#if canImport(Glibc)
import Glibc
#endif

/// SRV and TXT lookups with glibc's stub resolver (`res_nsearch` on a resolver state of its
/// own, then `ns_initparse`/`ns_parserr`, which give each record's TTL).
///
/// The calls block: the pool runs them on `RecordResolver`'s threads, never on the loop; a
/// single-threaded client may call them on its own thread. Names are queried as absolute
/// (a trailing dot), so resolv.conf's search list is never appended: the spec's names are
/// complete, and a search domain could only add answers from elsewhere.
package enum DNSLookup {
    /// What one query brings: the answer section's records of the type asked for.
    package typealias Records<Record> = Result<[Record], DNSLookupError>

    /// The largest DNS message (over TCP): room for any answer.
    static let answerBufferSize = 65_535

    /// The SRV records of `name` (`_mongodb._tcp.host`); an empty answer is `.noRecords`.
    package static func srv(_ name: String) -> Records<SRVRecord> {
        query(name, type: .srv, code: Int32(ns_t_srv.rawValue)) { message, rr in
            // priority, weight, port (16 bits each, network order), then the target's name.
            guard let rdata = cresolv_rr_rdata(rr), cresolv_rr_rdlen(rr) >= 7 else { return nil }
            let u16 = { (offset: Int) in UInt16(rdata[offset]) << 8 | UInt16(rdata[offset + 1]) }
            var target = [CChar](repeating: 0, count: Int(NS_MAXDNAME) + 1)
            guard cresolv_expand_name(message, rdata + 6, &target, Int32(target.count)) >= 0 else { return nil }
            return SRVRecord(priority: u16(0), weight: u16(2), port: u16(4),
                             target: String(decoding: target.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
                             ttl: cresolv_rr_ttl(rr))
        }
    }

    /// The TXT records of `name`, each with its character strings in order; none when the
    /// name or its TXT records do not exist.
    package static func txt(_ name: String) -> Records<TXTRecord> {
        let result = query(name, type: .txt, code: Int32(ns_t_txt.rawValue)) { _, rr -> TXTRecord? in
            guard let rdata = cresolv_rr_rdata(rr) else { return nil }
            let bytes = UnsafeBufferPointer(start: rdata, count: Int(cresolv_rr_rdlen(rr)))
            var strings: [String] = []
            var index = 0
            while index < bytes.count {
                let length = Int(bytes[index])
                guard index + 1 + length <= bytes.count else { return nil }
                strings.append(String(decoding: bytes[(index + 1)..<(index + 1 + length)], as: UTF8.self))
                index += 1 + length
            }
            return TXTRecord(strings: strings, ttl: cresolv_rr_ttl(rr))
        }
        if case .failure(let error) = result, error.isNegativeAnswer { return .success([]) }
        return result
    }

    /// One query, its answer section parsed record by record; records of other types (a CNAME
    /// chain, say) are skipped.
    private static func query<Record>(
        _ name: String, type: DNSLookupError.RecordType, code: Int32,
        _ parse: (UnsafePointer<ns_msg>, UnsafePointer<ns_rr>) -> Record?
    ) -> Records<Record> {
        let shown = name.hasSuffix(".") ? String(name.dropLast()) : name
        func failure(_ reason: DNSLookupError.Reason) -> Records<Record> {
            .failure(DNSLookupError(type: type, name: shown, reason: reason))
        }
        var answer = [UInt8](repeating: 0, count: answerBufferSize)
        var herrno: Int32 = 0
        var savedErrno: Int32 = 0
        let length = cresolv_search(shown + ".", code, &answer, Int32(answer.count), &herrno, &savedErrno)
        guard length >= 0 else { return failure(reason(herrno: herrno, errno: savedErrno)) }
        var records: [Record] = []
        let parsed = answer.withUnsafeBufferPointer { buffer -> Bool in
            var message = ns_msg()
            guard cresolv_initparse(buffer.baseAddress, min(length, Int32(buffer.count)), &message) == 0 else { return false }
            for index in 0..<cresolv_answer_count(&message) {
                var rr = ns_rr()
                guard cresolv_answer(&message, index, &rr) == 0 else { return false }
                guard cresolv_rr_type(&rr) == code, cresolv_rr_class(&rr) == Int32(ns_c_in.rawValue) else { continue }
                guard let record = parse(&message, &rr) else { return false }
                records.append(record)
            }
            return true
        }
        guard parsed else { return failure(.other("the answer could not be parsed")) }
        guard !records.isEmpty else { return failure(.noRecords) }
        return .success(records)
    }

    /// What `res_nsearch`'s `h_errno` (and `errno`) mean, in the spec's words.
    static func reason(herrno: Int32, errno: Int32) -> DNSLookupError.Reason {
        switch herrno {
        case HOST_NOT_FOUND: return .nameDoesNotExist
        case NO_DATA: return .noRecords
        case TRY_AGAIN: return errno == ETIMEDOUT ? .timedOut : .temporaryFailure
        case NO_RECOVERY: return .refused
        default:
            let text = errno != 0 ? String(cString: strerror(errno)) : "h_errno \(herrno)"
            return .other("resolver error: \(text)")
        }
    }
}
