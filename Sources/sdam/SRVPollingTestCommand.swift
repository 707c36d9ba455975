import ArgumentParser
import Foundation
import MongoSimulator
import SpecRunner

/// `sdam srv-polling-test`: the SRV polling spec's prose tests against the tests' DNS server.
struct SRVPollingTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "srv-polling-test",
        abstract: "Run the SRV polling prose tests (records added, removed, replaced; lookups failing; srvMaxHosts; TTL).",
        discussion: """
            Runs in a network and mount namespace of its own (unshare -mn; needs root) with the \
            tests' DNS server and simulated mongos on localhost 27017-27020; the rescan interval's \
            floor is lowered to 500 ms and the records' TTL to 1 s. Prints one line per case, \
            then `N passed, M failed, K skipped`; exits non-zero when a case failed. Without \
            root every case is skipped, saying why.
            """
    )

    func run() throws {
        if !DNSSandbox.isInside {
            if let reason = DNSSandbox.unavailableReason() {
                print("SKIP every case: \(reason)")
                print("0 passed, 0 failed, 15 skipped")
                return
            }
            let status = try DNSSandbox.rerunInside(arguments: Array(CommandLine.arguments.dropFirst()), timeout: .seconds(600))
            if status != 0 { throw ExitCode(status) }
            return
        }
        let summary = try SRVPollingProse.run { result in
            switch result.outcome {
            case .passed: print("PASS \(result.name)")
            case .failed(let why): print("FAIL \(result.name): \(why)")
            case .skipped(let why): print("SKIP \(result.name): \(why)")
            }
        }
        print(summary.closingLine)
        if summary.failed > 0 { throw ExitCode(1) }
    }
}
