import ArgumentParser

@main
struct SDAMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sdam",
        abstract: "MongoDB server discovery and monitoring: spec tests and tools.",
        subcommands: [SpecTestCommand.self, SRVPollingTestCommand.self, WatchCommand.self, SimulateCommand.self, DemoCommand.self]
    )
}
