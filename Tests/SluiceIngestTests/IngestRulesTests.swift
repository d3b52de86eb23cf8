import Foundation
import InMemoryLogging
import Logging
import SluiceIngest
import SluiceLambda
import SluiceSpool
import SluiceTestSupport
import Testing

/// The rules as configured (parsing, failing open with positions) and as applied to lines before
/// the spool write.
struct IngestRulesTests {
    let folder: TemporaryFolder
    let spool: Spool
    let function = TelemetryDocument.Function(name: "orders", version: "1", region: "eu-west-1")

    init() throws {
        folder = try TemporaryFolder()
        spool = try openSpool(folder)
    }

    func ingestor(_ rules: IngestRules) throws -> Ingestor {
        Ingestor(
            spool: spool, document: TelemetryDocument(function: function), environmentID: try spool.environmentID(),
            indices: .init(
                platform: IndexPattern("plat"), function: IndexPattern("fn"), extension: IndexPattern("ext")),
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }, rules: rules)
    }

    static func rules(mask: String = "", custom: String = "[]") -> IngestRules {
        let (builtins, maskProblems) = IngestRules.builtins(mask)
        let (rules, ruleProblems) = IngestRules.custom(custom)
        #expect(maskProblems.isEmpty && ruleProblems.isEmpty, "\(maskProblems) \(ruleProblems)")
        return IngestRules(rules: rules + builtins)
    }

    /// The stored documents by their record's order in the delivery.
    func documents() throws -> [JSONValue] {
        try spool.peek(limit: 1000).sorted { $0.seq < $1.seq }.map {
            try JSONDecoder().decode(JSONValue.self, from: Data($0.document))
        }
    }

    static func event(_ type: String, _ record: String, time: String = TelemetryFixtures.time) -> String {
        #"{"time":"\#(time)","type":"\#(type)","record":\#(record)}"#
    }

    // MARK: Parsing

    @Test func unknownBuiltinsAreNamedAndTheKnownOnesKept() {
        let (rules, problems) = IngestRules.builtins("email, pasword ,jwt")
        #expect(rules.map(\.name) == ["email", "jwt"])
        #expect(problems.count == 1)
        #expect(problems[0].message.contains("item 2, \"pasword\""))
        #expect(IngestRules.builtins("all").0.count == BuiltinMask.allCases.count)
    }

    @Test func badCustomRulesAreNamedWithTheirPositionAndTheValidOnesKept() {
        let text = #"""
            [{"type":"mask_sequences","name":"ssn","pattern":"\\d{3}-\\d{2}-\\d{4}","replace_placeholder":"[SSN]"},
             {"type":"exclude_at_match","name":"broken","pattern":"(unclosed"},
             {"type":"exclude_at_match","name":"lazy","pattern":"a+?b"},
             {"type":"drop","name":"typo","pattern":"x"},
             {"type":"include_at_match","name":"keep","pattern":"order"}]
            """#
        let (rules, problems) = IngestRules.custom(text)
        #expect(rules.map(\.name) == ["ssn", "keep"])
        #expect(problems.count == 3)
        #expect(problems[0].message.contains("rule 2 (\"broken\")") && problems[0].message.contains("does not compile"))
        #expect(problems[1].message.contains("rule 3 (\"lazy\")") && problems[1].message.contains("lazy quantifiers"))
        // The position is in the variable's text: where `+?` is.
        let lazyOffset = Array(text.utf8).firstRange(of: Array("+?".utf8))!.lowerBound
        #expect(problems[1].position == lazyOffset)
        #expect(problems[2].message.contains("rule 4 (\"typo\")") && problems[2].message.contains("\"type\" must be"))
    }

    @Test func invalidJSONIsOneProblemWithItsOffset() {
        let (rules, problems) = IngestRules.custom(#"[{"type":"exclude_at_match","name":"x","pattern":"a"}"#)
        #expect(rules.isEmpty)
        #expect(problems.count == 1 && problems[0].message.hasPrefix("not valid JSON"))
        #expect(problems[0].position != nil)
    }

    @Test func platformEventTypesAreCheckedAndNoneIsNone() {
        let (types, problems) = IngestRules.platformEvents("platform.report, start,platform.bogus")
        #expect(types == ["platform.report", "platform.start"])
        #expect(problems.count == 1 && problems[0].message.contains("platform.bogus"))
        #expect(IngestRules.platformEvents("none").0 == [])
        #expect(IngestRules.platformEvents("all").0 == nil)
    }

    // MARK: Applying

    @Test func textAndJSONLinesAreMaskedBeforeTheSpoolAndIdsStay() throws {
        let body = TelemetryFixtures.delivery([
            Self.event("function", #""login ok for jane@example.com from 10.1.2.3\n""#),
            Self.event(
                "function",
                #"{"level":"INFO","message":"paid with 4111 1111 1111 1111","user":{"email":"bob@example.org"},"email":"key"}"#
            ),
            Self.event("extension", #""Authorization: Bearer abcdef123456""#),
            Self.event("platform.start", #"{"requestId":"r1","note":"jane@example.com"}"#),
            Self.event("function", #""nothing to see""#),
        ])
        let plain = try ingestor(IngestRules()).records(try TelemetryDelivery(validating: body))
        let masking = try ingestor(Self.rules(mask: "all"))
        #expect(masking.ingest(body) == .accepted)
        let stored = try spool.peek(limit: 100).sorted { $0.seq < $1.seq }
        // Ids come from the delivery's bytes: the same with and without rules.
        #expect(stored.map(\.id) == plain.map(\.id))
        let documents = try documents()
        #expect(documents[0]["message"]?.string == "login ok for [MASKED:email] from [MASKED:ipv4]\n")
        #expect(documents[0]["record"]?.string == "login ok for [MASKED:email] from [MASKED:ipv4]\n")
        #expect(documents[1]["message"]?.string == "paid with [MASKED:credit-card]")
        #expect(documents[1]["record"]?["user"]?["email"]?.string == "[MASKED:email]")
        #expect(documents[1]["record"]?["level"]?.string == "INFO")
        #expect(documents[1]["fields"]?["user"]?["email"]?.string == "[MASKED:email]")
        #expect(documents[2]["message"]?.string == "Authorization: Bearer [MASKED:bearer]")
        // Platform events are never changed by rules.
        #expect(documents[3]["record"]?["note"]?.string == "jane@example.com")
        #expect(documents[4]["message"]?.string == "nothing to see")
        let counters = try spool.counters().rules
        #expect(counters["email.masked"] == 2)
        #expect(counters["ipv4.masked"] == 1)
        #expect(counters["credit-card.masked"] == 1)
        #expect(counters["bearer.masked"] == 1)
    }

    @Test func excludeIncludeAndTheMinimumLevelDropLinesAndCountThem() throws {
        var rules = Self.rules(
            custom: #"""
                [{"type":"exclude_at_match","name":"health","pattern":"GET /health"},
                 {"type":"include_at_match","name":"orders-only","pattern":"(?i)order"}]
                """#)
        rules.minimumLevel = .info
        let body = TelemetryFixtures.delivery([
            Self.event("function", #""[DEBUG]\t2026-11-25T12:00:00Z\tr1\torder debug""#),
            Self.event("function", #""GET /health order 200""#),
            Self.event("function", #""Order 7 placed""#),
            Self.event("function", #"{"level":"debug","message":"order as JSON"}"#),
            Self.event("function", #"{"level":"warn","message":"ORDER late"}"#),
            Self.event("function", #""shipping label printed""#),
            Self.event("platform.report", #"{"requestId":"r1","metrics":{"durationMs":1}}"#),
        ])
        let ingest = try ingestor(rules)
        #expect(ingest.ingest(body) == .accepted)
        let messages = try documents().compactMap { $0["message"]?.string }
        #expect(messages == ["Order 7 placed", "ORDER late"])
        let counters = try spool.counters().rules
        #expect(counters["min-level.dropped"] == 2)
        #expect(counters["health.dropped"] == 1)
        #expect(counters["orders-only.dropped"] == 1)
        // A re-delivery stores nothing new and counts nothing again.
        #expect(ingest.ingest(body) == .accepted)
        #expect(try spool.counters().rules == counters)
        #expect(ingest.tallies.rules == counters)
    }

    @Test func platformEventsNotAskedForAreNotIndexedButStillJoinTheSummary() throws {
        var rules = IngestRules()
        rules.platformEvents = ["platform.report"]
        let ingest = Ingestor(
            spool: spool, document: TelemetryDocument(function: function), environmentID: try spool.environmentID(),
            indices: .init(
                platform: IndexPattern("plat"), function: IndexPattern("fn"), extension: IndexPattern("ext"),
                invocation: IndexPattern("inv")),
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }, rules: rules)
        let body = TelemetryFixtures.delivery([
            Self.event("platform.start", #"{"requestId":"r1","version":"1"}"#),
            Self.event("function", #""hello""#),
            Self.event("platform.runtimeDone", #"{"requestId":"r1","status":"success"}"#),
            Self.event(
                "platform.report",
                #"{"requestId":"r1","status":"success","metrics":{"durationMs":2.5,"billedDurationMs":3,"memorySizeMB":128,"maxMemoryUsedMB":60}}"#
            ),
        ])
        #expect(ingest.ingest(body) == .accepted)
        let types = try documents().compactMap { $0["type"]?.string }
        #expect(types == ["function", "platform.report", "sluice.invocation"])
        let summary = try documents().last!
        #expect(summary["status"]?.string == "success")
        #expect(summary["logLines"]?.double == 1)
        #expect(try spool.counters().rules["platform-events.dropped"] == 2)
    }

    @Test func escapedTextIsMaskedOnItsDecodedFormAndWrittenBackValid() throws {
        // The address follows an escaped newline and a quote: matched on the text, not the escapes.
        let body = TelemetryFixtures.delivery([
            Self.event("function", #""line one\n\"nina@example.com\" said \u00e9 \\ done""#)
        ])
        #expect(try ingestor(Self.rules(mask: "email")).ingest(body) == .accepted)
        #expect(try documents()[0]["message"]?.string == "line one\n\"[MASKED:email]\" said é \\ done")
    }

    @Test func secretsNamedByTheirJSONMemberAreMasked() throws {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        let token = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVz"
        let body = TelemetryFixtures.delivery([
            Self.event(
                "function",
                #"{"message":{"Credentials":{"AccessKeyId":"ASIAY34FZKBOKMUTVV7A","SecretAccessKey":"\#(secret)","SessionToken":"\#(token)"}}}"#
            ),
            Self.event("function", #"{"message":"loaded","aws_secret_access_key":"\#(secret)"}"#),
            // The key spelled with an escape: read as the name it is.
            Self.event(
                "function", #"{"message":"login","user":"x","pass\u0077ord":"hunter2","empty":{"password":""}}"#),
        ])
        #expect(try ingestor(Self.rules(mask: "all")).ingest(body) == .accepted)
        let documents = try documents()
        let credentials = documents[0]["record"]?["message"]?["Credentials"]
        #expect(credentials?["SecretAccessKey"]?.string == "[MASKED:aws-secret-key]")
        #expect(credentials?["SessionToken"]?.string == "[MASKED:aws-session-token]")
        #expect(credentials?["AccessKeyId"]?.string == "[MASKED:aws-access-key]")
        #expect(documents[1]["record"]?["aws_secret_access_key"]?.string == "[MASKED:aws-secret-key]")
        #expect(documents[1]["message"]?.string == "loaded")
        #expect(documents[2]["record"]?["password"]?.string == "[MASKED:password]")
        #expect(documents[2]["record"]?["user"]?.string == "x")
        #expect(documents[2]["record"]?["empty"]?["password"]?.string == "")
        let counters = try spool.counters().rules
        #expect(counters["aws-secret-key.masked"] == 2)
        #expect(counters["aws-session-token.masked"] == 1)
        #expect(counters["password.masked"] == 1)
    }

    @Test func aJSONRecordsLevelAndRequestIdAreLeftAsTheyAre() throws {
        let rules = Self.rules(
            custom: #"[{"type":"mask_sequences","name":"hex","pattern":"[0-9a-f]{8}","replace_placeholder":"[HEX]"},"#
                + #"{"type":"mask_sequences","name":"info","pattern":"INFO","replace_placeholder":"[LEVEL]"}]"#)
        let body = TelemetryFixtures.delivery([
            Self.event(
                "function",
                #"{"level":"INFO","requestId":"21808263-4061-4375-b1eb-fe27eea55af9","message":"INFO deadbeef","nested":{"requestId":"cafebabe"}}"#
            )
        ])
        #expect(try ingestor(rules).ingest(body) == .accepted)
        let record = try documents()[0]["record"]
        #expect(record?["level"]?.string == "INFO")
        #expect(record?["requestId"]?.string == "21808263-4061-4375-b1eb-fe27eea55af9")
        #expect(record?["message"]?.string == "[LEVEL] [HEX]")
        #expect(record?["nested"]?["requestId"]?.string == "[HEX]")
    }

    @Test func cardsWrittenAsJSONNumbersAreMaskedAsStrings() throws {
        let body = TelemetryFixtures.delivery([
            Self.event(
                "function",
                #"{"message":"paid","card":4111111111111111,"order":4111111111111112,"# + #""n":[5555555555554444]}"#),
            Self.event("function", #"{"message":4242424242424242}"#),
            Self.event("function", #"{"message":"big","x":4111111111111111.5,"y":-4111111111111111}"#),
        ])
        let rules = Self.rules(
            mask: "credit-card",
            custom: #"[{"type":"mask_sequences","name":"digits","pattern":"[0-9]{16}","replace_placeholder":"[D]"}]"#)
        #expect(try ingestor(rules).ingest(body) == .accepted)
        let documents = try documents()
        #expect(documents[0]["record"]?["card"]?.string == "[MASKED:credit-card]")
        // Not a card (Luhn), and a custom rule sees strings only: the number stays a number.
        #expect(documents[0]["record"]?["order"] == .integer(4111111111111112))
        #expect(documents[0]["record"]?["n"] == .array([.string("[MASKED:credit-card]")]))
        #expect(documents[1]["message"]?.string == "[MASKED:credit-card]")
        #expect(documents[1]["record"]?["message"]?.string == "[MASKED:credit-card]")
        // Fractions, signs and exponents are no card numbers.
        #expect(documents[2]["record"]?["y"] == .integer(-4111111111111111))
        #expect(try spool.counters().rules["credit-card.masked"] == 3)
    }

    @Test func aPathologicalPatternOnALongLineStopsAtItsBudgetAndMasksTheRest() throws {
        let rules = Self.rules(
            custom: #"[{"type":"mask_sequences","name":"slow","pattern":"(a|aa)*c","replace_placeholder":"[X]"}]"#)
        // A `c` first, so the literal every match needs is there and POSIX searches the rest.
        let line = "c" + String(repeating: "a", count: 256 << 10)
        let body = TelemetryFixtures.delivery([
            Self.event("function", "\"\(line)\""), Self.event("function", #""after it""#),
        ])
        let started = Date()
        #expect(try ingestor(rules).ingest(body) == .accepted)
        // Unbounded, glibc takes minutes on this line; the budget is 20 ms a line, 100 ms a delivery.
        #expect(Date().timeIntervalSince(started) < 5)
        let documents = try documents()
        let message = documents[0]["message"]?.string ?? ""
        #expect(message.hasSuffix("[X]"))
        #expect(message.count < line.count)
        #expect(try spool.counters().rules["slow.unscanned"] ?? 0 >= 1)
        #expect(documents.count == 2)
    }

    /// Random JSON records with secrets among escapes, nested objects and arrays: every rewritten
    /// document is valid JSON whose record is the input with each string value masked (decoded,
    /// masked, compared as values), keys and other values untouched.
    @Test func maskedJSONRecordsAreTheInputWithEachStringMasked() throws {
        var random = SeededRandom(seed: 13)
        // JSON text of string contents: escapes as a record brings them.
        let pieces = [
            "jane@example.com", "10.0.0.7", "plain", #"tab\there"#, #"quote \"x\""#, "é ü", #"\\back"#, #"\u00e9"#,
            "4111111111111111", #"line\nbreak"#, #"a\u0040b.com@example.org"#,
        ]
        func string() -> String {
            "\""
                + (0..<Int.random(in: 0...3, using: &random)).map { _ in pieces.randomElement(using: &random)! }
                .joined(separator: " ") + "\""
        }
        func value(_ depth: Int) -> String {
            switch Int.random(in: 0..<(depth > 2 ? 3 : 5), using: &random) {
            case 0: return string()
            case 1: return String(Int.random(in: -5...5000, using: &random))
            case 2: return ["true", "null", "1.5e3"].randomElement(using: &random)!
            case 3:
                return "[ "
                    + (0..<Int.random(in: 0...3, using: &random)).map { _ in value(depth + 1) }.joined(separator: " , ")
                    + " ]"
            default: return object(depth + 1)
            }
        }
        func object(_ depth: Int) -> String {
            "{ "
                + (0..<Int.random(in: 1...4, using: &random)).map { index in
                    "\"k\(index)@example.com\" : \(value(depth))"
                }.joined(separator: ",\n ") + " }"
        }
        let rules = Self.rules(mask: "email,ipv4,credit-card")
        let masks: [BuiltinMask] = [.email, .ipv4, .creditCard]
        func masked(_ value: JSONValue) -> JSONValue {
            switch value {
            case .string(let text):
                var bytes = Array(text.utf8)
                for mask in masks {
                    let ranges = bytes.withUnsafeBufferPointer { mask.matches(in: $0) }
                    var out: [UInt8] = []
                    var position = 0
                    for range in ranges {
                        out += bytes[position..<range.lowerBound] + mask.placeholder
                        position = range.upperBound
                    }
                    bytes = out + bytes[position...]
                }
                return .string(String(decoding: bytes, as: UTF8.self))
            case .array(let values): return .array(values.map(masked))
            case .object(let members): return .object(members.mapValues(masked))
            default: return value
            }
        }
        let ingest = try ingestor(rules)
        for _ in 0..<200 {
            let record = object(0)
            let body = TelemetryFixtures.delivery([Self.event("function", record)])
            let records = ingest.records(try TelemetryDelivery(validating: body))
            let document = try JSONValue.parse(records[0].wholeDocument)
            let expected = masked(try JSONValue.parse(Array(record.utf8)))
            #expect(document["record"] == expected, "\(record)")
            #expect(document["fields"] == expected)
            #expect(!records[0].wholeDocument.contains(UInt8(ascii: "\n")))
        }
    }

    @Test func noRulesLeaveTheDocumentsAsTheyWere() throws {
        let body = TelemetryFixtures.delivery(TelemetryFixtures.eventJSON)
        let delivery = try TelemetryDelivery(validating: body)
        let plain = try ingestor(IngestRules()).records(delivery)
        // Rules that match nothing change nothing either.
        let idle = try ingestor(Self.rules(mask: "all")).records(delivery)
        #expect(plain.map(\.wholeDocument) == idle.map(\.wholeDocument))
        #expect(plain.map(\.id) == idle.map(\.id))
    }
}

/// Custom patterns: what POSIX is given, and the literal searches that spare it most lines.
struct RulePatternTests {
    func matches(_ pattern: RulePattern, _ text: String, first: Bool = false) -> [Range<Int>] {
        var budget = RuleBudget()
        return Array(text.utf8).withUnsafeBufferPointer {
            pattern.matches(in: $0, budget: &budget, first: first).ranges
        }
    }

    @Test(arguments: [
        ("GET /health", "GET /health", true), (#"\d{3}-\d{2}-\d{4}"#, "-", false),
        (#"password=\S+"#, "password=", false), ("(a|b)cd", "cd", false), ("colou?r", "colo", false),
        ("x+yz", "yz", false), (#"\.json$"#, ".json", false), ("a|b", "", false), ("(?i)Token", "", false),
    ])
    func theRequiredLiteralIsWhatEveryMatchHolds(pattern: String, literal: String, whole: Bool) throws {
        let compiled = try RulePattern(pattern)
        #expect(String(decoding: compiled.requiredLiteral, as: UTF8.self) == literal)
        #expect(compiled.isLiteral == whole)
    }

    @Test func literalSearchesFindWhatPOSIXFinds() throws {
        let texts = [
            "GET /health 200 GET /health", "no health here", "GET /healt", "xGET /healthGET /health",
            "ssn 123-45-6789 and 987-65-4321", "password=hunter2 user=x", "red colour and color", "",
        ]
        for pattern in ["GET /health", #"\d{3}-\d{2}-\d{4}"#, #"password=\S+"#, "colou?r", "e"] {
            // The same pattern in a group has no literal: POSIX searches every text.
            let fast = try RulePattern(pattern)
            let plain = try RulePattern("(?:\(pattern))")
            #expect(plain.requiredLiteral.isEmpty)
            for text in texts {
                #expect(matches(fast, text) == matches(plain, text), "\(pattern) in \(text)")
            }
        }
    }

    @Test(arguments: [
        (#"\d{3}-\d{2}-\d{4}"#, 11), ("[0-9a-f]{8}-[0-9a-f]{4}", 13), ("[A-Z]{2}[0-9]{6}", 8),
        (#"card \d{4}[- ]\d{4}"#, 14), ("[[:xdigit:]]{3}x", 4), ("[]a]{2}", 2), (#"\w{4}"#, 4),
        ("[[:alpha:]]{2}", 2), (#"\x41{3}"#, 3),
    ])
    func fixedShapesAreScannedWithoutGlibc(pattern: String, length: Int) throws {
        #expect(try RulePattern(pattern).shape?.length == length)
    }

    @Test(arguments: [
        "x+yz", "(a|b)cd", "[^0-9]{3}", #"\s{2}"#, "a{2,3}", "(?i)ab1",
        "a.c", "^ab1", "ab1$", "[0-z]1", "[!-/]1", "é1", #"a\b1"#, "a{0}1", #"GET /health"#,
    ])
    func otherPatternsAreLeftToGlibc(pattern: String) throws {
        #expect(try RulePattern(pattern).shape == nil)
    }

    @Test func fixedShapesFindWhatPOSIXFinds() throws {
        let atoms = ["a", "b", "-", #"\."#, "[0-9]", #"\d"#, "[ab]", "[a-c]", "[[:xdigit:]]", "[-x]", "[]a]", "x", " "]
        let letters = ["a", "b", "c", "x", "-", ".", "0", "1", "9", "f", "F", "]", " ", "é", "-", "a"]
        var generator = SeededRandom(seed: 20_261_206)
        var shaped = 0
        for _ in 0..<400 {
            var pattern = ""
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                pattern += atoms.randomElement(using: &generator)!
                let count = Int.random(in: 1...3, using: &generator)
                if count > 1 { pattern += "{\(count)}" }
            }
            let fast = try RulePattern(pattern)
            // In a group, the same pattern has neither a literal nor a shape: glibc searches.
            let plain = try RulePattern("(?:\(pattern))")
            #expect(plain.shape == nil && plain.requiredLiteral.isEmpty)
            if fast.shape != nil { shaped += 1 }
            for _ in 0..<25 {
                let text = (0..<Int.random(in: 0...40, using: &generator)).map { _ in
                    letters.randomElement(using: &generator)!
                }.joined()
                #expect(matches(fast, text) == matches(plain, text), "\(pattern) in \(text)")
                #expect(matches(fast, text, first: true) == matches(plain, text, first: true), "\(pattern) in \(text)")
            }
        }
        #expect(shaped > 300, "most generated patterns have a shape")
    }

    @Test(arguments: [
        (#"\d++"#, 3, "a quantifier on a quantifier"), ("a**", 2, "a quantifier on a quantifier"),
        ("a{2}{3}", 4, "a quantifier on a quantifier"), ("x+?", 1, "lazy quantifiers"),
        ("a{1001}", 1, "above 1000"), ("a{1,1001}", 1, "above 1000"),
        ("((a{100}){100}){10}", 9, "nested"), ("(?:a{50}){21}", 9, "nested"), ("(?i)(a{50}b){21}", 12, "nested"),
        // What RE2 refuses, or glibc cannot match as RE2 would.
        (#"\y"#, 0, "is not an escape RE2 knows"), (#"ab\Z"#, 2, "is not an escape RE2 knows"),
        (#"\x4"#, 0, "two hex digits"), (#"\x{}"#, 0, "hex code"), (#"\x{110000}"#, 0, "hex code"),
        (#"\x{D800}"#, 0, "hex code"), (#"a\x00"#, 1, "NUL"), (#"[\x00]"#, 1, "NUL"), (#"\8"#, 0, "back-references"),
        (#"[\b]"#, 1, "does not stand for one character"), (#"[a-\d]"#, 3, "does not stand for one character"),
        ("[z-a]", 1, "out of order"), (#"[a-\]]"#, 1, "out of order"), ("[é]", 1, "beyond ASCII"),
        ("[a-é]", 1, "beyond ASCII"), ("[[:^alpha:]]", 1, "negated classes"), ("[[:foo:]]", 1, "not a class"),
        (#"a\"#, 1, "lone"), ("(?x)a", 0, "(?x is not supported"), (#"(?m)\Aa"#, 4, "under (?m)"),
        (#"(?m)a\z"#, 5, "under (?m)"), ("(?<=a)b", 0, "(?< is not supported"),
        ("[^a", 3, "is not closed"), (#"(?i)[\p{L}]"#, 5, "Unicode classes"),
    ])
    func whatRE2RefusesOrGlibcCannotDoIsRefusedWithItsPosition(pattern: String, position: Int, says: String) {
        #expect {
            try RulePattern(pattern)
        } throws: { error in
            guard let error = error as? RuleError else { return false }
            return error.position == position && error.message.contains(says)
        }
    }

    @Test(arguments: [
        "(a{50}){20}", #"[0-9]{1,3}(\.[0-9]{1,3}){3}"#, "(?:a+)+", "a{1000}", "(ab|c{999})x", "a{,5}",
        "x{1000,}", "[{]{3}", #"\{{3}"#,
    ])
    func repetitionsWithinRE2sLimitsCompile(pattern: String) throws {
        _ = try RulePattern(pattern)
    }

    @Test(arguments: [
        (#"[a\-z]"#, "m-az", [1..<2, 2..<3, 3..<4]), (#"[\]]"#, #"a]\]"#, [1..<2, 3..<4]),
        (#"[\^a]"#, "b^a", [1..<2, 2..<3]), (#"[\^]"#, "a^", [1..<2]), (#"[\^\-]"#, "-^a", [0..<1, 1..<2]),
        (#"[^\]]"#, "]a", [1..<2]), (#"[\w\-]+"#, "tok-en_1 x", [0..<8, 9..<10]),
        (#"[A-Za-z0-9\-_]+"#, "key abc-def_1", [0..<3, 4..<13]), (#"[\\a]"#, #"b\a"#, [1..<2, 2..<3]),
        (#"[[:alpha:]\-]+"#, "ab-c1", [0..<4]), (#"[\]\-]{2}"#, "x]-", [1..<3]),
    ])
    func escapesInsideBracketsMeanWhatTheyMeanInRE2(pattern: String, text: String, found: [Range<Int>]) throws {
        // POSIX brackets have no escapes: `[a\-z]` there is `a` and the range from `\` to `z`.
        #expect(matches(try RulePattern(pattern), text) == found)
    }

    /// What RE2 (Go's `regexp/syntax`, which Datadog's rules are compiled with) reads, glibc is
    /// given to read the same: each pattern with a text and the matches Go's regexp finds in it.
    @Test(arguments: [
        // Hex, octal and C escapes are characters (glibc read `\x2D` as `x2D`).
        (#"[a-z]+\x2D\d+"#, "id abc-123 x", [3..<10]), (#"\x{2D}+"#, "a--b", [1..<3]), (#"\x41\x{62}"#, "xAb", [1..<3]),
        (#"[\x41-\x43]+"#, "ABCD", [0..<3]), (#"\101\0102"#, "AB A\u{08}2", [3..<6]),
        (#"\x{E9}+"#, "café éé", [3..<5, 6..<10]),
        (#"a\fb\vc\ad"#, "a\u{0C}b\u{0B}c\u{07}d", [0..<7]), (#"\_\/\ "#, "x_/ ", [1..<4]),
        // `\Q…\E` is literal text.
        (#"\Qa.b*\E+"#, "a.b** axb", [0..<5]), (#"\Q(x)"#, "(x)", [0..<3]),
        // `.` is any character but a newline, unless `(?s)`.
        ("a.c", "a\nc abc", [4..<7]), ("(?s)a.c", "a\nc", [0..<3]), ("(?is)A.C", "a\nc", [0..<3]),
        // `(?m)`: `^` and `$` at each line's start and end; sets and `.` as without it.
        ("(?m)^b+", "bb\nab\nbb", [0..<2, 6..<8]), ("(?m)a$", "a\nab\na", [0..<1, 5..<6]),
        ("^b+", "bb\nbb", [0..<2]), ("a$", "a\na", [2..<3]),
        ("(?m)[^x]+", "a\nb", [0..<3]), (#"(?m)\D+"#, "1\n2", [1..<2]), (#"(?m)\S+"#, "a\nb", [0..<1, 2..<3]),
        ("(?m).+", "ab\ncd", [0..<2, 3..<5]), ("(?ms).+", "ab\ncd", [0..<5]), ("(?mi)^B", "a\nb", [2..<3]),
        ("(?m)^[^a]$", "b\na\nc", [0..<1, 4..<5]), (#"(?m)^\d+(?P<x>[^0-9])"#, "12a\n34\n", [0..<3, 4..<7]),
        // A `-` that cannot make a range is itself; a range may end in `-` or an escape.
        (#"[\w-.]+"#, "a-b.c d", [0..<5, 6..<7]), ("[0-9-.]+", "1-2.3", [0..<5]), ("[a-c-0]+", "b-0x", [0..<3]),
        ("[!--]+", "!,-.", [0..<3]), (#"[\]-a]+"#, "]^_`a\\", [0..<5]), (#"[\d-z]+"#, "1-zy", [0..<3]),
        // Classes are RE2's: `\s` has no vertical tab; `[:word:]` is known.
        (#"\s+"#, "a \t\u{0B}b", [1..<3]), ("[[:word:]]+", "ab_1-c", [0..<4, 5..<6]),
        (#"\S+"#, "ab\u{0B}c d", [0..<4, 5..<6]),
        (#"\W"#, "a-b", [1..<2]), (#"[[:punct:]]+"#, "a!-/b", [1..<4]),
        // A character of several bytes is repeated whole.
        ("é+", "éé e", [0..<4]), ("ñ{2}", "ññ", [0..<4]), ("[[]]+", "[]", [0..<2]), (#"[\[:]+"#, "[:a", [0..<2]),
        ("[ab^]+", "^b", [0..<2]), ("[-^]+", "^-", [0..<2]),
        // A `{` that does not begin a count is itself (glibc read `{,2}` as one and refused `{x`).
        ("a{,2}", "aa a{,2}", [3..<8]), ("a{x}", "a{x}", [0..<4]), ("{", "x{", [1..<2]), ("a{2}", "aaa", [0..<2]),
        ("a{1,}b", "aab", [0..<3]),
    ])
    func escapesClassesAndDotMeanWhatTheyMeanInRE2(pattern: String, text: String, found: [Range<Int>]) throws {
        #expect(matches(try RulePattern(pattern), text) == found)
    }

    /// One ASCII character as RE2 may spell it, chosen at random: itself where that is safe
    /// (`inBracket`: where a bracket reads it as itself), hex, braced hex, octal, a C escape, or
    /// escaped punctuation.
    static func spelling(_ byte: UInt8, inBracket: Bool, using generator: inout SeededRandom) -> String {
        let character = Character(Unicode.Scalar(byte))
        let special: Set<Character> = inBracket ? ["]", "\\", "-", "^", "["] : Set(".[]\\()*+?{}|^$")
        var ways = [
            String(format: "\\x%02X", byte), "\\x{\(String(byte, radix: 16))}",
            byte < 64 ? "\\0" + String(format: "%02o", byte) : "\\" + String(format: "%03o", byte),
        ]
        if byte > 0x20, byte < 0x7F, !character.isLetter, !character.isNumber { ways.append("\\\(character)") }
        if byte >= 0x20, byte < 0x7F, !special.contains(character) { ways += [String(character), String(character)] }
        let escapes: [UInt8: String] = [7: "\\a", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r"]
        if let escape = escapes[byte] { ways.append(escape) }
        return ways.randomElement(using: &generator)!
    }

    @Test func bracketsHoldTheBytesRE2SpellsInThemAndNoOthers() throws {
        var generator = SeededRandom(seed: 20_261_207)
        let classes: [(String, [ClosedRange<UInt8>])] = [
            (#"\d"#, [0x30...0x39]), ("[:alpha:]", [0x41...0x5A, 0x61...0x7A]),
            ("[:xdigit:]", [0x30...0x39, 0x41...0x46, 0x61...0x66]),
            ("[:punct:]", [0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E]), (#"\s"#, [9...10, 12...13, 32...32]),
        ]
        for round in 0..<300 {
            var expected = Set<UInt8>()
            var members: [String] = []
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                switch Int.random(in: 0..<10, using: &generator) {
                case 0:
                    let (spelled, ranges) = classes.randomElement(using: &generator)!
                    members.append(spelled)
                    for range in ranges { expected.formUnion(range) }
                case 1...4:
                    let low = UInt8.random(in: 1...126, using: &generator)
                    let high = UInt8.random(in: low...min(127, low + 20), using: &generator)
                    members.append(
                        Self.spelling(low, inBracket: true, using: &generator) + "-"
                            + Self.spelling(high, inBracket: true, using: &generator))
                    expected.formUnion(low...high)
                default:
                    let byte = UInt8.random(in: 1...127, using: &generator)
                    members.append(Self.spelling(byte, inBracket: true, using: &generator))
                    expected.insert(byte)
                }
            }
            let negated = round % 3 == 0
            let pattern = "[" + (negated ? "^" : "") + members.joined() + "]"
            let compiled = try RulePattern(pattern)
            for byte in UInt8(1)...127 {
                let text = String(Character(Unicode.Scalar(byte)))
                let found = !matches(compiled, text).isEmpty
                #expect(found == (expected.contains(byte) != negated), "\(pattern) and byte \(byte)")
            }
        }
    }

    @Test func textSpelledWithEscapesMatchesItselfOnly() throws {
        var generator = SeededRandom(seed: 20_261_208)
        for _ in 0..<300 {
            let bytes = (0..<Int.random(in: 1...8, using: &generator)).map { _ in
                UInt8.random(in: 1...127, using: &generator)
            }
            var pattern = ""
            var quoted = false
            for byte in bytes {
                // Now and then a run in \Q…\E, where everything but `\E` is itself.
                if !quoted, Int.random(in: 0..<6, using: &generator) == 0 {
                    pattern += #"\Q"#
                    quoted = true
                } else if quoted, Int.random(in: 0..<3, using: &generator) == 0 {
                    pattern += #"\E"#
                    quoted = false
                }
                pattern +=
                    quoted
                    ? String(Character(Unicode.Scalar(byte))) : Self.spelling(byte, inBracket: false, using: &generator)
                if quoted && byte == UInt8(ascii: "\\") {
                    // A backslash before `E` would end the quote: leave it.
                    pattern += #"\E"#
                    quoted = false
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            let compiled = try RulePattern(pattern)
            #expect(matches(compiled, "~" + text + "~") == [1..<(1 + bytes.count)], "\(pattern) for \(bytes)")
        }
    }

    @Test func namedGroupsAreNumberedAsRE2NumbersThem() throws {
        let pattern = try RulePattern(#"(?P<key>\w+)=(?:x)?(?<value>\d+)"#)
        #expect(pattern.capturingGroups == [1, 3])
        #expect(matches(pattern, "a=1") == [0..<3])
        // Under `(?m)`, a set that takes a newline beside it is a group of glibc's own.
        let lines = try RulePattern(#"(?m)^[^=]+=(?P<value>\D)"#)
        #expect(lines.capturingGroups == [2])
        #expect(matches(lines, "a=b\nc=\n") == [0..<3, 4..<7])
    }

    @Test func escapesThatTakeSeveralCharactersAreOneAtomForRepetition() throws {
        // `{41}` belongs to the escape, not a count: no quantifier on a quantifier.
        _ = try RulePattern(#"\x{41}+"#)
        _ = try RulePattern(#"\Q++\E"#)
        _ = try RulePattern(#"\101+"#)
        #expect(throws: RuleError.self) { try RulePattern(#"\x41++"#) }
    }

    @Test func escapedAngleBracketsAndQuotesAreLiteralsAsInRE2() throws {
        // glibc reads `\<` and `\>` as word anchors; RE2, whose syntax rules are written in, as `<` and `>`.
        #expect(matches(try RulePattern(#"\<b\>"#), "a <b> b") == [2..<5])
        #expect(matches(try RulePattern(#"\`x\'"#), "`x' x") == [0..<3])
    }

    @Test func aShapeScanStopsWhenTheBudgetIsSpent() throws {
        let pattern = try RulePattern("a{200}b")
        #expect(pattern.shape != nil)
        var budget = RuleBudget(nanoseconds: 0)
        budget.beginLine()
        let found = [UInt8](repeating: UInt8(ascii: "a"), count: 100_000).withUnsafeBufferPointer {
            pattern.matches(in: $0, budget: &budget)
        }
        #expect(found.ranges.isEmpty && found.unscannedFrom == 0 && budget.wasSpent)
    }

    @Test func placeholdersReferToGroupsAsDatadogsDo() throws {
        let rules = IngestRulesTests.rules(
            custom: #"""
                [{"type":"mask_sequences","name":"api-key","pattern":"(?:key|token)=([a-z]+)_[0-9a-f]{8,}","replace_placeholder":"key=${1}_[MASKED] $$"},
                 {"type":"mask_sequences","name":"swap","pattern":"(\\w+)@(\\w+)","replace_placeholder":"$2 at $1$x"}]
                """#)
        let line = #""token=live_0123abcd4567 and token=test_99 then bob@home""#
        let folder = try TemporaryFolder()
        let spool = try openSpool(folder)
        let ingest = Ingestor(
            spool: spool, document: TelemetryDocument(function: .init(name: "f", version: "1", region: "r")),
            environmentID: try spool.environmentID(),
            indices: .init(platform: IndexPattern("p"), function: IndexPattern("f"), extension: IndexPattern("e")),
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }, rules: rules)
        let body = TelemetryFixtures.delivery([IngestRulesTests.event("function", line)])
        let records = ingest.records(try TelemetryDelivery(validating: body))
        let message = try JSONValue.parse(records[0].wholeDocument)["message"]?.string
        // `(?:…)` takes no number; `$$` is a dollar; `$x` names no group: nothing.
        #expect(message == "key=live_[MASKED] $ and token=test_99 then home at bob")
    }

    @Test func rulesPOSIXCannotBoundAreRefusedWithTheirPosition() {
        for (pattern, position) in [(#"(a)\1"#, 3), ("a*?", 1), (#"\p{L}"#, 0), ("(?=a)", 0)] {
            #expect(throws: RuleError.self) { try RulePattern(pattern) }
            do {
                _ = try RulePattern(pattern)
            } catch {
                #expect(error.position == position, "\(pattern): \(error)")
            }
        }
    }
}
