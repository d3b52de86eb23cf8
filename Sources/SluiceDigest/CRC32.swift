import CDigest

/// CRC-32 as gzip's trailer carries it, on carry-less multiplication where the CPU has it: zlib's
/// own, computed as deflate reads its input, was 2 % of the extension's CPU (`perf`).
public enum CRC32 {
    /// The CRC-32 of `bytes` following `crc`, the CRC-32 of the bytes before them (0 to begin).
    public static func update(_ crc: UInt32, _ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        ccrc32_update(crc, bytes.baseAddress, bytes.count)
    }

    /// The CRC-32 of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { update(0, $0) }
    }

    /// Whether carry-less multiplication does the work.
    public static var usesCPUExtensions: Bool { ccrc32_uses_extensions() != 0 }

    /// For tests: the table only (both must give every CRC alike).
    public static func forcePortable(_ portable: Bool) { ccrc32_force_portable(portable ? 1 : 0) }
}
