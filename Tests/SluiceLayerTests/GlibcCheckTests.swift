import Foundation
import SluiceTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `tools/check-glibc`, the layer's guard against symbols Lambda's glibc 2.34 lacks, on small C
/// programs compiled here, and the shim (`Sources/CGlibcCompat`) that keeps `sluice` within it.
@Suite struct GlibcCheckTests {
    /// A program that calls hypot and hypotf: linked on glibc 2.35 or later, it needs their GLIBC_2.35 versions.
    static let program = """
        #include <math.h>
        #include <stdio.h>
        #include <stdlib.h>
        int main(int argc, char **argv) {
            double side = argc > 1 ? atof(argv[1]) : 3.0;
            printf("%.1f %.1f\\n", hypot(side, 4.0), (double)hypotf((float)side, 4.0f));
            return 0;
        }
        """

    static let checker = packageRoot.appendingPathComponent("tools/check-glibc").path
    static let shim = packageRoot.appendingPathComponent("Sources/CGlibcCompat/hypot.c").path

    /// True on glibc 2.35 or later, where a plain link binds hypot to GLIBC_2.35.
    static let glibcHasNewHypot: Bool = {
        #if canImport(Glibc)
            // "glibc 2.36"
            var buffer = [CChar](repeating: 0, count: 64)
            guard confstr(Int32(_CS_GNU_LIBC_VERSION), &buffer, buffer.count) > 0 else { return false }
            let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let parts = text.split(separator: " ").last?.split(separator: ".").compactMap { Int($0) } ?? []
            return parts.count >= 2 && (parts[0], parts[1]) >= (2, 35)
        #else
            return false
        #endif
    }()

    /// Compiles `program` (plus `extra` C files) into `folder` with the first C compiler on PATH.
    func compile(in folder: TemporaryFolder, _ extra: [String] = []) async throws -> String {
        let source = folder.file("program.c")
        try Self.program.write(toFile: source, atomically: true, encoding: .utf8)
        let binary = folder.file("program")
        let compilers = ["clang", "cc", "gcc"]
        var lastError = ""
        for compiler in compilers {
            let result = try await runProcess(
                "/usr/bin/env", [compiler, "-O1", "-o", binary, source] + extra + ["-lm"], timeout: 120)
            if result.status == 0 { return binary }
            lastError = result.error
        }
        Issue.record("no C compiler on PATH could build the test program: \(lastError)")
        throw POSIXError(.ENOENT)
    }

    @Test(.enabled(if: glibcHasNewHypot, "needs glibc 2.35 or later to link hypot@GLIBC_2.35"))
    func aBinaryThatNeedsGlibc235IsRejectedNamingTheSymbols() async throws {
        let folder = try TemporaryFolder()
        let binary = try await compile(in: folder)
        let result = try await runProcess(Self.checker, [binary])
        #expect(result.status == 1)
        #expect(result.error.contains("hypot@GLIBC_2.35"))
        #expect(result.error.contains("hypotf@GLIBC_2.35"))
        #expect(result.error.contains("above GLIBC_2.34"))
        #expect(result.output.contains("GLIBC 2.35"))
    }

    @Test func theShimBindsHypotToTheOldVersionAndTheCheckAccepts() async throws {
        let folder = try TemporaryFolder()
        let binary = try await compile(in: folder, [Self.shim])
        let result = try await runProcess(Self.checker, [binary])
        #expect(result.status == 0, "\(result.error)")
        #expect(!result.output.contains("GLIBC 2.35"))
        let symbols = try await runProcess("/usr/bin/env", ["objdump", "-T", binary])
        #expect(symbols.output.contains("(GLIBC_2.2.5) hypot"))
        #expect(!symbols.output.contains("GLIBC_2.35"))
        // The old versions compute the same: the program still finds 3-4-5.
        let run = try await runProcess(binary, [])
        #expect(run.output == "5.0 5.0\n")
    }

    @Test func limitsAreOptionsAndEveryOffenderIsNamed() async throws {
        let folder = try TemporaryFolder()
        let binary = try await compile(in: folder, [Self.shim])
        // Nothing needs less than the x86-64 base version, so a limit below any real need rejects printf.
        let result = try await runProcess(Self.checker, ["--glibc", "2.0", binary])
        #expect(result.status == 1)
        #expect(result.error.contains("printf@GLIBC_2.2.5"))
        #expect(result.error.contains("hypot@GLIBC_2.2.5"))
    }

    @Test func aFileThatIsNotElfIsAUsageError() async throws {
        let result = try await runProcess(Self.checker, [Self.shim])
        #expect(result.status == 2)
        #expect(result.error.contains("is not an ELF file"))
    }

    @Test func theShippedExecutableNeedsNothingAboveGlibc234() async throws {
        // The debug build links the Swift runtime dynamically, so only the executable itself is
        // checked here; tools/build-layer checks the static release build.
        let result = try await runProcess(Self.checker, [try builtProduct("sluice")])
        #expect(result.status == 0, "\(result.error)")
    }
}
