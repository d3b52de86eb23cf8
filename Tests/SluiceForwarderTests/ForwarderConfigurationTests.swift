import Foundation
import SluiceForwarder
import SluiceOpenSearch
import SluiceSpool
import SluiceTestSupport
import Testing

@Suite struct ForwarderConfigurationTests {
    let base = ["URL": "https://search-logs.eu-west-1.es.amazonaws.com", "AWS_REGION": "eu-west-1"]

    func read(_ extra: [String: String]) -> (ForwarderConfiguration, [ForwarderError]) {
        ForwarderConfiguration.fromEnvironment(base.merging(extra) { $1 })
    }

    @Test func theSamplesVariablesBehaveAsTheyDid() {
        let (configuration, problems) = read([
            "AUTH_SECRET": "arn:aws:secretsmanager:eu-west-1:123:secret:os", "PLATFORM_INDEX": "platform",
            "FUNCTION_INDEX": "fn-%Y.%m.%d", "EXTENSION_INDEX": "ext", "DISPATCH_MIN_BATCH_SIZE": "5",
        ])
        #expect(problems.isEmpty)
        #expect(configuration.openSearch.endpoint == "https://search-logs.eu-west-1.es.amazonaws.com")
        #expect(configuration.openSearch.auth == .secret(id: "arn:aws:secretsmanager:eu-west-1:123:secret:os"))
        #expect(configuration.platformIndex.pattern == "platform")
        #expect(configuration.functionIndex.name(eventTime: 0) == "fn-1970.01.01")
        #expect(configuration.extensionIndex.pattern == "ext")
        #expect(configuration.dispatchMinBatchSize == 5)
    }

    @Test func invocationSummariesGoToTheirIndexOrNowhere() {
        #expect(read([:]).0.invocationIndex?.pattern == "lambda-invocations")
        #expect(read(["INVOCATION_INDEX": "inv-%Y.%m"]).0.invocationIndex?.pattern == "inv-%Y.%m")
        let (off, none) = read(["INVOCATION_INDEX": ""])
        #expect(off.invocationIndex == nil, "empty: no summaries")
        #expect(none.isEmpty)
        let (bad, problems) = read(["INVOCATION_INDEX": "Invocations"])
        #expect(bad.invocationIndex?.pattern == "lambda-invocations")
        #expect(problems.map(\.variable) == ["INVOCATION_INDEX"])
    }

    @Test func defaultsWhereNothingIsSet() {
        let (configuration, problems) = read([:])
        #expect(problems.isEmpty)
        #expect(configuration.openSearch.auth == OpenSearchAuth.none)
        #expect(configuration.platformIndex.pattern == "lambda-platform")
        #expect(configuration.spool.path == SpoolConfiguration.defaultPath)
        #expect(configuration.spool.capBytes == 64 << 20)
        #expect(configuration.spool.overflowPolicy == .dropOldest)
        #expect(configuration.schemaVersion == "2022-12-13")
        #expect(configuration.failMode == .open)
        #expect(configuration.flushPolicy == .background)
        #expect(configuration.openSearch.compress)
        #expect(configuration.openSearch.verifyTLS)
    }

    @Test func everySluiceVariableIsRead() {
        let (configuration, problems) = read([
            "SLUICE_AUTH": "sigv4", "SLUICE_SIGV4_SERVICE": "aoss", "SLUICE_ID_FIELD": "event_id",
            "SLUICE_TLS_VERIFY": "false", "SLUICE_COMPRESSION": "none", "SLUICE_BATCH_MAX_BYTES": "2MiB",
            "SLUICE_BATCH_MAX_DOCS": "1_000", "SLUICE_RETRY_MAX_ATTEMPTS": "3", "SLUICE_SPOOL_PATH": "/tmp/x/s.sqlite",
            "SLUICE_SPOOL_CAP": "128M", "SLUICE_SPOOL_OVERFLOW": "reject-new", "SLUICE_FLUSH": "periodic:30",
            "SLUICE_FLUSH_BUDGET_MS": "250", "SLUICE_SCHEMA_VERSION": "2025-01-29", "SLUICE_BUFFER_MAX_ITEMS": "2000",
            "SLUICE_LOG_LEVEL": "debug", "SLUICE_FAIL_MODE": "closed", "SLUICE_DATA_STREAMS": "true",
        ])
        #expect(problems.isEmpty)
        #expect(configuration.openSearch.auth == .sigV4(service: "aoss", region: "eu-west-1"))
        #expect(configuration.openSearch.idPlacement == .field("event_id"))
        #expect(!configuration.openSearch.verifyTLS)
        #expect(!configuration.openSearch.compress)
        #expect(configuration.openSearch.maxBatchBytes == 2 << 20)
        #expect(configuration.openSearch.maxBatchCount == 1_000)
        #expect(configuration.openSearch.retry.maxAttempts == 3)
        #expect(configuration.openSearch.dataStreams)
        #expect(configuration.spool.path == "/tmp/x/s.sqlite")
        #expect(configuration.spool.capBytes == 128 << 20)
        #expect(configuration.spool.overflowPolicy == .rejectNew)
        #expect(configuration.flushPolicy == .periodic(seconds: 30))
        #expect(configuration.flushBudgetMilliseconds == 250)
        #expect(configuration.schemaVersion == "2025-01-29")
        #expect(configuration.bufferMaxItems == 2_000)
        #expect(configuration.logLevel == "debug")
        #expect(configuration.failMode == .closed)
    }

    @Test func rulesAndLabelsAreReadInOrderCustomFirst() {
        let (configuration, problems) = read([
            "SLUICE_MASK": "email,jwt",
            "SLUICE_RULES": #"[{"type":"exclude_at_match","name":"health","pattern":"GET /health"}]"#,
            "SLUICE_MIN_LEVEL": "warn", "SLUICE_PLATFORM_EVENTS": "platform.report,initReport",
            "SLUICE_LABELS": "team=payments, env=prod",
        ])
        #expect(problems.isEmpty)
        #expect(configuration.warnings.isEmpty)
        #expect(configuration.rules.rules.map(\.name) == ["health", "email", "jwt"])
        #expect(configuration.rules.minimumLevel == .warn)
        #expect(configuration.rules.platformEvents == ["platform.report", "platform.initReport"])
        #expect(configuration.labels.map(\.key) == ["team", "env"])
        #expect(configuration.labels.map(\.value) == ["payments", "prod"])
        // The defaults: no rule at all.
        let (plain, _) = read(["SLUICE_MIN_LEVEL": "TRACE", "SLUICE_PLATFORM_EVENTS": "all"])
        #expect(plain.rules.isEmpty)
    }

    @Test func badRulesFailOpenOneLineEachNamingTheVariableAndTheRule() {
        let (configuration, problems) = read([
            "SLUICE_MASK": "email,phone",
            "SLUICE_RULES": #"[{"type":"mask_sequences","name":"ssn","pattern":"(\\d{3}","replace_placeholder":"x"}]"#,
            "SLUICE_MIN_LEVEL": "loud", "SLUICE_PLATFORM_EVENTS": "platform.nope", "SLUICE_LABELS": "team",
        ])
        // Not a configuration problem that stops shipping: the valid rules apply.
        #expect(problems.isEmpty)
        #expect(configuration.rules.rules.map(\.name) == ["email"])
        #expect(configuration.rules.minimumLevel == nil)
        let lines = configuration.warnings
        #expect(
            lines.map(\.variable) == [
                "SLUICE_RULES", "SLUICE_MASK", "SLUICE_MIN_LEVEL", "SLUICE_PLATFORM_EVENTS", "SLUICE_LABELS",
            ])
        #expect(lines[0].message.contains("rule 1 (\"ssn\")") && lines[0].message.contains("at character"))
        #expect(lines[1].message.contains("\"phone\""))
        #expect(!lines.contains { $0.message.contains("\n") })
        #expect(lines[1].message.hasSuffix("it is left out, the other rules apply"))
    }

    @Test func badRulesUnderFailModeClosedSayTheExtensionDoesNotStart() {
        let (configuration, problems) = read([
            "SLUICE_FAIL_MODE": "closed", "SLUICE_MASK": "email,phone", "SLUICE_MIN_LEVEL": "loud",
        ])
        #expect(problems.isEmpty)
        #expect(configuration.warnings.map(\.variable) == ["SLUICE_MASK", "SLUICE_MIN_LEVEL"])
        for line in configuration.warnings.map(\.message) {
            #expect(line.hasSuffix("SLUICE_FAIL_MODE=closed: sluice does not start until it is fixed"), "\(line)")
            #expect(!line.contains("left out") && !line.contains("is kept"), "\(line)")
        }
    }

    @Test func everyMistakeIsOneLineNamingTheVariableAndTheFix() {
        let (configuration, problems) = ForwarderConfiguration.fromEnvironment([
            "PLATFORM_INDEX": "Platform", "DISPATCH_MIN_BATCH_SIZE": "many", "SLUICE_SPOOL_CAP": "lots",
            "SLUICE_FLUSH": "sometimes", "SLUICE_BUFFER_MAX_ITEMS": "10", "SLUICE_AUTH": "basic",
            "SLUICE_TLS_VERIFY": "maybe", "SLUICE_PASSWORD": "hunter2",
        ])
        #expect(problems.count == 8)
        for (variable, fix) in [
            ("URL", "set it"), ("PLATFORM_INDEX", "lowercase"), ("DISPATCH_MIN_BATCH_SIZE", "whole number"),
            ("SLUICE_SPOOL_CAP", "64MiB"), ("SLUICE_FLUSH", "end, background or periodic:N"),
            ("SLUICE_BUFFER_MAX_ITEMS", "1000 to 10000"), ("SLUICE_USERNAME", "set both"),
            ("SLUICE_TLS_VERIFY", "true or false"),
        ] {
            #expect(
                problems.contains {
                    $0.code == .configuration && $0.message.contains(variable) && $0.message.contains(fix)
                },
                "\(variable)")
        }
        #expect(!problems.map(\.message).joined().contains("hunter2"), "no password in a problem line")
        #expect(!problems.contains { $0.message.contains("\n") })
        // What was wrong falls back to its default; the rest still applies.
        #expect(configuration.platformIndex.pattern == "lambda-platform")
        #expect(configuration.dispatchMinBatchSize == 1)
        #expect(configuration.bufferMaxItems == 1_000)
    }

    @Test func theProblemLinesAreTheseInThisOrder() {
        let example = "https://search-logs-abc123.eu-west-1.es.amazonaws.com"
        let (_, missing) = ForwarderConfiguration.fromEnvironment([
            "PLATFORM_INDEX": "Platform", "DISPATCH_MIN_BATCH_SIZE": "many", "SLUICE_SPOOL_CAP": "lots",
            "SLUICE_FLUSH": "sometimes", "SLUICE_BUFFER_MAX_ITEMS": "10", "SLUICE_AUTH": "basic",
            "SLUICE_TLS_VERIFY": "maybe", "SLUICE_PASSWORD": "hunter2",
        ])
        #expect(
            missing.map(\.message).filter { !$0.hasPrefix("PLATFORM_INDEX=Platform cannot name an OpenSearch index: ") }
                == [
                    "URL is not set: set it to your OpenSearch endpoint, e.g. \(example)",
                    "SLUICE_AUTH=basic needs SLUICE_USERNAME and SLUICE_PASSWORD: set both",
                    "SLUICE_TLS_VERIFY=maybe must be true or false; unset it for the default true",
                    "SLUICE_SPOOL_CAP=lots must be a size from 1048576 to 10737418240 bytes, e.g. 64MiB",
                    "SLUICE_FLUSH=sometimes is not a flush policy: use end, background or periodic:N",
                    "DISPATCH_MIN_BATCH_SIZE=many must be a whole number from 0 to 1000000; unset it for the default 1",
                    "SLUICE_BUFFER_MAX_ITEMS=10 must be a whole number from 1000 to 10000; unset it for the default 1000",
                ])
        #expect(missing.map(\.variable)[5] == "PLATFORM_INDEX")

        let (configuration, wrong) = ForwarderConfiguration.fromEnvironment([
            "URL": "ftp://logs", "SLUICE_AUTH": "kerberos", "AUTH_SECRET": "os", "SLUICE_COMPRESSION": "Brotli",
            "SLUICE_SPOOL_MAX_FILE_BYTES": "1K", "SLUICE_FLUSH": "periodic:0",
        ])
        #expect(
            wrong.map(\.message) == [
                "URL=ftp://logs is not an http(s) URL: set it to e.g. \(example)",
                "SLUICE_AUTH=kerberos must be one of none, basic, secret, sigv4; unset it for the default secret",
                "SLUICE_COMPRESSION=Brotli must be one of gzip, none; unset it for the default gzip",
                "SLUICE_SPOOL_MAX_FILE_BYTES=1K must be a size from 1048576 to 10737418240 bytes, e.g. 64MiB",
                "SLUICE_FLUSH=periodic:0: write periodic:N with N whole seconds ≥ 1, e.g. periodic:60",
            ])
        #expect(
            wrong.map(\.variable) == [
                "URL", "SLUICE_AUTH", "SLUICE_COMPRESSION", "SLUICE_SPOOL_MAX_FILE_BYTES", "SLUICE_FLUSH",
            ])
        // An unknown mode falls back to the automatic one.
        #expect(configuration.openSearch.auth == .secret(id: "os"))

        let (_, noSecret) = read(["SLUICE_AUTH": "secret"])
        #expect(noSecret.map(\.message) == ["SLUICE_AUTH=secret needs AUTH_SECRET: set it to the secret's name or ARN"])
    }

    @Test(
        arguments: [
            ("http://127.0.0.1:99999", "the port 99999 is out of range"),
            ("http://127.0.0.1:41001#x", "#fragment"),
            ("http://[::1", "no closing ]"),
            ("http://user:hun/ter2@127.0.0.1:41001", "percent-encode /, ?, # and @"),
            ("HTTPS://user:hunter2@127.0.0.1:41007/%", nil),
        ] as [(String, String?)])
    func aURLIsReadByTheClientsOwnParserAndItsPasswordNeverShown(url: String, reason: String?) {
        let (configuration, problems) = read(["URL": url])
        if let reason {
            #expect(problems.map(\.variable) == ["URL"])
            let line = problems.first?.message ?? ""
            #expect(line.hasPrefix("URL=") && line.contains(" cannot be used: ") && line.contains(reason), "\(line)")
        } else {
            #expect(problems.isEmpty, "an upper-case scheme is a scheme: \(problems)")
        }
        for line in problems.map(\.message) + ForwarderConfiguration.settings(["URL": url]).map(\.value) {
            #expect(!line.contains("hunter2") && !line.contains("ter2"), "\(line)")
        }
        _ = configuration
    }

    @Test(arguments: ["HTTPS://user:hunter2@127.0.0.1:41007", "user:hunter2@127.0.0.1:41001", "hxxp://user:hunter2@h"])
    func aURLThatIsNotHTTPIsShownWithoutItsCredentials(url: String) {
        let (_, problems) = read(["URL": url])
        let lines = problems.map(\.message)
        #expect(url.hasPrefix("HTTPS") ? lines.isEmpty : lines.count == 1, "\(lines)")
        #expect(lines.allSatisfy { $0.contains("(credentials hidden)@") && !$0.contains("hunter2") }, "\(lines)")
    }

    @Test func aPasswordWithoutAUserIsSaidAndNotUsedAndAUserWithoutAPasswordStopsShipping() {
        // Open: said, the password is not used, the extension ships as it did.
        let (open, none) = read(["SLUICE_PASSWORD": "hunter2"])
        #expect(none.isEmpty)
        #expect(open.openSearch.auth == OpenSearchAuth.none)
        #expect(
            open.warnings.map(\.message) == [
                "SLUICE_PASSWORD is set without SLUICE_USERNAME: set SLUICE_USERNAME too for basic sign-in, or unset SLUICE_PASSWORD; the password is not used"
            ])
        #expect(open.warnings.map(\.variable) == ["SLUICE_PASSWORD"])
        // Closed: the extension does not start until it is fixed.
        let (closed, _) = read(["SLUICE_PASSWORD": "hunter2", "SLUICE_FAIL_MODE": "closed"])
        #expect(
            closed.warnings.first?.message.hasSuffix("SLUICE_FAIL_MODE=closed: sluice does not start until it is fixed")
                == true)
        // A user without a password was already a problem; it now names what was set.
        let (_, userOnly) = read(["SLUICE_USERNAME": "sluice"])
        #expect(
            userOnly.map(\.message) == [
                "SLUICE_USERNAME needs SLUICE_PASSWORD: set both for basic sign-in, or unset SLUICE_USERNAME"
            ])
        // With both, or with SLUICE_AUTH=basic (whose own line names both), no warning.
        #expect(read(["SLUICE_USERNAME": "u", "SLUICE_PASSWORD": "p"]).0.warnings.isEmpty)
        let (explicit, explicitProblems) = read(["SLUICE_AUTH": "basic", "SLUICE_PASSWORD": "p"])
        #expect(explicit.warnings.isEmpty)
        #expect(explicitProblems.map(\.variable) == ["SLUICE_AUTH"])
        for line in (open.warnings + closed.warnings + userOnly).map(\.message) {
            #expect(!line.contains("hunter2"))
        }
    }

    @Test func aRetryCapBelowTheBaseIsSaidAndTheCapApplies() {
        let (configuration, problems) = read(["SLUICE_RETRY_BASE_MS": "500", "SLUICE_RETRY_CAP_MS": "100"])
        #expect(problems.isEmpty)
        #expect(configuration.openSearch.retry.capMilliseconds == 100)
        #expect(
            configuration.warnings.map(\.message) == [
                "SLUICE_RETRY_CAP_MS=100 is below SLUICE_RETRY_BASE_MS=500: raise the cap or lower the base; every backoff is at most 100 ms"
            ])
        // Only the base set: the line names it, and says the cap is the default.
        let (base, _) = read(["SLUICE_RETRY_BASE_MS": "90000"])
        #expect(base.warnings.map(\.variable) == ["SLUICE_RETRY_BASE_MS"])
        #expect(base.warnings.first?.message.hasPrefix("SLUICE_RETRY_CAP_MS=60000 (the default) is below") == true)
        #expect(read(["SLUICE_RETRY_BASE_MS": "500", "SLUICE_RETRY_CAP_MS": "500"]).0.warnings.isEmpty)
    }

    /// `SLUICE_FLUSH=END` was refused (and, failing open, stopped shipping) while
    /// `SLUICE_FAIL_MODE=Closed` was taken: every choice is now read in any case.
    @Test func everyChoiceIsReadInAnyCase() throws {
        // Each auth mode has what it needs.
        let needs = ["AUTH_SECRET": "os", "SLUICE_USERNAME": "u", "SLUICE_PASSWORD": "p"]
        let readme = try String(contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let said = try #require(
            readme.components(separatedBy: "\n\n").first { $0.contains("value in any case") }, "README says it")
        var checked = 0
        for variable in ForwarderConfiguration.variables {
            let choices: [String]
            switch variable.kind {
            case .choice(let names, _), .automaticChoice(let names): choices = names
            case .flushPolicy: choices = ["end", "background", "periodic:30"]
            default: continue
            }
            #expect(said.contains("`\(variable.name)`"), "README names \(variable.name) as read in any case")
            for choice in choices {
                for spelling in [
                    choice.uppercased(), choice.lowercased(), choice.prefix(1).uppercased() + choice.dropFirst(),
                ] {
                    let (configuration, problems) = read(needs.merging([variable.name: spelling]) { $1 })
                    let lines = (problems + configuration.warnings).filter { $0.variable == variable.name }
                    #expect(lines.isEmpty, "\(variable.name)=\(spelling): \(lines.map(\.message))")
                    checked += 1
                }
            }
        }
        #expect(checked > 60)
        // What the audit tried, and the values each spelling gives.
        #expect(read(["SLUICE_FLUSH": "END"]).0.flushPolicy == .end)
        #expect(read(["SLUICE_FLUSH": "Periodic:30"]).0.flushPolicy == .periodic(seconds: 30))
        #expect(read(["SLUICE_FAIL_MODE": "Closed"]).0.failMode == .closed)
        #expect(read(["SLUICE_SPOOL_OVERFLOW": "REJECT-NEW"]).0.spool.overflowPolicy == .rejectNew)
        #expect(read(["SLUICE_COMPRESSION": "None"]).0.openSearch.compress == false)
        #expect(read(["SLUICE_LOG_LEVEL": "DEBUG"]).0.logLevel == "debug")
        #expect(
            read(["SLUICE_AUTH": "SigV4", "SLUICE_SIGV4_SERVICE": "AOSS"]).0.openSearch.auth
                == .sigV4(service: "aoss", region: "eu-west-1"))
        // A value that is no choice is shown as it was written.
        #expect(
            read(["SLUICE_FLUSH": "Sometimes"]).1.map(\.message) == [
                "SLUICE_FLUSH=Sometimes is not a flush policy: use end, background or periodic:N"
            ])
        #expect(
            read(["SLUICE_FLUSH": "PERIODIC:0"]).1.map(\.message) == [
                "SLUICE_FLUSH=PERIODIC:0: write periodic:N with N whole seconds ≥ 1, e.g. periodic:60"
            ])
    }

    @Test func theDocumentedVariablesAreTheOnesRead() {
        let names = Set(ForwarderConfiguration.variables.map(\.name))
        #expect(names.count == ForwarderConfiguration.variables.count)
        for name in [
            "URL", "AUTH_SECRET", "PLATFORM_INDEX", "FUNCTION_INDEX", "EXTENSION_INDEX", "DISPATCH_MIN_BATCH_SIZE",
        ] {
            #expect(names.contains(name))
        }
        // A typo in a documented name would leave it unread: every documented SLUICE_ variable has an effect.
        for variable in ForwarderConfiguration.variables where variable.name.hasPrefix("SLUICE_") {
            // Free text takes any value.
            switch variable.kind {
            case .text, .optionalText, .derivedText: continue
            default: break
            }
            // SIGV4 settings are read only when SigV4 is the auth mode.
            var environment = ["SLUICE_AUTH": "sigv4"]
            environment[variable.name] = "definitely-not-valid-!"
            let (configuration, problems) = read(environment)
            // A rule's problem fails open: it is reported apart.
            #expect(
                (problems + configuration.warnings).contains { $0.variable == variable.name },
                "\(variable.name) is not validated")
        }
    }

    @Test func eachDefaultIsWhatAnUnsetVariableReadsAs() {
        let (unset, _) = read([:])
        let explicit = Dictionary(
            uniqueKeysWithValues: ForwarderConfiguration.variables.compactMap { variable in
                variable.explicitDefault.map { (variable.name, $0) }
            })
        let (configuration, problems) = read(explicit)
        #expect(problems.isEmpty)
        #expect(configuration.openSearch.retry == unset.openSearch.retry)
        #expect(configuration.openSearch.maxBatchBytes == unset.openSearch.maxBatchBytes)
        #expect(configuration.openSearch.requestTimeoutMilliseconds == unset.openSearch.requestTimeoutMilliseconds)
        #expect(configuration.openSearch.verifyTLS == unset.openSearch.verifyTLS)
        #expect(configuration.platformIndex == unset.platformIndex)
        #expect(configuration.spool.path == unset.spool.path)
        #expect(configuration.spool.capBytes == unset.spool.capBytes)
        #expect(configuration.flushPolicy == unset.flushPolicy)
        #expect(configuration.bufferMaxBytes == unset.bufferMaxBytes)
        #expect(configuration.logLevel == unset.logLevel)
    }

    @Test func theReadmeTableIsTheVariablesTable() throws {
        let readme = try String(contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let lines = readme.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex(of: "| variable | default | meaning |"), "README has no table")
        let table = lines[start...].prefix { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        let rendered = ForwarderConfiguration.markdownTable()
        #expect(
            table.joined(separator: "\n") == rendered,
            "README.md's table under ## Configuration is not ForwarderConfiguration.markdownTable(); replace it with:\n\(rendered)"
        )
    }

    @Test func meaningsNameTheRangesAndChoicesOfTheirKind() {
        #expect(ConfigurationVariable.bufferMaxItems.meaning == "Telemetry API buffering, 1000-10000")
        #expect(ConfigurationVariable.compression.meaning == "gzip or none for request bodies")
        #expect(ConfigurationVariable.batchMaxBytes.defaultValue == "5MiB")
        #expect(ConfigurationVariable.spoolMaxFileBytes.defaultValue == "(none)")
        #expect(ConfigurationVariable.password.isSecret)
    }
}
