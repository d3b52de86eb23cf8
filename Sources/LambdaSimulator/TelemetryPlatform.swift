import AsyncHTTPClient
import Logging
import NIOCore

/// The platform side of the Telemetry API: one buffer for the subscriber, batches flushed by
/// `maxItems`, `maxBytes` or `timeoutMs`, one delivery in flight at a time and in order, re-delivered
/// with backoff until a 2xx, oldest records dropped (and reported) when the subscriber falls behind,
/// and nothing delivered while the sandbox is frozen.
actor TelemetryPlatform {
    nonisolated var unownedExecutor: UnownedSerialExecutor { PlatformExecutor.shared.asUnownedSerialExecutor() }

    private struct Buffered {
        var event: TelemetryEvent
        let bytes: Int
        let since: ContinuousClock.Instant
    }

    private let configuration: SimulatorConfiguration
    private let client: HTTPClient
    private let logger: Logger
    private let signal = ChangeSignal()
    private let clock = ContinuousClock()

    private var subscription: TelemetrySubscription?
    /// Events produced before anyone subscribed during init are kept for the first subscriber: they
    /// are the init records an extension needs.
    private var keepsEarlyEvents = true
    private var buffer: [Buffered] = []
    private var bufferBytes = 0
    private var inFlight: [TelemetryEvent]?
    private var retryAt: ContinuousClock.Instant?
    private var failuresInARow = 0
    private var nextSequence = 0
    private var acknowledgedSequences: Set<Int> = []
    private var acknowledgedDeliveries = 0
    /// Events up to this sequence go out without waiting for the buffering limits (see `flush`).
    private var flushThrough: Int?
    private var ledger = PlatformLedger()
    private var frozenSince: ContinuousClock.Instant?
    private var frozenTotal: Duration = .zero
    private var loop: Task<Void, Never>?
    /// The delivery under way; cancelled when its destination is replaced or the environment ends.
    private var attemptUnderWay: Task<Bool, Never>?
    private var stopped = false

    init(configuration: SimulatorConfiguration, client: HTTPClient, logger: Logger) {
        self.configuration = configuration
        self.client = client
        self.logger = logger
    }

    func start() {
        loop = Task(executorPreference: PlatformExecutor.shared) { await self.run() }
    }

    func stop() async {
        stopped = true
        signal.signal()
        loop?.cancel()
        attemptUnderWay?.cancel()
        await loop?.value
    }

    // MARK: Events in

    /// Buffers an event for the subscriber if its type is wanted; returns the event as buffered.
    @discardableResult
    func emit(
        _ type: String, _ content: TelemetryEvent.Content, marker: String? = nil, requestId: String? = nil,
        phase: FunctionPhase? = nil
    ) -> TelemetryEvent {
        let event = TelemetryEvent(
            sequence: nextSequence, type: type, milliseconds: PlatformTime.nowMilliseconds(), content: content,
            marker: marker, requestId: requestId, phase: phase)
        nextSequence += 1
        if let subscription {
            guard subscription.wants(event) else { return event }
        } else if !keepsEarlyEvents {
            return event
        }
        append(event)
        dropOldestBeyondLimit()
        signal.signal()
        return event
    }

    /// Accepts a subscription (replacing an earlier one, as a re-initialised extension's does) and
    /// reports it as `platform.telemetrySubscription`.
    func subscribe(_ subscription: TelemetrySubscription) {
        if self.subscription?.destination != subscription.destination { attemptUnderWay?.cancel() }
        self.subscription = subscription
        // Early events of types it did not ask for are nobody's.
        let early = buffer.count
        buffer.removeAll { !subscription.wants($0.event) }
        ledger.discarded += early - buffer.count
        bufferBytes = buffer.reduce(0) { $0 + $1.bytes }
        // A new destination gets the pending batch at once rather than after the old one's backoff.
        retryAt = nil
        failuresInARow = 0
        emit(
            "platform.telemetrySubscription",
            .platform([
                "name": .string(subscription.extensionName), "state": "Subscribed",
                "types": .array(subscription.types.map(JSON.string)),
            ]))
    }

    /// Init is over: without a subscriber there is nobody to keep telemetry for.
    func initEnded() {
        keepsEarlyEvents = false
        if subscription == nil { discardBuffer() }
    }

    /// The execution environment is gone (after a shutdown): what was not delivered is lost with it,
    /// and the next environment starts without a subscription.
    func environmentEnded() {
        subscription = nil
        attemptUnderWay?.cancel()
        ledger.discarded += inFlight?.count ?? 0
        inFlight = nil
        discardBuffer()
        keepsEarlyEvents = true
        signal.signal()
    }

    /// Sends `event` and everything buffered before it without waiting for the buffering limits, and
    /// returns once they have left the buffer (or at `deadline`): what is emitted afterwards goes in a
    /// later delivery, as when a buffering timeout falls between two events. Returns at once when the
    /// event was not buffered (nobody subscribed to it).
    func flush(through event: TelemetryEvent, until deadline: ContinuousClock.Instant) async {
        flushThrough = max(flushThrough ?? event.sequence, event.sequence)
        signal.signal()
        while !stopped {
            let generation = signal.generation
            guard clock.now < deadline, buffer.contains(where: { $0.event.sequence <= event.sequence }) else { return }
            await signal.wait(after: generation, until: deadline)
        }
    }

    func freeze() {
        guard frozenSince == nil else { return }
        frozenSince = clock.now
    }

    func thaw() {
        guard let since = frozenSince else { return }
        frozenTotal += clock.now - since
        frozenSince = nil
        signal.signal()
    }

    func snapshot() -> PlatformLedger {
        var copy = ledger
        copy.pending = buffer.count + (inFlight?.count ?? 0)
        return copy
    }

    var destination: String? { subscription?.destination }

    // MARK: Buffer

    private func append(_ event: TelemetryEvent) {
        let bytes = render(event).serialized.utf8.count
        buffer.append(Buffered(event: event, bytes: bytes, since: clock.now))
        bufferBytes += bytes
        ledger.emitted += 1
    }

    private func discardBuffer() {
        ledger.discarded += buffer.count
        buffer = []
        bufferBytes = 0
    }

    private func dropOldestBeyondLimit() {
        guard bufferBytes > configuration.platformBufferLimitBytes else { return }
        var droppedRecords = 0
        var droppedBytes = 0
        var position = 0
        while bufferBytes > configuration.platformBufferLimitBytes, position < buffer.count {
            // The record that reports drops is the one thing never dropped.
            if buffer[position].event.type == "platform.logsDropped" {
                position += 1
                continue
            }
            let removed = buffer.remove(at: position)
            bufferBytes -= removed.bytes
            droppedRecords += 1
            droppedBytes += removed.bytes
        }
        guard droppedRecords > 0 else { return }
        ledger.dropped += droppedRecords
        logger.debug(
            "telemetry buffer over its limit", metadata: ["dropped.records": "\(droppedRecords)"])
        // One report per backlog: a report still waiting in the buffer is updated rather than repeated.
        if let waiting = buffer.firstIndex(where: { $0.event.type == "platform.logsDropped" }),
            case .platform(let record) = buffer[waiting].event.content
        {
            let old = buffer[waiting]
            let updated = TelemetryEvent(
                sequence: old.event.sequence, type: old.event.type, milliseconds: old.event.milliseconds,
                content: .platform(
                    logsDropped(
                        records: droppedRecords + Int(record["droppedRecords"]?.numberValue ?? 0),
                        bytes: droppedBytes + Int(record["droppedBytes"]?.numberValue ?? 0))),
                marker: nil, requestId: nil, phase: nil)
            buffer[waiting] = Buffered(event: updated, bytes: old.bytes, since: old.since)
        } else {
            append(
                TelemetryEvent(
                    sequence: nextSequence, type: "platform.logsDropped", milliseconds: PlatformTime.nowMilliseconds(),
                    content: .platform(logsDropped(records: droppedRecords, bytes: droppedBytes)), marker: nil,
                    requestId: nil, phase: nil))
            nextSequence += 1
        }
    }

    private func logsDropped(records: Int, bytes: Int) -> JSON {
        [
            "droppedRecords": .number(Double(records)), "droppedBytes": .number(Double(bytes)),
            "reason": "Consumer seems to have fallen behind as it has not acknowledged receipt of logs.",
        ]
    }

    private func render(_ event: TelemetryEvent) -> JSON {
        event.rendered(
            schemaVersion: subscription?.schemaVersion ?? "2022-12-13", logFormat: configuration.logFormat)
    }

    // MARK: Delivery

    private func run() async {
        while !stopped {
            let generation = signal.generation
            guard frozenSince == nil, let subscription else {
                await signal.wait(after: generation, until: nil)
                continue
            }
            if inFlight == nil {
                guard let oldest = buffer.first else {
                    await signal.wait(after: generation, until: nil)
                    continue
                }
                let flushAt = oldest.since + .milliseconds(subscription.timeoutMs)
                let full = buffer.count >= subscription.maxItems || bufferBytes >= subscription.maxBytes
                let flushed = flushThrough.map { oldest.event.sequence <= $0 } ?? false
                guard full || flushed || clock.now >= flushAt else {
                    await signal.wait(after: generation, until: flushAt)
                    continue
                }
                inFlight = takeBatch(subscription)
            }
            if let retryAt, clock.now < retryAt {
                await signal.wait(after: generation, until: retryAt)
                continue
            }
            guard let batch = inFlight else { continue }
            let attempt = Task(executorPreference: PlatformExecutor.shared) {
                await self.attempt(batch, to: subscription)
            }
            attemptUnderWay = attempt
            let acknowledged = await attempt.value
            attemptUnderWay = nil
            // The environment may have ended, or the batch been replaced, while the delivery ran.
            guard inFlight.map({ $0.first?.sequence == batch.first?.sequence }) ?? false else { continue }
            if acknowledged {
                acknowledge(batch)
            } else {
                ledger.failedDeliveries += 1
                failuresInARow += 1
                let backoff = min(
                    configuration.redeliveryBackoff * (1 << min(failuresInARow - 1, 20)),
                    configuration.maximumRedeliveryBackoff)
                retryAt = clock.now + backoff
            }
        }
    }

    private func takeBatch(_ subscription: TelemetrySubscription) -> [TelemetryEvent] {
        var count = 0
        var bytes = 0
        while count < buffer.count, count < subscription.maxItems {
            // A record larger than maxBytes still goes, alone.
            if count > 0, bytes + buffer[count].bytes > subscription.maxBytes { break }
            bytes += buffer[count].bytes
            count += 1
        }
        let batch = buffer.prefix(count).map(\.event)
        buffer.removeFirst(count)
        bufferBytes -= bytes
        // A flush waits for its events to leave the buffer.
        signal.signal()
        return batch
    }

    private func acknowledge(_ batch: [TelemetryEvent]) {
        inFlight = nil
        retryAt = nil
        failuresInARow = 0
        acknowledgedDeliveries += 1
        for event in batch where acknowledgedSequences.insert(event.sequence).inserted {
            let rendered = render(event)
            var level: String?
            if event.type == "function", case .logLine(_, let lineLevel, _, _, _) = event.content { level = lineLevel }
            ledger.acknowledged.append(
                AcknowledgedEvent(
                    type: event.type, time: event.time, record: rendered["record"] ?? .null, marker: event.marker,
                    requestId: event.requestId, phase: event.phase, level: level, delivery: acknowledgedDeliveries))
        }
        signal.signal()
    }

    /// One POST of `batch`; true when it was answered with a 2xx.
    private func attempt(_ batch: [TelemetryEvent], to subscription: TelemetrySubscription) async -> Bool {
        ledger.deliveryAttempts += 1
        let body = "[" + batch.map { render($0).serialized }.joined(separator: ",") + "]"
        do {
            let status = try await post(Array(body.utf8), to: subscription.destination).status
            logger.debug(
                "telemetry delivery",
                metadata: [
                    "delivery.events": "\(batch.count)", "delivery.status": "\(status)",
                    "delivery.destination": "\(subscription.destination)",
                ])
            return (200..<300).contains(status)
        } catch {
            logger.debug(
                "telemetry delivery failed",
                metadata: [
                    "delivery.events": "\(batch.count)", "delivery.error": "\(error)",
                    "delivery.destination": "\(subscription.destination)",
                ])
            return false
        }
    }

    /// POSTs `body` to the subscriber; the answer, or a throw on a connection error or when it went
    /// unanswered for `deliveryTimeout` of unfrozen time. `letRun`: the caller lets the sandbox run
    /// for this one request while the platform counts it frozen (`deliverRaw`), so every second
    /// counts; otherwise the timeout would never come.
    func post(
        _ body: [UInt8], to destination: String, contentType: String = "application/json", letRun: Bool = false
    ) async throws
        -> (status: Int, body: String)
    {
        var request = HTTPClientRequest(url: destination)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: contentType)
        request.body = .bytes(ByteBuffer(bytes: body))
        let client = self.client
        return try await withThrowingTaskGroup(of: (status: Int, body: String)?.self) { group in
            group.addTask(executorPreference: PlatformExecutor.shared) { [request] in
                let response = try await client.execute(request, timeout: .hours(24))
                let answer = try await response.body.collect(upTo: 1 << 20)
                return (Int(response.status.code), String(buffer: answer))
            }
            group.addTask(executorPreference: PlatformExecutor.shared) {
                if letRun {
                    try await Task.sleep(for: self.configuration.deliveryTimeout)
                } else {
                    try await self.sleepUnfrozen(for: self.configuration.deliveryTimeout)
                }
                return nil
            }
            defer { group.cancelAll() }
            guard let answer = try await group.next() ?? nil else { throw HTTPClientError.deadlineExceeded }
            return answer
        }
    }

    /// Sleeps until `duration` of time has passed during which the sandbox was not frozen.
    private func sleepUnfrozen(for duration: Duration) async throws {
        let start = clock.now
        let frozenAtStart = frozenTime()
        while true {
            let unfrozen = (clock.now - start) - (frozenTime() - frozenAtStart)
            if unfrozen >= duration { return }
            try await Task.sleep(for: duration - unfrozen)
        }
    }

    private func frozenTime() -> Duration { frozenTotal + (frozenSince.map { clock.now - $0 } ?? .zero) }
}
