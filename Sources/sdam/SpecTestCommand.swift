import ArgumentParser
import Foundation
import MongoSimulator
import SpecRunner

/// `sdam spec-test PATH...`: runs the official JSON spec tests found under the paths.
struct SpecTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spec-test",
        abstract: "Run the official JSON spec tests under the given files or folders.",
        discussion: """
            Prints one line per failing case (expected and actual) and per skipped case (its \
            reason), then `N passed, M failed, K skipped`. Exits non-zero when a case failed. \
            When the paths hold initial-dns-seedlist-discovery tests, the run happens in a \
            network and mount namespace of its own (unshare -mn; needs root) with the tests' \
            DNS server; without root those cases are skipped, saying why.
            """
    )

    @Argument(help: "Spec test files or folders (default: $MONGO_SPECS_DIR or ../shared/specs).")
    var paths: [String] = []

    @Flag(name: .long, help: "Also print a line for every passing case.")
    var verbose = false

    func run() throws {
        let targets = paths.isEmpty
            ? [SpecRunner.defaultSpecsDirectory(packageRoot: FileManager.default.currentDirectoryPath)]
            : paths
        if !DNSSandbox.isInside, DNSSeedlistFormat.needsSandbox(targets.flatMap { (try? SpecRunner.jsonFiles(under: $0)) ?? [] }) {
            if let reason = DNSSandbox.unavailableReason() {
                print("note: the DNS seedlist cases are skipped: \(reason)")
                DNSSeedlistFormat.sandboxUnavailable(reason)
            } else {
                // The whole run, again, inside the sandbox (its output is this command's).
                let status = try DNSSandbox.rerunInside(arguments: Array(CommandLine.arguments.dropFirst()))
                if status != 0 { throw ExitCode(status) }
                return
            }
        }
        if DNSSandbox.isInside { DNSSeedlistFormat.prepareSandbox() }
        let summary: SpecRunner.Summary
        do {
            summary = try SpecRunner().run(paths: targets) { result in
                switch result.outcome {
                case .passed:
                    if verbose { print("PASS \(result.file) :: \(result.name)") }
                case .failed(let why):
                    print("FAIL \(result.file) :: \(result.name): \(why)")
                case .skipped(let why):
                    print("SKIP \(result.file) :: \(result.name): \(why)")
                }
            }
        } catch {
            print("error: \(error)")
            throw ExitCode(2)
        }
        print(summary.closingLine)
        if summary.failed > 0 { throw ExitCode(1) }
    }
}
