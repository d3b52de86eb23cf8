import Logging
import SluiceIngest
import SluiceLambda
import SluiceShipping
import SluiceSpool

extension ForwarderExtension {
    /// Ships until the spool is empty and no late delivery came for a while, or until the deadline
    /// minus the margin; counts what is left and logs one summary line.
    func shutDown(
        reason: String, deadline: Int64, receivedAt: Int64, configuration: ForwarderConfiguration, spool: Spool,
        loop: ShippingLoop, ingestor: Ingestor, listener: TelemetryListener, logger: Logger
    ) async {
        let started = clock.now()
        let stopBy = deadline - shutdownMarginMilliseconds
        let shippedBefore = await loop.report.shipped
        let requestsBefore = await loop.shipper.requestsSent
        // The platform may still deliver what it buffered: wait that long after the last delivery.
        let quiet = Int64(configuration.bufferTimeoutMilliseconds) + 100
        var lastDeliveries = ingestor.tallies.deliveries
        var lastChange = started
        // Lines from now on are the shutdown phase's, whatever invocation came last.
        ingestor.shutdownBegan(at: receivedAt)
        // The extension's health as SHUTDOWN found it, shipped with the rest.
        ingestor.reportHealthAtShutdown(at: receivedAt)
        // Invocations whose report never came are summarised once the platform has gone quiet.
        var summarised = false
        // A backoff would outlast the environment: everything waiting goes now.
        _ = try? spool.makeRetriesDue()
        await loop.shipper.hurry(until: stopBy)
        loop.wake()
        while clock.now() < stopBy {
            let generation = loop.generation
            await loop.settled(until: stopBy)
            let now = clock.now()
            let deliveries = ingestor.tallies.deliveries
            if deliveries != lastDeliveries {
                lastDeliveries = deliveries
                lastChange = now
            }
            guard now < stopBy else { break }
            // Done when nothing more can ship before the deadline and no late delivery is expected.
            var done = false
            switch loop.phase {
            case .idle: done = spool.waitingCount == 0
            case .paused(let until): done = until >= stopBy
            case .working: done = false
            }
            if done && now - lastChange >= quiet {
                guard !summarised else { break }
                summarised = true
                if ingestor.closeOpenInvocations() > 0 { continue }
                break
            }
            // Asleep until the loop changes phase or a delivery wakes it, the pause ends, or the
            // quiet time after the last delivery has passed.
            var wakeAt = stopBy
            if done { wakeAt = min(wakeAt, lastChange + quiet) }
            if case .paused(let until) = loop.phase { wakeAt = min(wakeAt, max(until, now + 1)) }
            if loop.phase != .working { await loop.changed(after: generation, until: wakeAt) }
        }
        if !summarised { ingestor.closeOpenInvocations() }
        let left = (try? spool.recordShutdown()) ?? spool.waitingCount
        var metadata: Logger.Metadata = [:]
        let report = await loop.report
        // What the drain did, and a request still unanswered at its end (a cluster or a
        // connection that hung: what waits is shipped by the next environment's extension).
        let requests = await loop.shipper.requestsSent - requestsBefore
        if let since = await loop.shipper.inFlightSince {
            metadata["shutdown.unanswered_ms"] = "\(clock.now() - since)"
        }
        let abandoned = await loop.shipper.abandonedRequests
        if abandoned > 0 { metadata["requests.abandoned"] = "\(abandoned)" }
        let tallies = ingestor.tallies
        // The environment's rule counters, and what the cap dropped (the spool's, which survive a
        // restart of the process).
        let counters = try? spool.counters()
        for (name, value) in counters?.rules ?? tallies.rules {
            metadata["rules.\(name)"] = "\(value)"
        }
        if let counters {
            metadata["dropped"] = "\(counters.dropped)"
            metadata["dropped_by_lambda"] = "\(counters.droppedByLambda)"
        }
        // The process's CPU time by stage (ms since it started): what the extension cost the function.
        for field in ingestor.cpu.snapshot().fields {
            metadata["cpu_ms.\(field.name)"] = "\(field.milliseconds)"
        }
        // What the listener's limits turned away (an HTTP matter: none of it was a delivery).
        let refused = listener.refusals
        if refused.total > 0 {
            metadata["listener.refused"] = "\(refused.total)"
            for (name, value) in [
                ("too_large", refused.tooLarge), ("headers_too_large", refused.headersTooLarge),
                ("malformed", refused.malformed), ("timed_out", refused.timedOut), ("idle_closed", refused.idleClosed),
                ("evicted", refused.evicted),
            ] where value > 0 {
                metadata["listener.refused.\(name)"] = "\(value)"
            }
        }
        logger.info(
            "sluice shut down",
            metadata: metadata.merging([
                "shutdown.reason": "\(reason)", "shutdown.ms": "\(clock.now() - started)",
                "shipped.at_shutdown": "\(report.shipped - shippedBefore)", "requests.at_shutdown": "\(requests)",
                "shipped.total": "\(report.shipped)",
                "dead_lettered": "\(report.deadLettered)", "requests.failed": "\(report.failedRequests)",
                "left_in_spool": "\(left)",
                "deliveries": "\(tallies.deliveries)", "deliveries.refused": "\(tallies.malformed + tallies.failed)",
            ]) { $1 })
    }
}
