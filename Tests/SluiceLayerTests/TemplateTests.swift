import Foundation
import SluiceForwarder
import SluiceTestSupport
import Testing

/// `deploy/template.yaml` sets every variable the extension reads, each to its default.
@Suite struct TemplateTests {
    /// NAME -> value of the example function's environment, comments and quotes removed.
    static func templateVariables() throws -> [String: String] {
        let text = try String(
            contentsOf: packageRoot.appendingPathComponent("deploy/template.yaml"), encoding: .utf8)
        var variables: [String: String] = [:]
        var inside = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("        Variables:") {
                inside = true
                continue
            }
            guard inside else { continue }
            let trimmed = line.drop { $0 == " " }
            if trimmed.hasPrefix("#") { continue }
            // The block ends at the first line indented less than its entries.
            guard line.hasPrefix("          "), let colon = trimmed.firstIndex(of: ":") else { break }
            var value = trimmed[trimmed.index(after: colon)...].drop { $0 == " " }
            if let comment = value.range(of: " #") { value = value[..<comment.lowerBound] }
            let unquoted = String(value).trimmingCharacters(in: .whitespaces)
                .trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            variables[String(trimmed[..<colon])] = unquoted
        }
        return variables
    }

    @Test func everyVariableIsSetToItsDefault() throws {
        let variables = try Self.templateVariables()
        for variable in ForwarderConfiguration.variables {
            guard let value = variables[variable.name] else {
                Issue.record("deploy/template.yaml does not set \(variable.name) (default \(variable.defaultValue))")
                continue
            }
            // URL, the sign-in mode and service come from the template's parameters.
            if value.hasPrefix("!") { continue }
            // Unset by default (required, none, auto or derived): an empty value.
            #expect(value == variable.explicitDefault ?? "", "\(variable.name)")
        }
    }

    @Test func theTemplateSetsNoVariableTheExtensionDoesNotRead() throws {
        let known = Set(ForwarderConfiguration.variables.map(\.name))
        let unknown = try Self.templateVariables().keys.filter { !known.contains($0) }
        #expect(unknown.isEmpty, "not read by the extension: \(unknown.sorted())")
    }
}
