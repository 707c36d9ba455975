import Foundation
import Testing
@testable import MongoAuth
import SDAMCore

/// MongoAuth's own NFKC (SASLprep's normalization) against CPython's `unicodedata`, an
/// independent implementation over the same Unicode version as the tables: every code point
/// assigned in that version, alone and followed by combining marks, and random sequences of the
/// characters normalization rearranges.
///
/// Not against Foundation: on Linux (Swift 6.3.1) its `precomposedStringWithCompatibilityMapping`
/// truncates astral scalars (U+10041 U+0300 gives "À"), skips canonical reordering after a
/// compatibility decomposition (U+0385 U+0327 U+0301) and composes a non-modern jamo as if it were
/// modern (U+1113 U+1161 U+11A8 gives U+D7A5); `foundationGetsSomeWrong` keeps the record.
@Suite struct NFKCTests {
    static func ours(_ values: [UInt32]) -> [UInt32] { NFKC.normalize(values.map { Unicode.Scalar($0)! }).map(\.value) }

    /// Scalars assigned in Unicode 14.0 or earlier, the tables' version (a newer Python's
    /// database knows later ones that the tables do not).
    static let assigned: [UInt32] = (0...0x10FFFF).compactMap { value -> UInt32? in
        guard let scalar = Unicode.Scalar(UInt32(value)), let age = scalar.properties.age,
              age.major < 14 || (age.major == 14 && age.minor == 0) else { return nil }
        return scalar.value
    }

    /// The inputs whose NFKC differs between ours and CPython's, as hex sequences.
    static func differences(_ inputs: [[UInt32]]) throws -> [String] {
        let expected = try PythonNFKC.normalize(inputs)
        return zip(inputs, expected).compactMap { input, want in
            ours(input) == want ? nil : input.map { String($0, radix: 16) }.joined(separator: " ")
        }
    }

    @Test func theTablesAreUnicode14() {
        #expect(NFKCTables.unicodeVersion == "14.0.0")
        #expect(Self.assigned.count > 140_000, "\(Self.assigned.count) scalars assigned")
    }

    @Test func everyAssignedCodePointAloneNormalizesAsCPythonDoes() throws {
        let differ = try Self.differences(Self.assigned.map { [$0] })
        #expect(differ.count == 0, "\(differ.count) differ, first: \(differ.prefix(10))")
    }

    @Test func everyAssignedCodePointFollowedByCombiningMarksNormalizesAsCPythonDoes() throws {
        // A grave (class 230); an acute then a dot below (220), which reorders. (Hangul jamo
        // are among the random sequences' characters.)
        let tails: [[UInt32]] = [[0x300], [0x301, 0x323]]
        let differ = try Self.differences(Self.assigned.flatMap { scalar in tails.map { [scalar] + $0 } })
        #expect(differ.count == 0, "\(differ.count) differ, first: \(differ.prefix(10))")
    }

    @Test func randomSequencesOfStartersAndMarksNormalizeAsCPythonDoes() throws {
        // The characters NFKC changes or combines, mixed with letters and Hangul jamo.
        let interesting = Self.assigned.filter { NFKC.combiningClass($0) != 0 || Self.ours([$0]) != [$0] }
            + "aeiouAEIOU\u{1100}\u{1161}\u{11A8}\u{AC00}".unicodeScalars.map(\.value)
        var generator = SplitMix64(seed: 0x5A51_9E7)
        let inputs = (0..<50_000).map { _ in
            (0..<Int.random(in: 1...8, using: &generator)).map { _ in interesting.randomElement(using: &generator)! }
        }
        let differ = try Self.differences(inputs)
        #expect(differ.count == 0, "\(differ.count) differ, first: \(differ.prefix(10))")
    }

    @Test(arguments: [
        ("\u{FB01}", "fi"),                        // a compatibility ligature
        ("\u{2168}", "IX"),                        // ROMAN NUMERAL NINE
        ("e\u{0301}", "\u{00E9}"),                 // composed
        ("\u{1E0B}\u{0323}", "\u{1E0D}\u{0307}"),  // reordered, then the dot below composes first
        ("\u{1100}\u{1161}\u{11A8}", "\u{AC01}"),  // Hangul L V T
        ("\u{3131}\u{1161}", "\u{AC00}"),          // a compatibility jamo decomposes, then composes
        ("\u{0958}", "\u{0915}\u{093C}"),          // a composition exclusion stays decomposed
        ("\u{10041}\u{0300}", "\u{10041}\u{0300}"), // an astral letter stays itself
    ])
    func knownForms(input: String, expected: String) {
        #expect(Self.ours(input.unicodeScalars.map(\.value)) == expected.unicodeScalars.map(\.value))
    }

    @Test func foundationGetsSomeWrong() {
        // Why the oracle is CPython: if Foundation is fixed, this fails, and it can become one.
        let astral = "\u{10041}\u{0300}".precomposedStringWithCompatibilityMapping
        #expect(astral.unicodeScalars.map(\.value) != [0x10041, 0x300], "Foundation now keeps U+10041: \(astral)")
    }
}

/// CPython's NFKC of many inputs in one run: the inputs go to a file, a line of hex scalars
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
            import sys, unicodedata
            if unicodedata.unidata_version.split(".")[0] < "14": sys.exit("unicodedata " + unicodedata.unidata_version + " is older than the tables' 14.0.0")
            with open(sys.argv[1]) as f, open(sys.argv[2], "w") as out:
                for line in f:
                    s = "".join(chr(int(x, 16)) for x in line.split())
                    out.write(" ".join("%x" % ord(c) for c in unicodedata.normalize("NFKC", s)) + "\\n")
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
