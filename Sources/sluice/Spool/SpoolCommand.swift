import SluiceForwarder
import SluiceSpool

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `sluice spool …`: look into a spool and repair it.
enum SpoolCommand {
    static let command = Command(
        name: "spool",
        abstract: "Inspect and repair a spool: stats, peek, dead letters, invocations, export, check, vacuum.",
        subcommands: [
            Stats.command, Peek.command, Dead.command, Invocations.command, Export.command, Check.command,
            Vacuum.command,
        ]
    )
}

/// The `--path` every spool subcommand takes.
struct SpoolLocation: Sendable {
    static let option = Option.value(
        "path", "file", help: "The spool file. Default: $SLUICE_SPOOL_PATH, else \(SpoolConfiguration.defaultPath).")

    var path: String?

    init(_ arguments: ParsedArguments) { path = arguments.string("path") }

    var resolvedPath: String {
        if let path { return path }
        if let fromEnvironment = getenv("SLUICE_SPOOL_PATH").map({ String(cString: $0) }), !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return SpoolConfiguration.defaultPath
    }

    /// Opens the spool, turning a failure into one line on stderr and an exit code: 2 when there is
    /// no spool at the path, 1 for anything else. The cap is the extension's (`SLUICE_SPOOL_CAP`,
    /// read as the extension reads it), so that `stats` measures against it; a repair waits up to
    /// 30 s for the extension's write lock.
    func open(_ access: Spool.Access) throws -> Spool {
        let environment = ProcessEnvironment.all()
        var configuration = SpoolConfiguration(
            path: resolvedPath, busyTimeoutMilliseconds: access == .maintenance ? 30_000 : 5_000)
        configuration.capBytes = ForwarderConfiguration.fromEnvironment(environment).0.spool.capBytes
        do {
            return try Spool.open(configuration, access: access)
        } catch let error as SpoolError where error.code == .notFound {
            let hint: String
            if path != nil {
                hint = "check --path"
            } else if environment["SLUICE_SPOOL_PATH"]?.isEmpty == false {
                hint = "the path is SLUICE_SPOOL_PATH's; check it"
            } else {
                hint = "pass --path, or set SLUICE_SPOOL_PATH, to the spool's file"
            }
            throw CommandFailure("\(error.message): \(hint)", exitCode: 2)
        } catch let error as SpoolError {
            throw CommandFailure(error)
        }
    }
}

/// A failure already worded for the user: printed as one line, then the process exits.
struct CommandFailure: Error {
    let message: String
    let exitCode: Int32

    init(_ message: String, exitCode: Int32 = 1) {
        self.message = message
        self.exitCode = exitCode
    }

    init(_ error: SpoolError) {
        self.init(error.message, exitCode: error.code == .notFound ? 2 : 1)
    }
}

/// Runs `body`, printing a `CommandFailure` or `SpoolError` as one line on stderr.
func reportingFailures(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let failure as CommandFailure {
        Terminal.error("sluice: \(failure.message)")
        throw ExitCode(failure.exitCode)
    } catch let error as SpoolError {
        let failure = CommandFailure(error)
        Terminal.error("sluice: \(failure.message)")
        throw ExitCode(failure.exitCode)
    }
}
