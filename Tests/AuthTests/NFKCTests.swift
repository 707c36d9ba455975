import Foundation
import Testing
@testable import MongoAuth
import SDAMCore

/// MongoAuth's own NFKC (SASLprep's normalization) against CPython's
/// `unicodedata.ucd_3_2_0.normalize("NFKC", …)`, an independent implementation over the same
/// Unicode 3.2 database: every code point assigned in 3.2 alone (and a sample of the rest) and
/// followed by combining marks, every primary composite in pieces, and random sequences of the characters
/// normalization rearranges.
///
/// Not against Foundation: on Linux (Swift 6.3.1) its `precomposedStringWithCompatibilityMapping`
/// truncates astral scalars (U+10041 U+0300 gives "À"), skips canonical reordering after a
/// compatibility decomposition (U+0385 U+0327 U+0301) and composes a non-modern jamo as if it were
/// modern (U+1113 U+1161 U+11A8 gives U+D7A5); and it uses today's Unicode, not 3.2.
@Suite struct NFKCTests {
    static func ours(_ values: [UInt32]) -> [UInt32] { NFKC.normalize(values.map { Unicode.Scalar($0)! }).map(\.value) }

    static func hex(_ values: [UInt32]) -> String { values.map { String($0, radix: 16) }.joined(separator: " ") }

    /// Every Unicode scalar.
    static let scalars: [UInt32] = (0...0x10FFFF).compactMap { Unicode.Scalar(UInt32($0))?.value }

    /// Scalars assigned in Unicode 3.2 (not in RFC 3454's A.1), less private use (C.3): the
    /// ones with data. The others neither decompose nor compose.
    static let assigned: [UInt32] = scalars.filter { !StringprepTables.a1.contains($0) && !StringprepTables.c3.contains($0) }

    /// One in 101 of the others, which must pass through unchanged.
    static let others: [UInt32] = scalars.filter { StringprepTables.a1.contains($0) || StringprepTables.c3.contains($0) }
        .enumerated().filter { $0.offset % 101 == 0 }.map(\.element)

    /// The inputs whose NFKC differs between ours and CPython's: input, ours, CPython's.
    static func differences(_ inputs: [[UInt32]]) throws -> [String] {
        let expected = try PythonNFKC.normalize(inputs)
        return zip(inputs, expected).compactMap { input, want in
            let got = ours(input)
            return got == want ? nil : "\(hex(input)) -> ours \(hex(got)), CPython \(hex(want))"
        }
    }

    static func expectNone(_ differ: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(differ.isEmpty, "\(differ.count) differ, first: \(differ.prefix(8).joined(separator: "; "))", sourceLocation: sourceLocation)
    }

    @Test func theTablesAreUnicode32() {
        #expect(NFKCTables.unicodeVersion == "3.2.0")
        // U+0221 came in Unicode 4.0.
        #expect(Self.assigned.contains(0xE9) && !Self.assigned.contains(0x221) && Self.others.count > 5_000,
                "\(Self.assigned.count) scalars assigned in 3.2, \(Self.others.count) others sampled")
    }

    @Test func everyAssignedCodePointAloneNormalizesAsCPythonDoes() throws {
        Self.expectNone(try Self.differences((Self.assigned + Self.others).map { [$0] }))
    }

    @Test func everyAssignedCodePointFollowedByCombiningMarksNormalizesAsCPythonDoes() throws {
        // A grave (class 230); an acute then a dot below (220), which reorders.
        let tails: [[UInt32]] = [[0x300], [0x301, 0x323]]
        Self.expectNone(try Self.differences(Self.assigned.flatMap { scalar in tails.map { [scalar] + $0 } }))
    }

    @Test func everyPrimaryCompositeInPiecesNormalizesAsCPythonDoes() throws {
        // Its pair; the pair with a mark between (which blocks a starter–starter pair and a
        // mark of the same or a higher class, and not a lower-class one); the pair then a mark.
        let table = NFKCTables.compositions
        let inputs = stride(from: 0, to: table.count, by: 3).flatMap { i -> [[UInt32]] in
            let (first, second) = (table[i], table[i + 1])
            return [[first, second], [first, 0x0316, second], [first, 0x0301, second], [first, second, 0x0300]]
        }
        #expect(inputs.count > 3_000)
        Self.expectNone(try Self.differences(inputs))
    }

    @Test func randomSequencesOfStartersAndMarksNormalizeAsCPythonDoes() throws {
        // The characters NFKC changes or combines, or that combine, mixed with letters and
        // Hangul jamo.
        let composing = Set(NFKCTables.compositions.enumerated().filter { $0.offset % 3 != 2 }.map(\.element))
        let interesting = Self.assigned.filter { NFKC.combiningClass($0) != 0 || composing.contains($0) || Self.ours([$0]) != [$0] }
            + "aeiouAEIOU\u{1100}\u{1161}\u{11A8}\u{AC00}".unicodeScalars.map(\.value)
        var generator = SplitMix64(seed: 0x5A51_9E7)
        let inputs = (0..<50_000).map { _ in
            (0..<Int.random(in: 1...8, using: &generator)).map { _ in interesting.randomElement(using: &generator)! }
        }
        Self.expectNone(try Self.differences(inputs))
    }

    @Test(arguments: [
        ("\u{FB01}", "fi"),                        // a compatibility ligature
        ("\u{2168}", "IX"),                        // ROMAN NUMERAL NINE
        ("e\u{0301}", "\u{00E9}"),                 // composed
        ("\u{1E0B}\u{0323}", "\u{1E0D}\u{0307}"),  // reordered, then the dot below composes first
        ("\u{1100}\u{1161}\u{11A8}", "\u{AC01}"),  // Hangul L V T
        ("\u{3131}\u{1161}", "\u{AC00}"),          // a compatibility jamo decomposes, then composes
        ("\u{0B47}\u{0B3E}", "\u{0B4B}"),          // two starters compose
        ("\u{0958}", "\u{0915}\u{093C}"),          // a composition exclusion stays decomposed
        ("\u{10041}\u{0300}", "\u{10041}\u{0300}"), // an astral letter stays itself
        ("\u{2F868}", "\u{2136A}"),                // Unicode 3.2's mapping, before Corrigendum #4
    ])
    func knownForms(input: String, expected: String) {
        #expect(Self.ours(input.unicodeScalars.map(\.value)) == expected.unicodeScalars.map(\.value))
    }
}

/// CPython's Unicode 3.2 NFKC of many inputs in one run: the inputs go to a file, a line of hex scalars
/// each; `python3` prints the normalized lines.
enum PythonNFKC {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func normalize(_ inputs: [[UInt32]]) throws -> [[UInt32]] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nfkc-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let inputFile = directory.appendingPathComponent("in.txt"), outputFile = directory.appendingPathComponent("out.txt")
        try inputs.map { $0.map { String($0, radix: 16) }.joined(separator: " ") }.joined(separator: "\n")
            .appending("\n").write(to: inputFile, atomically: true, encoding: .utf8)
        let script = """
            import sys
            from unicodedata import ucd_3_2_0
            with open(sys.argv[1]) as f, open(sys.argv[2], "w") as out:
                for line in f:
                    s = "".join(chr(int(x, 16)) for x in line.split())
                    out.write(" ".join("%x" % ord(c) for c in ucd_3_2_0.normalize("NFKC", s)) + "\\n")
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, inputFile.path, outputFile.path]
        let errors = Pipe()
        process.standardError = errors
        do {
            try process.run()
        } catch {
            throw Failure(description: "cannot run python3, the NFKC oracle (Debian: apt-get install python3): \(error)")
        }
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "python3 exited \(process.terminationStatus): \(stderr)")
        }
        let lines = try String(contentsOf: outputFile, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        guard lines.count == inputs.count else { throw Failure(description: "python3 printed \(lines.count) lines for \(inputs.count) inputs") }
        return lines.map { $0.split(separator: " ").map { UInt32($0, radix: 16)! } }
    }
}
