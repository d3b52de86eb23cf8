#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// `sluice`'s command line: a tree of commands, each with long options (`--name value`,
/// `--name=value`, flags), at most one positional argument, `--help` and `help`.
///
/// Its own rather than ArgumentParser's: that package imports FoundationEssentials, which was a
/// quarter of the layer's zip for two uses (an error's description and a JSON encoder).
struct Command: Sendable {
    let name: String
    let abstract: String
    var discussion = ""
    var options: [Option] = []
    /// The positional argument, if the command takes one: its name in the usage line and help.
    var argument: Option?
    var subcommands: [Command] = []
    /// What the command does; nil for a group of subcommands (which prints its help).
    var run: (@Sendable (ParsedArguments) async throws -> Void)?
}

/// A long option: a flag when it takes no value.
struct Option: Sendable {
    let name: String
    /// The value's name in the usage line; nil for a flag.
    let valueName: String?
    let help: String
    /// What the command uses when the option is not given, for the help.
    var defaultValue: String?

    static func flag(_ name: String, help: String) -> Option {
        Option(name: name, valueName: nil, help: help)
    }

    static func value(_ name: String, _ valueName: String, help: String, default value: String? = nil) -> Option {
        Option(name: name, valueName: valueName, help: help, defaultValue: value)
    }

    var isFlag: Bool { valueName == nil }
}

/// A command line that does not fit its command: printed with the usage, exit status 64.
struct UsageError: Error {
    let message: String

    init(_ message: String) { self.message = message }
}

/// Ends the command with `status`, having said what there was to say.
struct ExitCode: Error {
    let status: Int32

    init(_ status: Int32) { self.status = status }
}

/// The options and argument given to one command.
struct ParsedArguments: Sendable {
    var values: [String: String] = [:]
    var flags: Set<String> = []
    var argument: String?

    func flag(_ name: String) -> Bool { flags.contains(name) }

    func string(_ name: String) -> String? { values[name] }

    /// The whole number given as `--name`, or `value` when it is not given.
    func integer(_ name: String, default value: Int) throws(UsageError) -> Int {
        guard let text = values[name] else { return value }
        guard let number = Int(text) else { throw UsageError("--\(name) takes a whole number, not '\(text)'") }
        return number
    }
}

extension Command {
    /// Parses `arguments` (without the program's name) against this command tree, runs the
    /// command they name, and exits: 0 when it ran, 64 for a usage error, else what it threw.
    func main(_ arguments: [String], version: String) async -> Never {
        var path = [self]
        var rest = arguments[...]
        if rest.first == "help" {
            rest = rest.dropFirst()
            while let name = rest.first, let next = path.last!.subcommands.first(where: { $0.name == name }) {
                path.append(next)
                rest = rest.dropFirst()
            }
            print(Self.help(path))
            exit(0)
        }
        while let name = rest.first, !name.hasPrefix("-"), !path.last!.subcommands.isEmpty {
            guard let next = path.last!.subcommands.first(where: { $0.name == name }) else {
                Self.fail(UsageError("unknown subcommand '\(name)'"), path)
            }
            path.append(next)
            rest = rest.dropFirst()
        }
        let command = path.last!
        var parsed = ParsedArguments()
        while let word = rest.popFirst() {
            if word == "--help" || word == "-h" {
                print(Self.help(path))
                exit(0)
            }
            if word == "--version" && path.count == 1 {
                print(version)
                exit(0)
            }
            guard word.hasPrefix("--"), word.count > 2 else {
                guard command.argument != nil, parsed.argument == nil, word == "-" || !word.hasPrefix("-") else {
                    Self.fail(UsageError("unexpected argument '\(word)'"), path)
                }
                parsed.argument = word
                continue
            }
            let body = word.dropFirst(2)
            let name = String(body.prefix { $0 != "=" })
            let inline = body.firstIndex(of: "=").map { String(body[body.index(after: $0)...]) }
            guard let option = command.options.first(where: { $0.name == name }) else {
                Self.fail(UsageError("unknown option '--\(name)'"), path)
            }
            if option.isFlag {
                guard inline == nil else { Self.fail(UsageError("--\(name) takes no value"), path) }
                parsed.flags.insert(name)
            } else if let value = inline ?? rest.popFirst() {
                parsed.values[name] = value
            } else {
                Self.fail(UsageError("--\(name) needs a value (\(option.valueName ?? "value"))"), path)
            }
        }
        guard let run = command.run else {
            print(Self.help(path))
            exit(0)
        }
        do {
            try await run(parsed)
            Self.finishOutput()
            exit(0)
        } catch let error as UsageError {
            Self.fail(error, path)
        } catch let code as ExitCode {
            Self.finishOutput()
            exit(code.status)
        } catch {
            fflush(nil)
            Terminal.error("sluice: \(error)")
            exit(1)
        }
    }

    /// Flushes standard output; if any of it could not be written (a full disk, a closed file),
    /// says so and exits 1, so that a script never takes a cut-off export for a whole one.
    private static func finishOutput() {
        let output = stdout
        let flushed = fflush(output) == 0
        let reason = errno
        guard !flushed || ferror(output) != 0 else { return }
        let why = flushed ? "" : " (\(String(cString: strerror(reason))))"
        Terminal.error("sluice: could not write all of the output\(why): what was written is incomplete")
        exit(1)
    }

    private static func fail(_ error: UsageError, _ path: [Command]) -> Never {
        fflush(nil)
        let name = path.map(\.name).joined(separator: " ")
        Terminal.error("Error: \(error.message)\n\(usage(path))\n  See '\(name) --help' for more information.")
        exit(64)
    }

    private static func usage(_ path: [Command]) -> String {
        let command = path.last!
        var words = ["Usage:", path.map(\.name).joined(separator: " ")]
        if !command.subcommands.isEmpty { words.append("<subcommand>") }
        for option in command.options {
            words.append(option.isFlag ? "[--\(option.name)]" : "[--\(option.name) <\(option.valueName!)>]")
        }
        if let argument = command.argument { words.append("<\(argument.name)>") }
        return words.joined(separator: " ")
    }

    /// The help of the last command of `path`: what it does, its usage, options and subcommands.
    static func help(_ path: [Command]) -> String {
        let command = path.last!
        var lines = ["OVERVIEW: " + command.abstract]
        if !command.discussion.isEmpty { lines += [""] + wrap(command.discussion, indent: 0) }
        lines += ["", "USAGE: " + usage(path).dropFirst("Usage: ".count)]
        if let argument = command.argument {
            lines += ["", "ARGUMENTS:"] + row("<\(argument.name)>", argument.help)
        }
        lines += ["", "OPTIONS:"]
        for option in command.options {
            let left = option.isFlag ? "--\(option.name)" : "--\(option.name) <\(option.valueName!)>"
            lines += row(left, option.help + (option.defaultValue.map { " (default: \($0))" } ?? ""))
        }
        if path.count == 1 { lines += row("--version", "Show the version.") }
        lines += row("-h, --help", "Show help information.")
        if !command.subcommands.isEmpty {
            lines += ["", "SUBCOMMANDS:"]
            for subcommand in command.subcommands { lines += row(subcommand.name, subcommand.abstract) }
            let name = path.map(\.name).joined(separator: " ")
            lines += ["", "  See '\(name) <subcommand> --help' for detailed help."]
        }
        return lines.joined(separator: "\n")
    }

    private static let helpColumn = 26

    /// `left` in the first column, `text` wrapped in the second.
    private static func row(_ left: String, _ text: String) -> [String] {
        var lines = wrap(text, indent: helpColumn)
        let head = "  " + left
        if head.count < helpColumn - 1 {
            lines[0] = head + String(repeating: " ", count: helpColumn - head.count) + lines[0].dropFirst(helpColumn)
        } else {
            lines.insert(head, at: 0)
        }
        return lines
    }

    /// `text` in lines of at most 100 characters, each indented by `indent` spaces.
    private static func wrap(_ text: String, indent: Int) -> [String] {
        let pad = String(repeating: " ", count: indent)
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = ""
            for word in paragraph.split(separator: " ") {
                if !line.isEmpty && indent + line.count + 1 + word.count > 100 {
                    lines.append(pad + line)
                    line = ""
                }
                line += (line.isEmpty ? "" : " ") + word
            }
            lines.append(pad + line)
        }
        return lines
    }
}
