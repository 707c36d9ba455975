import Testing
import MongoTLS

/// Known-answer tests for the primitives SCRAM is built on, from their RFCs.
@Suite struct CryptoTests {
    private func hex(_ bytes: [UInt8]) -> String { bytes.map { String($0, radix: 16).leftPadded(2) }.joined() }

    @Test func digestsMatchTheirStandardVectors() {
        let abc = Array("abc".utf8)
        #expect(hex(Crypto.hash(.sha256, abc)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex(Crypto.hash(.sha1, abc)) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(hex(Crypto.hash(.md5, abc)) == "900150983cd24fb0d6963f7d28e17f72")
    }

    /// RFC 4231, test case 2 (a short key, "what do ya want for nothing?").
    @Test func hmacMatchesRFC4231() {
        let mac = Crypto.hmac(.sha256, key: Array("Jefe".utf8), Array("what do ya want for nothing?".utf8))
        #expect(hex(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    /// RFC 6070, the 4096-iteration vector (PBKDF2-HMAC-SHA1, 20-byte key).
    @Test func pbkdf2MatchesRFC6070() {
        let key = Crypto.pbkdf2(.sha1, password: Array("password".utf8), salt: Array("salt".utf8), iterations: 4096)
        #expect(hex(key) == "4b007901b765489abead49d926f721d065a429c1")
    }

    @Test func constantTimeEqualComparesContents() {
        #expect(Crypto.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!Crypto.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!Crypto.constantTimeEqual([1, 2], [1, 2, 3]))
        #expect(Crypto.randomBytes(32) != Crypto.randomBytes(32))
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
