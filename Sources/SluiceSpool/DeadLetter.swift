/// A record the shipper gave up on, with why, kept until requeued or purged.
public struct DeadLetter: Sendable, Equatable {
    public let id: Int64
    /// The document's OpenSearch `_id`.
    public let documentID: String
    public let index: String
    public let eventTime: Int64
    public let receivedAt: Int64
    /// When the shipper gave up on it.
    public let diedAt: Int64
    /// Shipping attempts made, the last included.
    public let attempts: Int
    /// OpenSearch's error type (`mapper_parsing_exception`, …) or Sluice's reason class.
    public let errorType: String?
    public let reason: String
    public let document: [UInt8]
}
