/// Reads choices from the front of a fuzz input: each call takes bytes, and an input that runs out
/// reads as zeros, so every input, however short, makes a complete case.
struct FuzzInput {
    let bytes: [UInt8]
    var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { position >= bytes.count }

    mutating func byte() -> UInt8 {
        defer { position += 1 }
        return position < bytes.count ? bytes[position] : 0
    }

    /// A number from the next `count` bytes, little-endian.
    mutating func number(bytes count: Int) -> Int {
        var value = 0
        for shift in 0..<count { value |= Int(byte()) << (8 * shift) }
        return value
    }

    /// The next `count` bytes (fewer at the end).
    mutating func take(_ count: Int) -> [UInt8] {
        let end = min(bytes.count, position + max(0, count))
        defer { position = max(position, end) }
        return position < end ? Array(bytes[position..<end]) : []
    }

    /// Up to the next 0 byte (consumed), or the rest.
    mutating func field() -> [UInt8] {
        var out: [UInt8] = []
        while position < bytes.count {
            let next = bytes[position]
            position += 1
            if next == 0 { break }
            out.append(next)
        }
        return out
    }

    /// Everything left.
    mutating func rest() -> [UInt8] { take(bytes.count - position) }
}
