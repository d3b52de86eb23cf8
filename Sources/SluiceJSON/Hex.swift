/// Lower-case hexadecimal, for digests, signatures, ids and `\u` escapes.
public enum Hex {
    /// The digit for a value 0–15.
    @inlinable
    public static func digit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    /// Two digits per byte.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digit(byte >> 4))
            out.append(digit(byte & 0x0F))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The four hex digits (either case) at `start` of `bytes`, as a `\\u` escape's code unit; a
    /// byte that is not a digit counts as 0 (the scanner has validated escapes before).
    public static func value(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int) -> UInt32 {
        var value: UInt32 = 0
        for index in start..<start + 4 {
            let byte = bytes[index]
            let nibble: UInt8 =
                byte &- 48 < 10 ? byte &- 48 : (byte | 0x20) &- 97 < 6 ? (byte | 0x20) &- 87 : 0
            value = value << 4 | UInt32(nibble)
        }
        return value
    }

    /// How many digits `value` needs (at least one).
    @inlinable
    public static func digitCount(_ value: UInt64) -> Int { value == 0 ? 1 : (67 - value.leadingZeroBitCount) / 4 }

    /// Writes `value` as exactly `digits` digits into `buffer` from `start` (left-padded with zeros).
    @inlinable
    public static func write(
        _ value: UInt64, digits: Int, into buffer: UnsafeMutableBufferPointer<UInt8>, at start: Int
    ) {
        var rest = value
        for index in stride(from: start + digits - 1, through: start, by: -1) {
            buffer[index] = digit(UInt8(truncatingIfNeeded: rest & 0xF))
            rest >>= 4
        }
    }
}
