import Dispatch
import SluiceFuzzing
import SluiceTime

#if canImport(Glibc)
    import Glibc
#endif
#if SLUICE_FUZZ
    import CFuzzerDriver
#endif

// `sluice-fuzz NAME [libFuzzer flags and folders]`: built with SLUICE_FUZZ (tools/fuzz), runs
// libFuzzer on target NAME and traps on a violation, so libFuzzer keeps the input as a crash.
// Built without it: `sluice-fuzz NAME FILE...` replays files through the oracle.

/// Runs an oracle to its end from synchronous code (libFuzzer's callback).
func runBlocking(_ target: FuzzTarget, _ bytes: [UInt8]) -> [String] {
    let result = Locked<[String]>([])
    let done = DispatchSemaphore(value: 0)
    Task {
        let problems = await target.check(bytes)
        result.withLock { $0 = problems }
        done.signal()
    }
    done.wait()
    return result.withLock { $0 }
}

/// One line on standard error.
func complain(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

var arguments = CommandLine.arguments
guard arguments.count >= 2, let target = FuzzTarget.named(arguments[1]) else {
    let names = FuzzTarget.all.map(\.name).joined(separator: ", ")
    complain("usage: sluice-fuzz NAME [FILE or libFuzzer flag]...; NAME is one of \(names)")
    exit(2)
}
arguments.remove(at: 1)

#if SLUICE_FUZZ
    nonisolated(unsafe) var current: FuzzTarget? = target
    var argc = Int32(arguments.count)
    var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    let status = cArguments.withUnsafeMutableBufferPointer { buffer in
        var argv = buffer.baseAddress
        return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
            let problems = runBlocking(current!, bytes)
            if !problems.isEmpty {
                fatalError("\(current!.name): " + problems.joined(separator: "; "))
            }
            return 0
        }
    }
    exit(status)
#else
    var failed = 0
    for path in arguments.dropFirst() {
        guard let handle = fopen(path, "rb") else {
            complain("cannot read \(path)")
            exit(2)
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while case let count = fread(&chunk, 1, chunk.count, handle), count > 0 { bytes += chunk[0..<count] }
        fclose(handle)
        let problems = runBlocking(target, bytes)
        if !problems.isEmpty {
            failed += 1
            print("\(path): " + problems.joined(separator: "; "))
        }
    }
    print("\(arguments.count - 1) files, \(failed) with violations")
    exit(failed == 0 ? 0 : 1)
#endif
