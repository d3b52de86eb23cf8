import SluiceForwarder
import SluiceOpenSearch
import SluiceSpool
import Testing

@Suite struct ForwarderConfigurationTests {
    let base = ["URL": "https://search-logs.eu-west-1.es.amazonaws.com", "AWS_REGION": "eu-west-1"]

    func read(_ extra: [String: String]) -> (ForwarderConfiguration, [String]) {
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
            #expect(problems.contains { $0.contains(variable) && $0.contains(fix) }, "\(variable)")
        }
        #expect(!problems.joined().contains("hunter2"), "no password in a problem line")
        #expect(!problems.contains { $0.contains("\n") })
        // What was wrong falls back to its default; the rest still applies.
        #expect(configuration.platformIndex.pattern == "lambda-platform")
        #expect(configuration.dispatchMinBatchSize == 1)
        #expect(configuration.bufferMaxItems == 1_000)
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
            // SIGV4 settings are read only when SigV4 is the auth mode.
            var environment = ["SLUICE_AUTH": "sigv4"]
            environment[variable.name] = "definitely-not-valid-!"
            let (_, problems) = read(environment)
            let accepted = [
                "SLUICE_SPOOL_PATH", "SLUICE_ID_FIELD", "SLUICE_USERNAME", "SLUICE_PASSWORD", "SLUICE_SIGV4_REGION",
            ]
            if !accepted.contains(variable.name) {
                #expect(problems.contains { $0.contains(variable.name) }, "\(variable.name) is not validated")
            }
        }
    }
}
