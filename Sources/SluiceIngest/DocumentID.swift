import SluiceDigest
import SluiceJSON

/// Deterministic document ids: `<event time><environment><delivery digest><position>`, all hex.
///
/// - the event time (milliseconds, 11 digits) comes first, so ids of new events sort after older
///   ones;
/// - the environment id (kept in the spool) separates two execution environments of one function
///   that receive the same line in the same millisecond;
/// - the digest of the whole delivery and the event's position in it separate every event of a
///   delivery, identical lines included, and make a re-delivered identical batch map to the same
///   ids (the spool knows it by the digest and stores it once; OpenSearch indexes an id once).
///
/// The limit: two *different* deliveries that are byte for byte identical (every event the same
/// text at the same millisecond) get the same ids, and the second is taken for a re-delivery.
/// Anything else that differs (one event, one millisecond) gives new ids, so a re-delivery the
/// platform re-batched is stored again: a rare duplicate, never a loss.
public struct DocumentID: Sendable {
    /// The environment id, as kept in the spool.
    public let environment: String

    public init(environment: String) {
        self.environment = environment
    }

    /// The digest part for a delivery's body: its 64-bit hash (`Hash64`), in 16 hex digits. Not
    /// SHA-256, which it was: that was 3 % of the extension's CPU (`perf`), and nobody chooses the
    /// bytes of two deliveries to collide (the listener takes them from the platform, on loopback).
    public static func digest(of body: [UInt8]) -> String {
        let hash = Hash64.hash(body)
        return String(unsafeUninitializedCapacity: 16) { buffer in
            Hex.write(hash, digits: 16, into: buffer, at: 0)
            return 16
        }
    }

    /// The id of the event at `position` of a delivery with `digest`.
    public func make(eventTime: Int64, digest: String, position: Int) -> String {
        Delivery(environment: environment, digest: digest).id(eventTime: eventTime, position: position)
    }

    /// The id of an invocation's summary: its start time (as the other ids begin, so they sort by
    /// it) and its request id. Asynchronous retries reuse a request id, never with the same start.
    public static func invocation(requestId: String, startedAt: Int64) -> String {
        let time = UInt64(max(0, startedAt))
        let digits = max(11, Hex.digitCount(time))
        let tail = Array("-inv-\(requestId)".utf8)
        return String(unsafeUninitializedCapacity: digits + tail.count) { buffer in
            Hex.write(time, digits: digits, into: buffer, at: 0)
            for (offset, byte) in tail.enumerated() { buffer[digits + offset] = byte }
            return digits + tail.count
        }
    }

    /// The ids of one delivery's events, with the part they share built once.
    public func delivery(digest: String) -> Delivery { Delivery(environment: environment, digest: digest) }

    /// The ids of one delivery's events. An id is written into one buffer that becomes its String:
    /// building it from five interpolated pieces cost a third of the ingest's CPU time.
    public struct Delivery: Sendable {
        /// `-<environment>-<digest>-`, between the time and the position.
        let middle: [UInt8]

        init(environment: String, digest: String) {
            middle = Array("-\(environment)-\(digest)-".utf8)
        }

        /// The id of the event at `position`: time in at least 11 hex digits, position in at least 4.
        public func id(eventTime: Int64, position: Int) -> String {
            let time = UInt64(max(0, eventTime))
            let place = UInt64(max(0, position))
            let timeDigits = max(11, Hex.digitCount(time))
            let placeDigits = max(4, Hex.digitCount(place))
            let count = timeDigits + middle.count + placeDigits
            return String(unsafeUninitializedCapacity: count) { buffer in
                Hex.write(time, digits: timeDigits, into: buffer, at: 0)
                for (offset, byte) in middle.enumerated() { buffer[timeDigits + offset] = byte }
                Hex.write(place, digits: placeDigits, into: buffer, at: timeDigits + middle.count)
                return count
            }
        }
    }
}
