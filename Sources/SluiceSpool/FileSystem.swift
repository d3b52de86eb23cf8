#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The few file operations the spool needs, on POSIX calls.
enum FileSystem {
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    static func isFolder(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func size(_ path: String) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Int(info.st_size)
    }

    /// Creates the spool's folder (0700, with parents) and the file itself (0600) if missing, so
    /// SQLite never creates them with the process umask. SQLite gives -wal and -shm the file's mode.
    static func prepareSpoolFile(at path: String) throws {
        let folder = parent(of: path)
        try createFolder(folder)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw SpoolError(
                .cannotOpen,
                "cannot create the spool file \(path): \(String(cString: strerror(errno))); "
                    + "set SLUICE_SPOOL_PATH to a writable location under /tmp")
        }
        close(descriptor)
    }

    private static func createFolder(_ folder: String) throws {
        guard !folder.isEmpty, !exists(folder) else { return }
        try createFolder(parent(of: folder))
        if mkdir(folder, 0o700) != 0 && errno != EEXIST {
            throw SpoolError(
                .cannotOpen,
                "cannot create the spool folder \(folder): \(String(cString: strerror(errno))); "
                    + "set SLUICE_SPOOL_PATH to a writable location under /tmp")
        }
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }
}
