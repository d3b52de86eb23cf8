import Foundation
import LambdaSimulator
import Logging
import SluiceTestSupport

/// The scripted extension of `Tests/Fixtures/mini_extension.py`, configured by its `MINI_*`
/// variables, with a folder of its own for what it records.
final class MiniExtension: Sendable {
    let folder: TemporaryFolder
    let configuration: SimulatorConfiguration

    init(
        _ variables: [String: String] = [:],
        configure: (inout SimulatorConfiguration) -> Void = { _ in }
    ) throws {
        folder = try TemporaryFolder()
        var configuration = SimulatorConfiguration(
            extensionPath: packageRoot.appendingPathComponent("Tests/Fixtures/mini_extension.py").path)
        configuration.environment = variables.merging(["MINI_OUT": folder.path]) { $1 }
        configuration.functionTimeout = .seconds(3)
        configuration.redeliveryBackoff = .milliseconds(20)
        configuration.maximumRedeliveryBackoff = .milliseconds(200)
        configure(&configuration)
        self.configuration = configuration
    }

    /// The simulator's log: silent, or on stderr at debug level with LAMBDA_SIMULATOR_DEBUG=1.
    var logger: Logger {
        guard ProcessInfo.processInfo.environment["LAMBDA_SIMULATOR_DEBUG"] == "1" else {
            return Logger(label: "lambda-simulator", factory: { _ in SwiftLogNoOpLogHandler() })
        }
        var logger = Logger(label: "lambda-simulator") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = Logger.Level.debug
        logger[metadataKey: "test.folder"] = "\(folder.path)"
        return logger
    }

    /// The lines of one of the fixture's record files.
    func records(_ file: String) -> [JSON] {
        let text = (try? String(contentsOfFile: folder.file(file), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { JSON.parse(String($0)) }
    }

    /// Every event the fixture acknowledged, as delivered (`{time, type, record}`).
    var storedEvents: [JSON] { records("events.jsonl").compactMap { $0["event"] } }

    /// The events the fixture got from `/next`.
    var nextEvents: [JSON] { records("lifecycle.jsonl").filter { $0["step"] == "event" }.compactMap { $0["event"] } }

    func lifecycle(_ step: String) -> [JSON] { records("lifecycle.jsonl").filter { $0["step"] == .string(step) } }
}

extension Array where Element: Hashable {
    /// How many times each element occurs, to compare collections regardless of order.
    var counted: [Element: Int] { reduce(into: [:]) { $0[$1, default: 0] += 1 } }
}
