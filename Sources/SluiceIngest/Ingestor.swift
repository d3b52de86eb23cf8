public import Logging
public import SluiceLambda
public import SluiceSpool
public import SluiceTime
import Synchronization

/// Turns one Telemetry API delivery into spool records and stores them in one transaction before
/// the delivery is answered: 200 once committed, 400 for a malformed delivery (nothing stored),
/// 503 when the spool cannot take it (the platform delivers it again).
///
/// It never logs per delivery: its own log lines come back to it as `extension` events, and a line
/// per delivery would feed itself. Refusals are logged at most once a minute, with counts.
public final class Ingestor: Sendable {
    let spool: Spool
    let document: TelemetryDocument
    let ids: DocumentID
    let indices: IndexRouting
    let logger: Logger
    let clock: WallClock
    let onStored: @Sendable () -> Void
    private let counts = Mutex(Tallies())

    /// What the ingestor did since it started.
    public struct Tallies: Sendable, Equatable {
        public var deliveries = 0
        public var events = 0
        public var stored = 0
        public var duplicates = 0
        public var malformed = 0
        public var failed = 0
        /// When a refusal was last logged (ms since the epoch), and refusals since.
        var lastLogged: Int64 = 0
        var unlogged = 0
    }

    /// `onStored` runs after each delivery that stored something (to wake the shipper).
    public init(
        spool: Spool, document: TelemetryDocument, environmentID: String, indices: IndexRouting, logger: Logger,
        clock: WallClock = .system, onStored: @escaping @Sendable () -> Void = {}
    ) {
        self.clock = clock
        self.spool = spool
        self.document = document
        self.ids = DocumentID(environment: environmentID)
        self.indices = indices
        self.logger = logger
        self.onStored = onStored
    }

    public var tallies: Tallies { counts.withLock { $0 } }

    /// Validates, stores and answers one delivery.
    public func ingest(_ body: [UInt8]) -> DeliveryAnswer {
        let delivery: TelemetryDelivery
        do {
            delivery = try TelemetryDelivery(validating: body)
        } catch {
            counts.withLock { $0.malformed += 1 }
            try? spool.recordMalformed()
            refused("refused a malformed telemetry delivery", error.description)
            return DeliveryAnswer(status: 400, reason: error.description)
        }
        let records = self.records(delivery)
        do {
            let result = try spool.append(records)
            counts.withLock {
                $0.deliveries += 1
                $0.events += records.count
                $0.stored += result.stored
                $0.duplicates += result.duplicates
            }
            if result.stored > 0 { onStored() }
            return .accepted
        } catch {
            counts.withLock { $0.failed += 1 }
            refused("could not store a telemetry delivery; the platform will send it again", "\(error)")
            return DeliveryAnswer(status: 503, reason: "the spool could not store this delivery: \(error)")
        }
    }

    /// The spool records of a validated delivery.
    public func records(_ delivery: TelemetryDelivery) -> [SpoolRecord] {
        let ids = self.ids.delivery(digest: DocumentID.digest(of: delivery.body))
        var records: [SpoolRecord] = []
        records.reserveCapacity(delivery.events.count)
        for (position, event) in delivery.events.enumerated() {
            records.append(
                SpoolRecord(
                    id: ids.id(eventTime: event.time, position: position),
                    index: indices.pattern(for: event.type).name(eventTime: event.time), eventTime: event.time,
                    document: document.encode(event, of: delivery)))
        }
        return records
    }

    /// Logs a refusal unless one was logged in the last minute; then says how many were not.
    private func refused(_ message: Logger.Message, _ reason: String) {
        let now = clock.now()
        let skipped: Int? = counts.withLock { tallies in
            guard now - tallies.lastLogged >= 60_000 else {
                tallies.unlogged += 1
                return nil
            }
            defer {
                tallies.lastLogged = now
                tallies.unlogged = 0
            }
            return tallies.unlogged
        }
        guard let skipped else { return }
        logger.warning(message, metadata: ["error": "\(reason)", "refusals.unlogged": "\(skipped)"])
    }
}
