import SluiceDigest
import Testing

/// CRC-32 against values zlib gives, on carry-less multiplication and on the table, which must agree
/// on every length and every split.
@Suite(.serialized) struct CRC32Tests {
    @Test(arguments: [false, true])
    func zlibsValues(portable: Bool) {
        CRC32.forcePortable(portable)
        defer { CRC32.forcePortable(false) }
        #expect(CRC32.checksum([]) == 0)
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xcbf4_3926)
        #expect(CRC32.checksum((0..<4).flatMap { _ in (0...255).map { UInt8($0) } }) == 0xb70b_4c26)
        // A million a's, in pieces of lengths that are not multiples of 16.
        let piece = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000)
        var crc: UInt32 = 0
        for _ in 0..<1_000 { crc = piece.withUnsafeBufferPointer { CRC32.update(crc, $0) } }
        #expect(crc == 0xdc25_bfbc)
    }

    @Test func theExtensionsAndTheTableAgreeOnEveryLengthAndSplit() {
        defer { CRC32.forcePortable(false) }
        var generator = SystemRandomNumberGenerator()
        let data = (0..<700).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for length in 0...data.count {
            let bytes = Array(data[..<length])
            CRC32.forcePortable(true)
            let portable = CRC32.checksum(bytes)
            CRC32.forcePortable(false)
            #expect(CRC32.checksum(bytes) == portable, "length \(length)")
            let split = length / 3
            let parts = bytes.withUnsafeBufferPointer { buffer in
                CRC32.update(
                    CRC32.update(0, UnsafeBufferPointer(rebasing: buffer[..<split])),
                    UnsafeBufferPointer(rebasing: buffer[split...]))
            }
            #expect(parts == portable, "length \(length), split at \(split)")
        }
    }
}
