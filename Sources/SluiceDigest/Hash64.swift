import CDigest

/// A 64-bit hash of bytes, the same on every run and machine: wyhash's construction, about ten
/// times SHA-256's speed on the SHA extensions. Not cryptographic: for telling apart byte strings
/// nobody chose to collide (a delivery from another).
public enum Hash64 {
    public static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBufferPointer { chash64($0.baseAddress, $0.count, seed) }
    }
}
