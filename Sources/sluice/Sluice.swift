import ArgumentParser

/// The one executable: the Lambda extension (issue to come) and the spool inspection commands.
@main
struct Sluice: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "A durable Lambda telemetry forwarder into OpenSearch.",
        subcommands: [SpoolCommand.self]
    )
}
