import ArgumentParser

/// Development tool: benchmarks and test fixtures. Never shipped in the layer.
@main
struct SluiceDev: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice-dev",
        abstract: "Benchmarks and fixtures for Sluice's own tests (not shipped).",
        subcommands: [
            Fill.self, Drain.self, SpoolBenchmark.self, ShipBenchmark.self, IngestBenchmark.self, InvokeBenchmark.self,
            LifecycleBenchmark.self, Demo.self,
        ]
    )
}
