/// Ways a simulated server misbehaves on purpose, to test how a client survives servers and
/// networks that break the rules. A hostile server keeps listening and reading; what it sends
/// back is wrong in one chosen way until it is revived (set back to normal).
///
/// Wire-level behaviours spoil every reply the server sends; content-level ones
/// (`helloFailure`, the host lists, `changedSetName`) spoil only hello replies, so that a
/// client's application commands still work against that server.
public enum HostileBehaviour: Sendable, Equatable, CustomStringConvertible {
    // MARK: Wire level

    /// Each reply is replaced by 64 random bytes whose first four, read as a messageLength,
    /// are negative: no frame at all. The connection stays open.
    case garbage
    /// The first half of each reply, then the server closes the connection.
    case truncatedReply
    /// Each reply declares a messageLength of 1 GiB (`oversizedMessageLength`), far beyond
    /// maxMessageSizeBytes; its real bytes follow. The connection stays open.
    case oversizedLength
    /// Each reply answers a requestID one past the request's.
    case wrongResponseTo
    /// Each reply is sent one byte every `byteIntervalMS` milliseconds (a loop timer: the
    /// server's other connections are not delayed).
    case trickle(byteIntervalMS: Int)
    /// The first half of each reply, then a TCP reset (SO_LINGER 0, close).
    case resetMidReply

    // MARK: Hello content

    /// hello fails with `{ok: 0, code: 8, codeName: "UnknownError"}`.
    case helloFailure
    /// hello lists `count` hosts: the real ones, then "hostN.invalid:27017" up to `count`.
    case manyHosts(count: Int)
    /// hello's hosts add malformed entries (empty, no port, port out of range, an unclosed
    /// IPv6 bracket, embedded space).
    case invalidHosts
    /// hello lists every host twice (a server with no hosts lists its own address twice).
    case duplicateHosts
    /// hello's `hosts`, `primary` and `me` are upper case, with "127.0.0.1" written
    /// "LOCALHOST", so that the change is visible: a client seeded with `localhost:` addresses
    /// that lowercases host names sees the same set, one seeded with 127.0.0.1 a renamed one.
    case upperCaseHosts
    /// hello reports this `setName` (added when the server is no replica set member).
    case changedSetName(String)

    // MARK: Streaming

    /// Awaitable hellos (`topologyVersion` and `maxAwaitTimeMS`) are answered at once, as a
    /// plain hello would be (no `moreToCome`), with the server's unchanged topologyVersion: a
    /// server or proxy that does not honour maxAwaitTimeMS. A client that keeps streaming from
    /// it sends hellos as fast as they are answered.
    case ignoresMaxAwaitTime

    // MARK: Handshake

    /// The reply to a handshake (a hello carrying `client` metadata, the first command of a
    /// new connection) is a well-framed message whose document is not valid BSON; every other
    /// reply is normal. Connections opened before keep working — a monitor's, typically — so
    /// that what an application connection's unreadable handshake does can be told apart from
    /// what a failed check does. A monitor that reconnects meets it too.
    case unreadableHandshake

    /// The declared length of `oversizedLength` replies.
    public static let oversizedMessageLength: Int32 = 1 << 30
    /// Hosts the `invalidHosts` behaviour adds.
    public static let invalidHostNames = ["", "nohost:", "127.0.0.1:99999", "[::1", "two words:27017", "a:b:c"]

    /// The control-protocol words, for help and errors: each behaviour and its optional argument.
    public static let usage =
        "garbage | truncate | oversize | responseto | trickle [MS] | reset | hellofail | manyhosts [COUNT] | invalidhosts | duplicatehosts | uppercase | setname [NAME] | impatient | badhandshake"

    /// One word (and its argument after a colon), as the status line and the control protocol
    /// write it.
    public var description: String {
        switch self {
        case .garbage: "garbage"
        case .truncatedReply: "truncate"
        case .oversizedLength: "oversize"
        case .wrongResponseTo: "responseto"
        case .trickle(let interval): "trickle:\(interval)"
        case .resetMidReply: "reset"
        case .helloFailure: "hellofail"
        case .manyHosts(let count): "manyhosts:\(count)"
        case .invalidHosts: "invalidhosts"
        case .duplicateHosts: "duplicatehosts"
        case .upperCaseHosts: "uppercase"
        case .changedSetName(let name): "setname:\(name)"
        case .ignoresMaxAwaitTime: "impatient"
        case .unreadableHandshake: "badhandshake"
        }
    }
}
