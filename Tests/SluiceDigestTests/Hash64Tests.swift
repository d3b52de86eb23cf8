import SluiceDigest
import Testing

/// The 64-bit hash against values of an independent implementation of the same construction (Python,
/// 128-bit integers), on every length branch; and what the delivery digest needs of it: the same
/// value every time, and different values for different bytes.
struct Hash64Tests {
    @Test func valuesOfAnIndependentImplementation() {
        let cases: [([UInt8], UInt64)] = [
            ([], 0x9322_8a4d_e0ee_c5a2),
            (Array("a".utf8), 0xaced_1252_7fe5_bff8),
            (Array("abc".utf8), 0x989b_4a20_9c10_11c9),
            (Array("123456789".utf8), 0x60f3_465d_db60_2c77),
            (Array("The quick brown fox jumps over the lazy dog".utf8), 0x08e4_45df_107b_b587),
            ((0..<4).flatMap { _ in (0...255).map { UInt8($0) } }, 0x804d_d1e6_f38e_5361),
        ]
        for (bytes, value) in cases { #expect(Hash64.hash(bytes) == value, "\(bytes.count) bytes") }
    }

    @Test func differentBytesHashApartAndOneBitFlipsAboutHalfTheBits() {
        var generator = SystemRandomNumberGenerator()
        let base = (0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var seen = Set<UInt64>()
        var flipped = 0
        var flips = 0
        for length in 0...base.count {
            let bytes = Array(base[..<length])
            let value = Hash64.hash(bytes)
            #expect(seen.insert(value).inserted, "length \(length)")
            #expect(Hash64.hash(bytes) == value)
            for bit in stride(from: 0, to: length * 8, by: 7) {
                var changed = bytes
                changed[bit / 8] ^= 1 << (bit % 8)
                let other = Hash64.hash(changed)
                #expect(other != value, "length \(length), bit \(bit)")
                flipped += (other ^ value).nonzeroBitCount
                flips += 1
            }
        }
        let mean = Double(flipped) / Double(flips)
        #expect(mean > 31 && mean < 33, "a flipped bit changes \(mean) of 64 bits on average")
    }
}
