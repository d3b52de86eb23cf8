import SluiceDigest

/// One schema change, as shipped in `migrations/NNNN_name.sql`.
public struct Migration: Sendable, Equatable {
    /// The number that orders migrations; never reused.
    public let id: Int
    /// The part of the file name after the number.
    public let name: String
    /// The SQL, applied in one transaction.
    public let sql: String
    /// SHA-256 of the SQL, recorded when applied; a different value later means someone edited it.
    public let checksum: String

    public init(id: Int, name: String, sql: String) {
        self.id = id
        self.name = name
        self.sql = sql
        self.checksum = SHA256.hash(sql.utf8).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// The whole schema after migration `id` (`migrations/schema-NNNN.sql`), which a new file gets
    /// in one transaction instead of migrations 1 to `id` one by one; nil if there is none.
    public static let embeddedSchema: Migration? = EmbeddedMigrations.schema.map {
        Migration(id: $0.id, name: $0.name, sql: String(decoding: $0.bytes, as: UTF8.self))
    }

    /// The migrations this binary carries, embedded at build time, in id order.
    public static let embedded: [Migration] = EmbeddedMigrations.all
        .map { Migration(id: $0.id, name: $0.name, sql: String(decoding: $0.bytes, as: UTF8.self)) }
        .sorted { $0.id < $1.id }
}

/// The shape the build-time generator writes; see `Plugins/EmbedMigrations`.
struct EmbeddedMigration {
    let id: Int
    let name: String
    let bytes: [UInt8]
}
