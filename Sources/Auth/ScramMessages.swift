import MongoBSON
import MongoTLS

/// The four SCRAM messages (RFC 5802 section 7), written and parsed in one place for the client
/// and the server conversations: what one side writes, the other parses with the same grammar.
///
/// Parsers throw `ScramFailure` with `malformedServerMessage` or `malformedClientMessage` texts
/// that say what was wrong, never the message itself (a client-final message carries the proof).
enum ScramMessages {
    /// The GS2 header of a client that does not support channel binding, which MongoDB requires
    /// ("n,,": no channel binding, no authorization identity).
    static let gs2Header = "n,,"

    // MARK: - Usernames and nonces

    /// `saslname` escaping: "=" becomes "=3D" and "," becomes "=2C" (the order matters: escaping
    /// "=" first would escape the escapes).
    static func escape(username: String) -> String {
        var out = ""
        out.reserveCapacity(username.utf8.count)
        for character in username.unicodeScalars {
            switch character {
            case "=": out += "=3D"
            case ",": out += "=2C"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// The inverse of `escape`; nil when "=" is followed by anything but "3D" or "2C", or a bare
    /// "," appears (RFC 5802: the server MUST fail such a username).
    static func unescape(username: Substring) -> String? {
        var out = ""
        var rest = username.unicodeScalars[...]
        while let scalar = rest.popFirst() {
            switch scalar {
            case "=":
                let code = String(String.UnicodeScalarView(rest.prefix(2)))
                rest = rest.dropFirst(2)
                switch code {
                case "3D": out += "="
                case "2C": out += ","
                default: return nil
                }
            case ",":
                return nil
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A nonce is printable ASCII other than "," (RFC 5802 `printable`).
    static func isValidNonce<S: StringProtocol>(_ nonce: S) -> Bool {
        !nonce.isEmpty && nonce.utf8.allSatisfy { $0 >= 0x21 && $0 <= 0x7E && $0 != UInt8(ascii: ",") }
    }

    /// 24 bytes from the CSPRNG, base64-encoded: 32 printable characters, none of them ",".
    static func randomNonce() -> String { Base64.encode(Crypto.randomBytes(24)) }

    // MARK: - Writing

    static func clientFirst(username: String, nonce: String) -> String {
        gs2Header + clientFirstBare(username: username, nonce: nonce)
    }

    static func clientFirstBare(username: String, nonce: String) -> String {
        "n=\(escape(username: username)),r=\(nonce)"
    }

    /// The `c=` value: the GS2 header in base64 ("biws" for "n,,").
    static func channelBinding(gs2Header: String) -> String { Base64.encode(Array(gs2Header.utf8)) }

    static func clientFinalWithoutProof(gs2Header: String, nonce: String) -> String {
        "c=\(channelBinding(gs2Header: gs2Header)),r=\(nonce)"
    }

    static func serverFirst(nonce: String, salt: [UInt8], iterations: Int) -> String {
        "r=\(nonce),s=\(Base64.encode(salt)),i=\(iterations)"
    }

    /// AuthMessage = client-first-message-bare "," server-first-message "," client-final-message-without-proof.
    static func authMessage(clientFirstBare: String, serverFirst: String, clientFinalWithoutProof: String) -> [UInt8] {
        Array("\(clientFirstBare),\(serverFirst),\(clientFinalWithoutProof)".utf8)
    }

    // MARK: - Parsing

    /// Who wrote the message being parsed, for the error a parser throws.
    enum Sender {
        case client, server

        func malformed(_ what: String) -> ScramFailure {
            ScramFailure(self == .server ? .malformedServerMessage(what) : .malformedClientMessage(what))
        }
    }

    /// A message's attributes (`a=value`, separated by ","), read in the order the grammar fixes.
    struct Attributes {
        private let names: [Character]
        private let values: [Substring]
        let sender: Sender

        /// Splits `text` into attributes: a single ASCII letter, "=", then a value up to the next
        /// ",". A leading `m=` (a mandatory extension, RFC 5802 section 5.1) is refused: this
        /// implementation knows none.
        init(_ text: Substring, from sender: Sender) throws(ScramFailure) {
            var names: [Character] = []
            var values: [Substring] = []
            for part in text.split(separator: ",", omittingEmptySubsequences: false) {
                guard part.count >= 2, let name = part.first, name.isASCII, name.isLetter,
                    part[part.index(after: part.startIndex)] == "="
                else { throw sender.malformed("an attribute is not of the form a=value") }
                names.append(name)
                values.append(part.dropFirst(2))
            }
            if names.first == "m" { throw sender.malformed("a mandatory extension (m=) is not supported") }
            self.names = names
            self.values = values
            self.sender = sender
        }

        var count: Int { names.count }

        /// The value at `index`, which must be named `name`.
        func value(_ name: Character, at index: Int, what: String) throws(ScramFailure) -> Substring {
            guard index < names.count, names[index] == name else {
                throw sender.malformed("no \(what) (\(name)=) where one was expected")
            }
            return values[index]
        }

        /// A nonce value, which must be printable ASCII.
        func nonce(at index: Int) throws(ScramFailure) -> String {
            let nonce = try value("r", at: index, what: "nonce")
            guard ScramMessages.isValidNonce(nonce) else { throw sender.malformed("the nonce has characters other than printable ASCII") }
            return String(nonce)
        }

        /// A base64 value, decoded.
        func base64(_ name: Character, at index: Int, what: String) throws(ScramFailure) -> [UInt8] {
            guard let bytes = Base64.decode(String(try value(name, at: index, what: what))) else {
                throw sender.malformed("the \(what) (\(name)=) is not base64")
            }
            return bytes
        }
    }

    /// server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count ["," extensions]
    struct ServerFirst {
        let nonce: String
        let salt: [UInt8]
        let iterations: Int

        init(parsing message: String) throws(ScramFailure) {
            let attributes = try Attributes(message[...], from: .server)
            nonce = try attributes.nonce(at: 0)
            salt = try attributes.base64("s", at: 1, what: "salt")
            guard !salt.isEmpty else { throw Sender.server.malformed("the salt (s=) is empty") }
            let count = try attributes.value("i", at: 2, what: "iteration count")
            guard count.utf8.count <= 10, count.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                let iterations = Int(count), iterations <= Int(Int32.max)
            else { throw Sender.server.malformed("the iteration count is not a decimal number from 1 to 2147483647") }
            self.iterations = iterations
        }
    }

    /// server-final-message = (server-error / verifier) ["," extensions]
    enum ServerFinal {
        case verifier([UInt8])
        case error(String)

        init(parsing message: String) throws(ScramFailure) {
            let attributes = try Attributes(message[...], from: .server)
            if let error = try? attributes.value("e", at: 0, what: "error") {
                self = .error(String(error))
            } else {
                self = .verifier(try attributes.base64("v", at: 0, what: "server signature"))
            }
        }
    }

    /// client-first-message = gs2-header client-first-message-bare, where
    /// client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions].
    struct ClientFirst {
        /// "n,," or "y,,", as sent (the client-final message must repeat it in c=).
        let gs2Header: String
        let bare: String
        let username: String
        let nonce: String

        init(parsing message: String) throws(ScramFailure) {
            let parts = message.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { throw Sender.client.malformed("the client-first message has no GS2 header") }
            guard parts[0] == "n" || parts[0] == "y" else {
                throw Sender.client.malformed(parts[0].hasPrefix("p=") ? "channel binding (p=) is not supported" : "the GS2 header's channel-binding flag is not n, y or p=")
            }
            guard parts[1].isEmpty else { throw Sender.client.malformed("an authorization identity (a=) is not supported") }
            let attributes = try Attributes(parts[2], from: .client)
            guard let username = ScramMessages.unescape(username: try attributes.value("n", at: 0, what: "username")) else {
                throw Sender.client.malformed("the username has \"=\" not followed by 3D or 2C")
            }
            self.gs2Header = "\(parts[0]),\(parts[1]),"
            self.bare = String(parts[2])
            self.username = username
            self.nonce = try attributes.nonce(at: 1)
        }
    }

    /// client-final-message = channel-binding "," nonce ["," extensions] "," proof
    struct ClientFinal {
        /// The `c=` value, still in base64.
        let channelBinding: String
        let nonce: String
        let proof: [UInt8]
        /// The message up to (not including) ",p=", which AuthMessage ends with.
        let withoutProof: String

        init(parsing message: String) throws(ScramFailure) {
            let attributes = try Attributes(message[...], from: .client)
            guard attributes.count >= 3 else { throw Sender.client.malformed("the client-final message lacks c=, r= or p=") }
            channelBinding = String(try attributes.value("c", at: 0, what: "channel binding"))
            nonce = try attributes.nonce(at: 1)
            proof = try attributes.base64("p", at: attributes.count - 1, what: "proof")
            // The proof's value is base64, which has no ",", so the last ",p=" starts the proof.
            let proofText = try attributes.value("p", at: attributes.count - 1, what: "proof")
            withoutProof = String(message[..<proofText.startIndex].dropLast(3))
        }
    }
}
