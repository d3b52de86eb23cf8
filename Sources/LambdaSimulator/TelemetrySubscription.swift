/// A Telemetry API subscription as the platform accepted it.
struct TelemetrySubscription: Sendable {
    static let schemaVersions: Set<String> = ["2022-07-01", "2022-12-13", "2025-01-29"]
    static let types: Set<String> = ["platform", "function", "extension"]
    static let reservedPort = 9001

    let extensionName: String
    let schemaVersion: String
    /// Where deliveries go: the subscriber's URI with `sandbox.localdomain` resolved to loopback.
    let destination: String
    let types: [String]
    let maxItems: Int
    let maxBytes: Int
    let timeoutMs: Int

    func wants(_ event: TelemetryEvent) -> Bool { types.contains(event.category) }

    /// Reads a `PUT /2022-07-01/telemetry` body; a refusal is the ValidationError message the platform answers with.
    static func parse(_ body: [UInt8], extensionName: String) -> Result<TelemetrySubscription, ValidationFailure> {
        guard let request = JSON.parse(body), case .object = request else {
            return .failure(ValidationFailure("the body is not a JSON object"))
        }
        guard let schemaVersion = request["schemaVersion"]?.stringValue, schemaVersions.contains(schemaVersion)
        else {
            return .failure(
                ValidationFailure("schemaVersion must be one of \(schemaVersions.sorted().joined(separator: ", "))"))
        }
        guard let protocolName = request["destination"]?["protocol"]?.stringValue, protocolName == "HTTP" else {
            // TCP is a Lambda destination too, but it cannot acknowledge; the simulator only delivers over HTTP.
            return .failure(ValidationFailure("destination.protocol must be HTTP"))
        }
        let destination: String
        switch resolve(request["destination"]?["URI"]?.stringValue) {
        case .success(let resolved): destination = resolved
        case .failure(let failure): return .failure(failure)
        }
        guard let typeList = request["types"]?.arrayValue, !typeList.isEmpty,
            typeList.allSatisfy({ $0.stringValue.map(types.contains) ?? false })
        else {
            return .failure(ValidationFailure("types must be a non-empty list of platform, function, extension"))
        }
        var limits: [String: Int] = ["maxItems": 1000, "maxBytes": 262_144, "timeoutMs": 1000]
        let ranges: [(String, ClosedRange<Int>)] = [
            ("maxItems", 1000...10_000), ("maxBytes", 262_144...1_048_576), ("timeoutMs", 25...30_000),
        ]
        for (name, range) in ranges {
            guard let given = request["buffering"]?[name] else { continue }
            guard let value = given.numberValue, value == value.rounded(), range.contains(Int(value)) else {
                return .failure(
                    ValidationFailure("buffering.\(name) must be an integer in \(range.lowerBound)-\(range.upperBound)")
                )
            }
            limits[name] = Int(value)
        }
        return .success(
            TelemetrySubscription(
                extensionName: extensionName, schemaVersion: schemaVersion, destination: destination,
                types: typeList.compactMap(\.stringValue), maxItems: limits["maxItems"]!,
                maxBytes: limits["maxBytes"]!, timeoutMs: limits["timeoutMs"]!))
    }

    private static func resolve(_ uri: String?) -> Result<String, ValidationFailure> {
        let prefix = "http://sandbox.localdomain:"
        guard let uri, uri.hasPrefix(prefix) else {
            return .failure(ValidationFailure("destination.URI must be http://sandbox.localdomain:PORT/PATH"))
        }
        let rest = uri.dropFirst(prefix.count)
        let portText = rest.prefix { $0.isNumber }
        guard let port = Int(portText), (1...65_535).contains(port), port != reservedPort else {
            return .failure(ValidationFailure("destination.URI needs a port other than \(reservedPort)"))
        }
        return .success("http://127.0.0.1:\(port)\(rest.dropFirst(portText.count))")
    }
}

/// Why the Telemetry API refused a subscription (answered as 400 ValidationError).
struct ValidationFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
