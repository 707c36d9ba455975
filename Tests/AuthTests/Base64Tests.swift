import Testing
import MongoBSON

/// The package's base64 (MongoBSON's, shared with MongoAuth), which SCRAM's salts, proofs and
/// signatures travel in: RFC 4648 section 10's vectors and the inputs it must refuse.
@Suite struct Base64Tests {
    @Test(arguments: [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ])
    func rfc4648Vectors(plain: String, encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8))
    }

    @Test func everyByteValueRoundTrips() {
        let bytes = (0...255).map { UInt8($0) }
        for length in [0, 1, 2, 3, 31, 32, 254, 255, 256] {
            let slice = Array(bytes.prefix(length))
            #expect(Base64.decode(Base64.encode(slice)) == slice)
        }
        #expect(Base64.encode([0xFB, 0xFF]) == "+/8=")
    }

    @Test(arguments: ["Zg", "Zg=", "Z===", "Zg==Zg==", "Zm9v!A==", "Zm=v", "Zm9v\n"])
    func malformedInputIsRefused(text: String) {
        #expect(Base64.decode(text) == nil)
    }
}
