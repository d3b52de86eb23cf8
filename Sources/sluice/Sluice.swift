import Logging
import NIOCore
import SluiceForwarder
import SluiceLambda

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The one executable. Started with no arguments (as `/opt/extensions/sluice`) it is the Lambda
/// extension; its subcommands inspect and repair a spool.
@main
enum Main {
    /// Not `async`: the extension's main thread is its event loop (`OneThread`), and a command's
    /// work runs in a task while the main thread waits for the exit (both paths end in `exit`).
    /// An `async` main hands the main thread to libdispatch, which ends it with `pthread_exit`: an
    /// unwind of its stack that read the binary's unwind tables, which then stayed resident for
    /// the extension's whole life (0.7 MB of its 12 idle).
    static func main() {
        // The extension's path parses no command line: with no argument there is nothing to parse.
        if CommandLine.arguments.count == 1 {
            // Here, on the main thread, before any other thread starts: malloc gives each thread
            // that allocates before the setting an arena of its own.
            MallocTuning.apply()
            // One thread for all of the extension's work and I/O: this one (see OneThread).
            OneThread.run { await Sluice.runExtension() }
            Glibc.exit(70)
        }
        Task.detached {
            await Sluice.command.main(Array(CommandLine.arguments.dropFirst()), version: ForwarderExtension.version)
        }
        while true { pause() }
    }
}

enum Sluice {
    static let command = Command(
        name: "sluice",
        abstract: "A durable Lambda telemetry forwarder into OpenSearch.",
        discussion: """
            With no arguments, runs as an AWS Lambda extension: reads its configuration from the \
            environment (see the README), subscribes to the Telemetry API and ships into OpenSearch.
            """,
        subcommands: [SpoolCommand.command, OpenSearchCommand.command]
    )

    /// Runs as the Lambda extension and exits.
    static func runExtension() async -> Never {
        let environment = ProcessEnvironment.all()
        guard let runtimeAPI = environment["AWS_LAMBDA_RUNTIME_API"], !runtimeAPI.isEmpty else {
            Terminal.error(
                "sluice: AWS_LAMBDA_RUNTIME_API is not set: the extension runs inside Lambda; "
                    + "use a subcommand here (sluice --help)")
            Glibc.exit(64)
        }
        let name = CommandLine.arguments.first.map { String($0.split(separator: "/").last ?? "") } ?? "sluice"
        let api = ExtensionsClient(runtimeAPI: runtimeAPI, name: name, httpClient: ExtensionsClient.makeHTTPClient())
        let status = await ForwarderExtension(
            environment: environment, api: api, clock: OneThread.clock, realTime: OneThread.clock
        ) { level in
            var logger = Logger(label: "sluice", factory: { StreamLogHandler.standardError(label: $0) })
            logger.logLevel = level
            return logger
        }.run()
        fflush(nil)
        // Exit here rather than return: the HTTP clients are not shut down, and need not be.
        Glibc.exit(status)
    }
}

/// The process environment as a dictionary, without Foundation.
enum ProcessEnvironment {
    static func all() -> [String: String] {
        var result: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            cursor += 1
        }
        return result
    }
}
