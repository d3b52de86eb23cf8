import Logging
import SluiceIngest
import SluiceLambda
import SluiceSpool
import SluiceTime

/// `delivery`: one Telemetry API POST body, through validation, ingest and a real spool.
///
/// A delivery accepted must be JSON by the reference reader, with the events the validation found;
/// each of its documents is JSON whose `record` (and a JSON line's `fields`) is the event's record
/// as sent, only without insignificant whitespace; `time` is the event's time token; the ids differ.
/// A delivery refused is answered 400 and leaves the spool as it was, but for its malformed counter.
final class DeliveryOracle: Sendable {
    static let shared = DeliveryOracle()

    struct State {
        var spool: Spool
        var ingestor: Ingestor
        var runs = 0
    }

    private let state: Locked<State?> = Locked(nil)
    static let logger = Logger(label: "sluice.fuzz") { _ in SwiftLogNoOpLogHandler() }

    static func makeState() -> State {
        let folder = ScratchFolder.fresh("delivery")
        do {
            let spool = try Spool.open(SpoolConfiguration(path: "\(folder)/spool.sqlite"), logger: logger)
            let ingestor = Ingestor(
                spool: spool,
                document: TelemetryDocument(function: .init(name: "fuzz-fn", version: "$LATEST", region: "eu-west-1")),
                environmentID: try spool.environmentID(),
                indices: IndexRouting(
                    platform: IndexPattern("platform-%Y.%m.%d"), function: IndexPattern("function"),
                    extension: IndexPattern("extension"), invocation: IndexPattern("invocations-%Y.%m")),
                logger: logger)
            return State(spool: spool, ingestor: ingestor)
        } catch {
            fatalError("cannot open the delivery target's spool: \(error)")
        }
    }

    func check(_ body: [UInt8]) -> [String] {
        state.withLock { state in
            // A fresh spool now and then keeps each run as fast as the first.
            if state == nil || state!.runs >= 2_000 {
                state = nil
                state = Self.makeState()
            }
            state!.runs += 1
            return Self.check(body, spool: state!.spool, ingestor: state!.ingestor)
        }
    }

    static func check(_ body: [UInt8], spool: Spool, ingestor: Ingestor) -> [String] {
        var problems: [String] = []
        let reference = ReferenceJSON.parse(body)
        let delivery = try? TelemetryDelivery(validating: body)
        let before = try? spool.statistics()
        var expected: [SpoolRecord] = []
        if let delivery {
            guard case .array(let elements, _)? = reference else {
                return ["accepted a delivery that is not a JSON array by the reference reader"]
            }
            if elements.count != delivery.events.count {
                problems.append("found \(delivery.events.count) events where the reference reads \(elements.count)")
            }
            for (event, element) in zip(delivery.events, elements) {
                guard case .object(let members, _) = element else {
                    problems.append("an accepted event is not an object")
                    continue
                }
                // The last `record` member is the one used (readers differ on duplicates; the scanner keeps the last).
                if let record = members.last(where: { $0.key == "record" })?.value, record.range != event.record {
                    problems.append("event record at \(event.record) where the reference reads \(record.range)")
                }
            }
            expected = ingestor.records(delivery)
            problems += checkDocuments(expected, of: delivery)
        }
        let answer = ingestor.ingest(body)
        guard let after = try? spool.statistics(), let before else {
            return problems + ["the spool's statistics cannot be read"]
        }
        if delivery == nil {
            if answer.status != 400 { problems.append("a refused delivery was answered \(answer.status)") }
            var unchanged = after
            unchanged.counters.malformed = before.counters.malformed
            unchanged.fileBytes = before.fileBytes
            unchanged.oldestAgeMilliseconds = before.oldestAgeMilliseconds
            if unchanged != before { problems.append("a refused delivery changed the spool: \(before) -> \(after)") }
            if after.counters.malformed != before.counters.malformed + 1 {
                problems.append("a refused delivery was not counted as malformed")
            }
        } else {
            if answer.status != 200 { problems.append("an accepted delivery was answered \(answer.status)") }
            let added = after.counters.received - before.counters.received
            if added != expected.count {
                problems.append("the spool received \(added) records for the \(expected.count) of the delivery")
            }
        }
        return problems
    }

    static func checkDocuments(_ records: [SpoolRecord], of delivery: TelemetryDelivery) -> [String] {
        var problems: [String] = []
        let ids = records.map(\.id)
        if Set(ids).count != ids.count { problems.append("documents share an id: \(ids)") }
        // With no rules, each event has its document, in order; invocation summaries come after.
        guard records.count >= delivery.events.count else {
            return problems + ["\(delivery.events.count) events gave \(records.count) documents"]
        }
        for (position, record) in records.enumerated() {
            // The document OpenSearch gets: the stored bytes with their echo (a repeated member).
            let whole = record.wholeDocument
            guard let document = ReferenceJSON.parse(whole), case .object = document else {
                problems.append("document \(position) is not a JSON object: \(String(decoding: whole, as: UTF8.self))")
                continue
            }
            if document.hasDuplicateKeys { problems.append("document \(position) has a key twice") }
            guard position < delivery.events.count else { continue }
            let event = delivery.events[position]
            let sent = ReferenceJSON.compact(delivery.body[event.record])
            let kept = document.member("record").map { Array(whole[$0.range]) }
            if kept != sent {
                problems.append(
                    "document \(position) carries record \(kept.map { String(decoding: $0, as: UTF8.self) } ?? "none") "
                        + "for \(String(decoding: sent, as: UTF8.self))")
            }
            if TelemetryDocument.isLog(event.type), event.recordKind == .object {
                let fields = document.member("fields").map { Array(whole[$0.range]) }
                if fields != sent { problems.append("document \(position)'s fields is not its record") }
            }
            let time = document.member("time").map { Array(whole[$0.range]) }
            if time != Array(delivery.body[event.timeToken]) {
                problems.append("document \(position)'s time is not the event's")
            }
        }
        return problems
    }
}
