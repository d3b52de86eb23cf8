import Crypto

/// Deterministic document ids: `<event time><environment><delivery digest><position>`, all hex.
///
/// - the event time (milliseconds, 11 digits) comes first, so ids of new events sort after older
///   ones and the spool's unique index grows at its right edge;
/// - the environment id (kept in the spool) separates two execution environments of one function
///   that receive the same line in the same millisecond;
/// - the digest of the whole delivery and the event's position in it separate every event of a
///   delivery, identical lines included, and make a re-delivered identical batch map to the same
///   ids (stored once, indexed once).
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

    /// The digest part for a delivery's body: 64 bits of its SHA-256, in hex.
    public static func digest(of body: [UInt8]) -> String {
        var hash = SHA256()
        hash.update(data: body)
        return hex(hash.finalize().prefix(8))
    }

    /// The id of the event at `position` of a delivery with `digest`.
    public func make(eventTime: Int64, digest: String, position: Int) -> String {
        var time = String(UInt64(max(0, eventTime)), radix: 16)
        if time.utf8.count < 11 { time = String(repeating: "0", count: 11 - time.utf8.count) + time }
        var place = String(position, radix: 16)
        if place.utf8.count < 4 { place = String(repeating: "0", count: 4 - place.utf8.count) + place }
        return time + "-" + environment + "-" + digest + "-" + place
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
