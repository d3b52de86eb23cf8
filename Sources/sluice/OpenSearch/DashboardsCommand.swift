import SluiceForwarder
import SluiceIngest

/// `sluice opensearch dashboards`: the saved objects as NDJSON, for importing by hand.
enum DashboardsCommand {
    static let command = Command(
        name: "dashboards",
        abstract: "Write the Lambda dashboard's saved objects (NDJSON) to stdout, for Dashboards' import.",
        discussion: """
            Index patterns follow PLATFORM_INDEX, FUNCTION_INDEX, EXTENSION_INDEX and INVOCATION_INDEX \
            as the extension reads them. Import the file in OpenSearch Dashboards under Dashboards \
            Management → Saved objects → Import (overwrite), or with POST \
            /_dashboards/api/saved_objects/_import?overwrite=true (multipart field file, header \
            osd-xsrf: true).
            """,
        run: { _ in try reportingFailures { try write() } })

    static func write() throws {
        var environment = ProcessEnvironment.all()
        // Only the index variables matter here: no URL is needed to write a file.
        if environment["URL"] == nil { environment["URL"] = "http://127.0.0.1:9200" }
        let (configuration, problems) = ForwarderConfiguration.fromEnvironment(environment)
        if let problem = problems.first(where: { $0.variable?.hasSuffix("_INDEX") == true }) {
            throw CommandFailure(problem.message, exitCode: 64)
        }
        let routing = IndexRouting(
            platform: configuration.platformIndex, function: configuration.functionIndex,
            extension: configuration.extensionIndex, invocation: configuration.invocationIndex)
        print(LambdaDashboard.ndjson(routing), terminator: "")
    }
}
