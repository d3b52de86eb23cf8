import CDigest

/// SHA-256, on the CPU's SHA extensions where it has them. A value type: copy it to hash a common
/// prefix once.
public struct SHA256: Sendable {
    private var context = csha256_context()

    public init() {
        csha256_init(&context)
    }

    public mutating func update(_ bytes: some Collection<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            csha256_update(&context, buffer.baseAddress, buffer.count)
        }
        if done == nil {
            let copy = Array(bytes)
            copy.withUnsafeBufferPointer { csha256_update(&context, $0.baseAddress, $0.count) }
        }
    }

    /// The 32-byte digest of everything given so far.
    public func finalize() -> [UInt8] {
        var context = context
        return [UInt8](unsafeUninitializedCapacity: 32) { buffer, count in
            csha256_final(&context, buffer.baseAddress!)
            count = 32
        }
    }

    /// The digest of `bytes`.
    public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var hash = SHA256()
        hash.update(bytes)
        return hash.finalize()
    }

    /// Whether the SHA extensions do the work (for the benchmark's report).
    public static var usesCPUExtensions: Bool { csha256_uses_extensions() != 0 }

    /// For tests: the portable implementation only (both must give every digest alike).
    public static func forcePortable(_ portable: Bool) { csha256_force_portable(portable ? 1 : 0) }
}

/// HMAC-SHA256 (RFC 2104), as SigV4 derives its keys and signs.
public enum HMACSHA256 {
    public static func code(key: [UInt8], message: some Collection<UInt8>) -> [UInt8] {
        var block = key.count > 64 ? SHA256.hash(key) : key
        block += [UInt8](repeating: 0, count: 64 - block.count)
        var inner = SHA256()
        inner.update(block.map { $0 ^ 0x36 })
        inner.update(message)
        var outer = SHA256()
        outer.update(block.map { $0 ^ 0x5c })
        outer.update(inner.finalize())
        return outer.finalize()
    }
}
