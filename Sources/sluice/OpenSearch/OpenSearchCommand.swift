import SluiceForwarder

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// `sluice opensearch …`: the cluster side, with the extension's configuration and credentials.
enum OpenSearchCommand {
    static let command = Command(
        name: "opensearch",
        abstract:
            "The OpenSearch side, configured as the extension is (URL, AUTH_SECRET, SLUICE_*): check, setup, dashboards.",
        subcommands: [ConnectionCheckCommand.command, SetupCommand.command, DashboardsCommand.command]
    )
}

/// `sluice opensearch check`: every step from the configuration to a written document, each with
/// its answer, and one line that says what to fix.
enum ConnectionCheckCommand {
    static let command = Command(
        name: "check",
        abstract: "Check that Sluice can ship to OpenSearch as configured, and say what to fix.",
        discussion: """
            Reads the same environment variables as the extension (export them as the function has \
            them, credentials included), then resolves the host, connects, signs in, reads the \
            cluster's version, and creates, writes to and deletes an index named like the function \
            index with -sluice-check. Exits 0 when everything passed, 1 otherwise. Never prints a secret.
            """,
        run: { _ in try await run() })

    static func run() async throws {
        let width = 14
        var warnings = 0
        let fix = await ConnectionCheck(environment: ProcessEnvironment.all()).run { step in
            let mark =
                switch step.outcome {
                case .ok: "ok  "
                case .failed: "FAIL"
                case .skipped: "skip"
                case .note: "note"
                case .warning: "warn"
                }
            if step.outcome == .warning { warnings += 1 }
            let name = step.name + String(repeating: " ", count: max(1, width - step.name.count))
            print("\(mark)  \(name)\(step.detail)")
        }
        if let fix {
            print("fix: \(fix)")
            fflush(nil)
            throw ExitCode(1)
        }
        print(
            "ready: Sluice can ship to OpenSearch as configured"
                + (warnings == 0 ? "" : " (but see the warning\(warnings == 1 ? "" : "s") above)"))
    }
}
