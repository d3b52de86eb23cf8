import SluiceJSON
public import SluiceLambda

/// A log line the rules changed: its record and message as they are stored instead.
public struct RewrittenLine: Sendable {
    /// The record's JSON value, compact.
    public let record: [UInt8]
    /// The `message` string token, when the line has one.
    public let message: [UInt8]?
}

extension IngestRules {
    /// What the rules decided for one line.
    public enum Verdict: Sendable {
        case keep
        case drop
        case rewrite(RewrittenLine)
    }

    /// Runs the rules on one `function` or `extension` line of a validated delivery. `level` is the
    /// line's level (function lines only), compared with the minimum. The texts a rule sees are a
    /// text record, or each string value of a JSON record (its `message` among them; keys are left
    /// alone); an exclude or include rule matches when any of them does.
    public func apply(
        to event: TelemetryDelivery.Event, of delivery: TelemetryDelivery, level: LogLevel?,
        budget: inout RuleBudget, counts: inout RuleCounts
    ) -> Verdict {
        if let minimumLevel, let level, level < minimumLevel {
            counts.add(Self.minimumLevelRule, "dropped")
            return .drop
        }
        guard !rules.isEmpty else { return .keep }
        return delivery.body.withUnsafeBufferPointer { body in
            budget.beginLine()
            var texts = LineTexts(body: body, event: event)
            for rule in rules {
                switch rule.action {
                case .mask(let placeholder):
                    var builtin: BuiltinMask?
                    if case .builtin(let mask) = rule.matcher { builtin = mask }
                    for index in texts.values.indices {
                        // A long integer may be a card: the card mask alone looks at numbers.
                        if texts.isNumber(index), builtin != .creditCard { continue }
                        if let builtin, texts.hidesValue(index, builtin) {
                            counts.add(rule.name, "masked")
                            texts.replace(index, with: placeholder)
                            continue
                        }
                        let masked = texts.withText(index) { text -> [UInt8]? in
                            let found = find(
                                rule.matcher, in: text, budget: &budget, first: false, groups: rule.template != nil)
                            guard !found.ranges.isEmpty || found.unscannedFrom != nil else { return nil }
                            counts.add(rule.name, "masked", found.ranges.count + (found.unscannedFrom == nil ? 0 : 1))
                            if found.unscannedFrom != nil { counts.add(rule.name, "unscanned") }
                            var replacements: [[UInt8]]?
                            if let template = rule.template {
                                replacements = zip(found.ranges, found.groups).map { match, groups in
                                    PlaceholderPart.expand(template, text: text, match: match, groups: groups)
                                }
                            }
                            return Self.replace(
                                found.ranges, unscannedFrom: found.unscannedFrom, of: text,
                                with: rule.template.map(PlaceholderPart.text(of:)) ?? placeholder,
                                replacements: replacements)
                        }
                        if let masked { texts.replace(index, with: masked) }
                    }
                case .exclude, .include:
                    var matched = false
                    for index in texts.values.indices where !matched && !texts.isNumber(index) {
                        matched = texts.withText(index) { text in
                            let found = find(rule.matcher, in: text, budget: &budget, first: true, groups: false)
                            if found.unscannedFrom != nil {
                                // Not searched to the end: the line is kept, whichever the rule.
                                counts.add(rule.name, "unscanned")
                                return rule.action == .include
                            }
                            return !found.ranges.isEmpty
                        }
                    }
                    if matched == (rule.action == .exclude) {
                        counts.add(rule.name, "dropped")
                        return .drop
                    }
                }
            }
            return texts.rewritten.map(Verdict.rewrite) ?? .keep
        }
    }

    private func find(
        _ matcher: Matcher, in text: UnsafeBufferPointer<UInt8>, budget: inout RuleBudget, first: Bool, groups: Bool
    ) -> RulePattern.Matches {
        switch matcher {
        case .builtin(let mask): return RulePattern.Matches(ranges: mask.matches(in: text))
        case .pattern(let pattern): return pattern.matches(in: text, budget: &budget, first: first, groups: groups)
        }
    }

    /// `text` with each range (by its replacement, or `placeholder`), and everything from
    /// `unscannedFrom` on, replaced by `placeholder`.
    static func replace(
        _ ranges: [Range<Int>], unscannedFrom: Int?, of text: UnsafeBufferPointer<UInt8>, with placeholder: [UInt8],
        replacements: [[UInt8]]? = nil
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.count + ranges.count * placeholder.count)
        var position = 0
        let end = unscannedFrom ?? text.count
        for (number, range) in ranges.enumerated() where range.lowerBound >= position && range.upperBound <= end {
            out += UnsafeBufferPointer(rebasing: text[position..<range.lowerBound])
            out += replacements?[number] ?? placeholder
            position = range.upperBound
        }
        out += UnsafeBufferPointer(rebasing: text[position..<max(position, end)])
        if unscannedFrom != nil { out += placeholder }
        return out
    }
}

/// The texts of one line the rules look at, decoded only when a token has escapes, and what
/// masking made of them.
private struct LineTexts {
    /// A value the rules look at: a string token (quotes included), or an integer of 13 to 19
    /// digits, and the name of the member it is the value of.
    struct Value {
        let token: Range<Int>
        let key: Range<Int>?
        /// Whether the string holds an escape (its text must be decoded): looked at once, not by
        /// each rule.
        var escaped = false
    }

    let body: UnsafeBufferPointer<UInt8>
    let event: TelemetryDelivery.Event
    /// The values the rules see, in order.
    let values: [Value]
    /// A value's text when it had to be decoded or was masked.
    var texts: [[UInt8]?]
    /// Which texts masking changed.
    var masked: [Bool]
    var changed = false

    init(body: UnsafeBufferPointer<UInt8>, event: TelemetryDelivery.Event) {
        self.body = body
        self.event = event
        switch event.recordKind {
        case .string:
            let inner = (event.record.lowerBound + 1)..<(event.record.upperBound - 1)
            values = [Value(token: event.record, key: nil, escaped: body[inner].contains(UInt8(ascii: "\\")))]
        case .object, .array: values = Self.values(body, event.record, object: event.recordKind == .object)
        default: values = []
        }
        texts = Array(repeating: nil, count: values.count)
        masked = Array(repeating: false, count: values.count)
    }

    /// Whether value `index` is a number (not a string) in the record.
    func isNumber(_ index: Int) -> Bool { body[values[index].token.lowerBound] != UInt8(ascii: "\"") }

    /// Calls `body` with the text of value `index`, escapes resolved.
    mutating func withText<Result>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        if texts[index] == nil {
            let token = values[index].token
            if isNumber(index) { return body(UnsafeBufferPointer(rebasing: self.body[token])) }
            if !values[index].escaped {
                return body(UnsafeBufferPointer(rebasing: self.body[(token.lowerBound + 1)..<(token.upperBound - 1)]))
            }
            texts[index] = JSONReader.decodeStringBytes(self.body, token) ?? []
        }
        return texts[index]!.withUnsafeBufferPointer(body)
    }

    /// Whether `mask` hides string value `index` whole for its member's name (`"SecretAccessKey"`):
    /// not when it is empty or already a mask's placeholder.
    mutating func hidesValue(_ index: Int, _ mask: BuiltinMask) -> Bool {
        guard mask.readsKeys, let key = values[index].key, !isNumber(index) else { return false }
        let inner = (key.lowerBound + 1)..<(key.upperBound - 1)
        let named: Bool
        if self.body[inner].contains(UInt8(ascii: "\\")) {
            named = (JSONReader.decodeStringBytes(self.body, key) ?? []).withUnsafeBufferPointer {
                mask.masksValue(ofKey: $0)
            }
        } else {
            named = mask.masksValue(ofKey: UnsafeBufferPointer(rebasing: self.body[inner]))
        }
        guard named else { return false }
        return withText(index) { text in
            !text.isEmpty && !(text.count > 8 && text[0] == UInt8(ascii: "[") && text[7] == UInt8(ascii: ":"))
        }
    }

    mutating func replace(_ index: Int, with text: [UInt8]) {
        texts[index] = text
        masked[index] = true
        changed = true
    }

    /// The record and message with the masked texts, or nil when nothing was masked.
    var rewritten: RewrittenLine? {
        guard changed else { return nil }
        if event.recordKind == .string {
            var token: [UInt8] = []
            token.reserveCapacity((texts[0]?.count ?? 0) + 16)
            JSONText.appendString(utf8: texts[0] ?? [], to: &token)
            return RewrittenLine(record: token, message: token)
        }
        // The record again, compact, each masked string written anew; where the message lands.
        var out: [UInt8] = []
        out.reserveCapacity(event.record.count + 64)
        var messageRange: Range<Int>?
        var messageStart = 0
        var next = 0
        var index = event.record.lowerBound
        while index < event.record.upperBound {
            if index == event.message?.lowerBound { messageStart = out.count }
            let byte = body[index]
            if next < values.count, values[next].token.lowerBound == index {
                // A masked number becomes a string: the record stays valid JSON.
                if masked[next], let text = texts[next] {
                    JSONText.appendString(utf8: text, to: &out)
                } else {
                    out += UnsafeBufferPointer(rebasing: body[values[next].token])
                }
                index = values[next].token.upperBound
                next += 1
            } else if byte == UInt8(ascii: "\"") {
                let end = Self.stringEnd(body, index).end
                out += UnsafeBufferPointer(rebasing: body[index..<end])
                index = end
            } else {
                if !(byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D) { out.append(byte) }
                index += 1
            }
            if index == event.message?.upperBound { messageRange = messageStart..<out.count }
        }
        var message: [UInt8]?
        if let messageRange {
            if event.messageKind == .string || out[messageRange.lowerBound] == UInt8(ascii: "\"") {
                message = Array(out[messageRange])
            } else {
                message = JSONText.stringToken(String(decoding: out[messageRange], as: UTF8.self))
            }
        }
        return RewrittenLine(record: out, message: message)
    }

    /// The end (past the closing quote) of the string token that starts at `start`.
    static func stringEnd(_ body: UnsafeBufferPointer<UInt8>, _ start: Int) -> (end: Int, escaped: Bool) {
        var index = start + 1
        var escaped = false
        while index < body.count {
            switch body[index] {
            case UInt8(ascii: "\\"):
                escaped = true
                index += 2
            case UInt8(ascii: "\""): return (index + 1, escaped)
            default: index += 1
            }
        }
        return (body.count, escaped)
    }

    /// The string values (not keys) inside the JSON value at `range`, and its integers of 13 to 19
    /// digits, in order, each with its member's name. An object record's own `level` and
    /// `requestId` are left out: they are left as they are.
    static func values(_ body: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, object: Bool) -> [Value] {
        var values: [Value] = []
        var index = range.lowerBound
        var depth = 0
        // The last member name, and whether what comes is its value (a `:` since).
        var key: Range<Int>?
        var member = false
        while index < range.upperBound {
            switch body[index] {
            case UInt8(ascii: "\""):
                let (end, escaped) = stringEnd(body, index)
                var after = end
                while after < range.upperBound,
                    body[after] == 0x20 || body[after] == 0x09 || body[after] == 0x0A || body[after] == 0x0D
                {
                    after += 1
                }
                if after < range.upperBound, body[after] == UInt8(ascii: ":") {
                    key = index..<end
                } else if !(object && depth == 1 && member && key.map { isLeftAlone(body, $0) } == true) {
                    values.append(Value(token: index..<end, key: member ? key : nil, escaped: escaped))
                }
                member = false
                index = end
            case UInt8(ascii: ":"):
                member = true
                index += 1
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                member = false
                index += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                member = false
                index += 1
            case UInt8(ascii: ","):
                member = false
                index += 1
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                let start = index
                while index < range.upperBound, body[index] &- 48 < 10 { index += 1 }
                // An integer: not a fraction's or an exponent's digits, no sign, no fraction after.
                let before = body[start - 1]
                let after = index < range.upperBound ? body[index] : 0
                if index - start >= 13, index - start <= 19, before != UInt8(ascii: "-"), before != UInt8(ascii: "."),
                    before | 0x20 != UInt8(ascii: "e"), before != UInt8(ascii: "+"), after != UInt8(ascii: "."),
                    after | 0x20 != UInt8(ascii: "e")
                {
                    values.append(Value(token: start..<index, key: member ? key : nil))
                }
                member = false
            default:
                index += 1
            }
        }
        return values
    }

    /// Whether the member name `key` (quotes included) is `level` or `requestId`.
    static func isLeftAlone(_ body: UnsafeBufferPointer<UInt8>, _ key: Range<Int>) -> Bool {
        let name = body[(key.lowerBound + 1)..<(key.upperBound - 1)]
        return name.elementsEqual("level".utf8) || name.elementsEqual("requestId".utf8)
    }
}
