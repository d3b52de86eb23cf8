import SluiceForwarder
import SluiceHTTP

/// `configuration`: an environment that sets any of the variables to values from the input (some
/// drawn from the values each kind is known to take, some the input's own bytes).
///
/// Reading it never traps; every problem is a configuration error naming a variable that is set,
/// in one line unless a value itself has a line break; and every number of the configuration is
/// in its variable's range, whatever the problems; an endpoint taken is one the HTTP client can
/// parse, and no line shows what `URL` holds before its last `@`.
enum ConfigurationOracle {
    static let interesting = [
        "", " ", "0", "1", "-1", "5_000", "9223372036854775807", "99999999999999999999", "64MiB", "1KiB", "10GB",
        "true", "no", "on", "gzip", "none", "end", "background", "periodic:5", "periodic:0", "periodic:",
        "https://search.example.com:443/", "http://", "ftp://x", "secret", "basic", "sigv4", "es", "aoss",
        "logs-%Y.%m.%d", "%H", "UPPER", "a,b", "email,ssn", "team=payments,env=prod", "=x", "WARN", "DEBUG",
        "drop-oldest", "reject-new", "open", "closed", "2022-12-13", "/tmp/x.sqlite", "_id", "[]", "[{}]",
        #"[{"type":"mask_sequences","name":"n","pattern":"a+","replace_placeholder":"x"}]"#, "platform.report",
    ]

    static func check(_ bytes: [UInt8]) -> [String] {
        var input = FuzzInput(bytes)
        var environment: [String: String] = [:]
        for variable in ConfigurationVariable.all where !input.isAtEnd {
            let choice = input.byte()
            switch choice % 4 {
            case 0: break
            case 1, 2: environment[variable.name] = interesting[Int(choice / 4) % interesting.count]
            default: environment[variable.name] = String(decoding: input.field(), as: UTF8.self)
            }
        }
        let (configuration, problems) = ForwarderConfiguration.fromEnvironment(environment)
        _ = ForwarderConfiguration.settings(environment)
        var found: [String] = []
        let anyLineBreak = environment.values.contains { $0.contains("\n") || $0.contains("\r") }
        for problem in problems + configuration.warnings {
            guard let name = problem.variable, ConfigurationVariable.all.contains(where: { $0.name == name }) else {
                found.append("a problem names no variable: \(problem.message)")
                continue
            }
            if name != ConfigurationVariable.url.name, environment[name] == nil,
                !problem.message.contains("needs")
            {
                found.append("a problem for \(name), which is not set: \(problem.message)")
            }
            if problem.message.isEmpty { found.append("an empty problem for \(name)") }
            if !anyLineBreak, problem.message.contains("\n") {
                found.append("a problem of many lines: \(problem.message)")
            }
        }
        func inRange(_ variable: ConfigurationVariable, _ value: Int) {
            switch variable.kind {
            case .integer(_, let range), .bytes(_, let range), .optionalBytes(let range):
                if !range.contains(value) { found.append("\(variable.name) is \(value), outside \(range)") }
            default: break
            }
        }
        inRange(.dispatchMinBatchSize, configuration.dispatchMinBatchSize)
        inRange(.bufferMaxItems, configuration.bufferMaxItems)
        inRange(.bufferMaxBytes, configuration.bufferMaxBytes)
        inRange(.bufferTimeout, configuration.bufferTimeoutMilliseconds)
        inRange(.flushBudget, Int(configuration.flushBudgetMilliseconds))
        inRange(.batchMaxBytes, configuration.openSearch.maxBatchBytes)
        inRange(.batchMaxDocs, configuration.openSearch.maxBatchCount)
        inRange(.requestTimeout, Int(configuration.openSearch.requestTimeoutMilliseconds))
        inRange(.retryMaxAttempts, configuration.openSearch.retry.maxAttempts)
        inRange(.spoolCap, configuration.spool.capBytes)
        if let maxFile = configuration.spool.maxFileBytes { inRange(.spoolMaxFileBytes, maxFile) }
        let endpoint = configuration.openSearch.endpoint
        let urlProblem = problems.contains { $0.variable == ConfigurationVariable.url.name }
        if !urlProblem, HTTPTarget(endpoint) == nil {
            found.append("endpoint \(endpoint.debugDescription) taken without a problem")
        }
        // No line shows what a URL holds before its last @ (a password, however mistyped).
        if let url = environment[ConfigurationVariable.url.name], let at = url.lastIndex(of: "@") {
            // A `://` after the last @ begins no user info (found by this target: `https@//h)://x`).
            let start = url[..<at].firstRange(of: "://")?.upperBound ?? url.startIndex
            // URL's own lines (another variable may hold the same text, and say it), with the @:
            // the user info as it stands before the host.
            let hidden = String(url[start...at])
            let name = ConfigurationVariable.url.name
            let lines =
                (problems + configuration.warnings).filter { $0.variable == name }.map(\.message)
                + ForwarderConfiguration.settings(environment).filter { $0.name == name }.map(\.value)
            if hidden.count >= 5, let line = lines.first(where: { $0.contains(hidden) }) {
                found.append("the user info of URL is shown: \(line)")
            }
        }
        return found
    }
}
