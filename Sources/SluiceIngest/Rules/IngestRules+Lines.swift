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
                    for index in texts.tokens.indices {
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
                    for index in texts.tokens.indices where !matched {
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
    let body: UnsafeBufferPointer<UInt8>
    let event: TelemetryDelivery.Event
    /// The string tokens (quotes included) the rules see, in order.
    let tokens: [Range<Int>]
    /// A token's text when it had to be decoded or was masked.
    var texts: [[UInt8]?]
    /// Which texts masking changed.
    var masked: [Bool]
    var changed = false

    init(body: UnsafeBufferPointer<UInt8>, event: TelemetryDelivery.Event) {
        self.body = body
        self.event = event
        switch event.recordKind {
        case .string: tokens = [event.record]
        case .object, .array: tokens = Self.stringValues(body, event.record)
        default: tokens = []
        }
        texts = Array(repeating: nil, count: tokens.count)
        masked = Array(repeating: false, count: tokens.count)
    }

    /// Calls `body` with the text of token `index`, escapes resolved.
    mutating func withText<Result>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        if texts[index] == nil {
            let token = tokens[index]
            let inner = (token.lowerBound + 1)..<(token.upperBound - 1)
            if !self.body[inner].contains(UInt8(ascii: "\\")) {
                return body(UnsafeBufferPointer(rebasing: self.body[inner]))
            }
            texts[index] = JSONReader.decodeStringBytes(self.body, token) ?? []
        }
        return texts[index]!.withUnsafeBufferPointer(body)
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
            if byte == UInt8(ascii: "\"") {
                let end = Self.stringEnd(body, index)
                if next < tokens.count, tokens[next].lowerBound == index {
                    if masked[next], let text = texts[next] {
                        JSONText.appendString(utf8: text, to: &out)
                    } else {
                        out += UnsafeBufferPointer(rebasing: body[index..<end])
                    }
                    next += 1
                } else {
                    out += UnsafeBufferPointer(rebasing: body[index..<end])
                }
                index = end
            } else {
                if !(byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D) { out.append(byte) }
                index += 1
            }
            if index == event.message?.upperBound { messageRange = messageStart..<out.count }
        }
        var message: [UInt8]?
        if let messageRange {
            if event.messageKind == .string {
                message = Array(out[messageRange])
            } else {
                message = JSONText.stringToken(String(decoding: out[messageRange], as: UTF8.self))
            }
        }
        return RewrittenLine(record: out, message: message)
    }

    /// The end (past the closing quote) of the string token that starts at `start`.
    static func stringEnd(_ body: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int {
        var index = start + 1
        while index < body.count {
            switch body[index] {
            case UInt8(ascii: "\\"): index += 2
            case UInt8(ascii: "\""): return index + 1
            default: index += 1
            }
        }
        return body.count
    }

    /// The string values (not keys) inside the JSON value at `range`, in order.
    static func stringValues(_ body: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> [Range<Int>] {
        var values: [Range<Int>] = []
        var index = range.lowerBound
        while index < range.upperBound {
            guard body[index] == UInt8(ascii: "\"") else {
                index += 1
                continue
            }
            let end = stringEnd(body, index)
            var after = end
            while after < range.upperBound,
                body[after] == 0x20 || body[after] == 0x09 || body[after] == 0x0A || body[after] == 0x0D
            {
                after += 1
            }
            if after >= range.upperBound || body[after] != UInt8(ascii: ":") { values.append(index..<end) }
            index = end
        }
        return values
    }
}
