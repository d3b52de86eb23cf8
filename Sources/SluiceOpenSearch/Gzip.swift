import CZlib
import SluiceDigest

/// gzip compression of request bodies (zlib), fed in pieces: a `_bulk` body is compressed as it is
/// encoded, so the shipper never holds a batch's whole uncompressed body (5 MB at the default
/// batch size) at its peak of memory.
///
/// zlib deflates (raw); the member's header and trailer are written here, with the CRC-32 of
/// `SluiceDigest` (zlib's own was 2.1 % of the extension's CPU by `perf`, this one 0.7 %).
final class Gzip {
    /// zlib's state points back at its stream, which therefore must not move: it lives on the heap.
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private var output: [UInt8] = []
    private var chunk: [UInt8]
    private var failed: Bool
    /// Input bytes zlib may take between two full flushes (see `write`), and taken since the last.
    private let resetEvery: Int
    private var sinceReset = 0
    /// The CRC-32 and length (modulo 2^32) of the input so far, for the trailer.
    private var crc: UInt32 = 0
    private var length: UInt32 = 0

    /// A gzip member's header: deflate, no name, no time, no extra flags, made on Unix (3).
    private static let header: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]

    /// A compressor at zlib `level` (1: fastest); `expectedInput` sizes the output, zlib's state and
    /// the chunk zlib writes into for it.
    init(level: Int32 = 1, expectedInput: Int = 0) {
        stream.initialize(to: z_stream())
        let (windowBits, memoryLevel) = Self.state(for: expectedInput)
        failed = czlib_deflate_init_raw(stream, level, windowBits, memoryLevel) != Z_OK
        // zlib's window is twice its reach; it slides when the input reaches the window's end,
        // less the lookahead it keeps (262 bytes). A body sized below the largest window fits it.
        resetEvery = windowBits == 15 ? (2 << 15) - 1536 : .max
        // NDJSON of telemetry compresses about 8:1 at level 1.
        output.reserveCapacity(expectedInput / 8 + 1024)
        output += Self.header
        chunk = [UInt8](repeating: 0, count: min(64 << 10, max(4 << 10, expectedInput / 8 + 1024)))
    }

    /// zlib's window and memory level for a body of `bytes`: the defaults (32 KiB window, memory
    /// level 8: four 64 KiB blocks) for 32 KiB and more; below that a window that just holds the
    /// body (so every match the default finds is still in reach) and a memory level to match.
    /// A `_bulk` body of one invocation's platform events is a few KiB: its state is then four
    /// blocks of a few KiB from the heap, where 64 KiB blocks were mapped, faulted in page by page,
    /// and unmapped again for every request.
    static func state(for bytes: Int) -> (windowBits: Int32, memoryLevel: Int32) {
        var windowBits: Int32 = 9
        while windowBits < 15 && (1 << windowBits) < bytes { windowBits += 1 }
        return (windowBits, max(1, windowBits - 7))
    }

    deinit {
        if !failed { deflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Compresses `bytes` (the output so far grows a chunk at a time, as zlib fills them).
    ///
    /// Every `resetEvery` bytes of input, a full flush: zlib ends its block, forgets its history and,
    /// with all its input taken, starts its window again at its first byte, so the window never
    /// slides. A slide rewrites every entry of the match tables (64 Ki entries for each 32 KiB of
    /// input): it was 7 % of the extension's CPU, where the reset clears 64 KiB with `memset`.
    /// Matches do not reach back across a reset; a reset costs 5 bytes and a new block's code tables.
    func write(_ bytes: UnsafeBufferPointer<UInt8>) {
        var rest = bytes[...]
        while !failed, !rest.isEmpty {
            let take = min(rest.count, resetEvery - sinceReset)
            let piece = UnsafeBufferPointer(rebasing: rest.prefix(take))
            rest = rest.dropFirst(take)
            crc = CRC32.update(crc, piece)
            length &+= UInt32(truncatingIfNeeded: piece.count)
            // zlib reads through a non-const pointer but never writes the input.
            stream.pointee.next_in = UnsafeMutablePointer(mutating: piece.baseAddress)
            stream.pointee.avail_in = UInt32(piece.count)
            while stream.pointee.avail_in > 0 && !failed {
                failed = deflateStep(Z_NO_FLUSH) != Z_OK
            }
            sinceReset += take
            if sinceReset == resetEvery && !failed {
                // A flush is done when zlib leaves room in the chunk it wrote into.
                repeat {
                    failed = deflateStep(Z_FULL_FLUSH) != Z_OK
                } while !failed && stream.pointee.avail_out == 0
                sinceReset = 0
            }
        }
    }

    /// The gzip member, or nil if zlib failed (the caller then sends the body uncompressed).
    func finish() -> [UInt8]? {
        guard !failed else { return nil }
        var status = Z_OK
        while status == Z_OK { status = deflateStep(Z_FINISH) }
        guard status == Z_STREAM_END else {
            failed = true
            return nil
        }
        for value in [crc, length] {
            for shift in stride(from: 0, to: 32, by: 8) { output.append(UInt8(truncatingIfNeeded: value >> shift)) }
        }
        return output
    }

    private func deflateStep(_ flush: Int32) -> Int32 {
        chunk.withUnsafeMutableBufferPointer { target in
            stream.pointee.next_out = target.baseAddress
            stream.pointee.avail_out = UInt32(target.count)
            let status = deflate(stream, flush)
            output.append(contentsOf: target[..<(target.count - Int(stream.pointee.avail_out))])
            return status
        }
    }

    /// `bytes` as one gzip member, or nil if zlib fails.
    static func compress(_ bytes: [UInt8], level: Int32 = 1) -> [UInt8]? {
        let gzip = Gzip(level: level, expectedInput: bytes.count)
        bytes.withUnsafeBufferPointer { gzip.write($0) }
        return gzip.finish()
    }
}
