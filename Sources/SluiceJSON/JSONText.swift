/// JSON string literals written straight into a byte buffer: the one escaper every shipped module
/// uses (documents, `_bulk` actions, Extensions API bodies, the CLI's JSON output).
public enum JSONText {
    /// Appends `text` as a JSON string literal, quotes included, to `out`.
    @inlinable
    public static func appendString(_ text: String, to out: inout [UInt8]) {
        appendString(utf8: text.utf8, to: &out)
    }

    /// Appends UTF-8 text as a JSON string literal, quotes included, to `out`.
    @inlinable
    public static func appendString(utf8 text: some Sequence<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\r"): out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case UInt8(ascii: "\t"): out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")]
                out += [Hex.digit(byte >> 4), Hex.digit(byte & 0xF)]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// `text` as a JSON string token, quotes included.
    public static func stringToken(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 2)
        appendString(text, to: &out)
        return out
    }

    /// `text` as a JSON string literal, quotes included.
    public static func quoted(_ text: String) -> String {
        String(decoding: stringToken(text), as: UTF8.self)
    }
}
