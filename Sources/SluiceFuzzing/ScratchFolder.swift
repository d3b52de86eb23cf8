#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A folder of this process's own under the temporary directory, for the spools the oracles use:
/// a fuzz run writes nowhere else.
enum ScratchFolder {
    static let path: String = {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(base)/sluice-fuzz-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { fatalError("cannot make a folder under \(base)") }
        let path = String(cString: made)
        // Removed at exit, crash or not (libFuzzer exits through exit()).
        atexit { ScratchFolder.remove(ScratchFolder.path) }
        return path
    }()

    /// A subfolder, emptied.
    static func fresh(_ name: String) -> String {
        let folder = "\(path)/\(name)"
        remove(folder)
        mkdir(folder, 0o700)
        return folder
    }

    /// Removes a file or a folder and what it holds.
    static func remove(_ target: String) {
        guard let directory = opendir(target) else {
            unlink(target)
            return
        }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name == "." || name == ".." { continue }
            remove("\(target)/\(name)")
        }
        closedir(directory)
        rmdir(target)
    }
}
