import SluiceForwarder

/// `sluice opensearch setup`: index templates and retention, idempotent, saying what it did.
struct SetupCommand {
    static let command = Command(
        name: "setup",
        abstract:
            "Create or update Sluice's index templates and retention policy; says what it created, changed or left.",
        discussion: """
            Reads the same environment variables as the extension (export them as the function has \
            them, credentials included). Puts an index template for each index (sluice-platform, \
            sluice-function, sluice-extension, sluice-invocations) covering its date-pattern names, \
            and an ISM policy (sluice-retention) that deletes those indices after --retention-days; \
            on a cluster without ISM it says so and goes on. Running it again changes nothing.
            """,
        options: [
            .value("retention-days", "days", help: "Delete indices this many days old (1-3650).", default: "30"),
            .value(
                "dashboards-url", "url",
                help:
                    "OpenSearch Dashboards' URL (https://DOMAIN/_dashboards on Amazon OpenSearch Service): import the Lambda dashboard there."
            ),
            .value(
                "tenant", "tenant",
                help: "With multi-tenancy: the tenant to import into (global, private or a tenant's name)."),
        ],
        run: { try await SetupCommand($0).run() })

    let retentionDays: Int
    let dashboardsURL: String?
    let tenant: String?

    init(_ arguments: ParsedArguments) throws(UsageError) {
        retentionDays = try arguments.integer("retention-days", default: 30)
        dashboardsURL = arguments.string("dashboards-url")
        tenant = arguments.string("tenant")
        guard (1...3650).contains(retentionDays) else {
            throw UsageError("--retention-days must be from 1 to 3650, not \(retentionDays)")
        }
        if let dashboardsURL, let problem = ClusterSetup.dashboardsURLProblem(dashboardsURL) {
            throw UsageError(problem)
        }
    }

    func run() async throws {
        let setup = ClusterSetup(
            environment: ProcessEnvironment.all(), retentionDays: retentionDays, dashboardsURL: dashboardsURL,
            tenant: tenant)
        let ok = await setup.run { step in
            let outcome =
                step.outcome.rawValue + String(repeating: " ", count: max(1, 10 - step.outcome.rawValue.count))
            print("\(outcome)\(step.what): \(step.detail)")
        }
        if !ok { throw ExitCode(1) }
    }
}
