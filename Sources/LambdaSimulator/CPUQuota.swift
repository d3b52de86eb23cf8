import Foundation

/// The CPU Lambda gives an environment: in proportion to its memory, one vCPU at 1,769 MB, enforced
/// by a CFS bandwidth quota on the environment's cgroup (so a 128 MB function gets about a
/// fourteenth of a CPU, in slices). The simulator makes a cgroup of its own for the extension's
/// process with that quota: cgroup v2's `cpu.max` where the unified hierarchy has the `cpu`
/// controller, else v1's `cpu.cfs_quota_us`. The runtime (the simulator itself) is not in it,
/// where on Lambda it shares the quota.
final class CPUQuota: Sendable {
    /// The memory size at which Lambda gives one full vCPU.
    static let fullVCPUMemoryMB = 1_769
    /// The CFS period, Linux's default. The quota is spent within each period and the process waits
    /// for the next once it is.
    static let periodMicroseconds = 100_000

    /// The cgroup's folder.
    let path: String
    /// vCPUs the quota gives.
    let vCPUs: Double

    /// A new cgroup named `name` with the quota of a function of `memorySizeMB`; nil with the
    /// reason when this machine has no cgroup CPU controller this process may write.
    static func make(memorySizeMB: Int, name: String) -> Result<CPUQuota, SimulatorError> {
        let vCPUs = Double(memorySizeMB) / Double(fullVCPUMemoryMB)
        let quota = max(1_000, Int(vCPUs * Double(periodMicroseconds)))
        let unified = "/sys/fs/cgroup"
        let controllers = (try? String(contentsOfFile: unified + "/cgroup.controllers", encoding: .utf8)) ?? ""
        let candidates: [(folder: String, files: [(String, String)])] = [
            (unified, [("cpu.max", "\(quota) \(periodMicroseconds)")]),
            (
                unified + "/cpu",
                [("cpu.cfs_period_us", "\(periodMicroseconds)"), ("cpu.cfs_quota_us", "\(quota)")]
            ),
        ].filter { candidate in
            candidate.folder == unified
                ? controllers.split(whereSeparator: \.isWhitespace).contains("cpu")
                : FileManager.default.fileExists(atPath: candidate.folder + "/cpu.cfs_quota_us")
        }
        var reasons: [String] = []
        for candidate in candidates {
            let path = candidate.folder + "/" + name
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
                for (file, value) in candidate.files { try write(value, to: path + "/" + file) }
                return .success(CPUQuota(path: path, vCPUs: vCPUs))
            } catch {
                rmdir(path)
                reasons.append("\(path): \(error)")
            }
        }
        return .failure(
            SimulatorError(
                code: .launchFailed,
                message: "a CPU share needs a cgroup CPU controller this process may write (cgroup v2 cpu.max "
                    + "or v1 cpu.cfs_quota_us under /sys/fs/cgroup); "
                    + (reasons.isEmpty ? "none is mounted" : reasons.joined(separator: "; "))))
    }

    private init(path: String, vCPUs: Double) {
        self.path = path
        self.vCPUs = vCPUs
    }

    /// Moves `pid` (all its threads) into the cgroup.
    func add(_ pid: Int32) throws {
        try Self.write("\(pid)", to: path + "/cgroup.procs")
    }

    /// Removes the cgroup once its processes are gone (the kernel refuses while one is in it).
    func remove() async {
        for _ in 0..<100 {
            if rmdir(path) == 0 || errno == ENOENT { return }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    private static func write(_ value: String, to file: String) throws {
        guard let handle = FileHandle(forWritingAtPath: file) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: file])
        }
        defer { try? handle.close() }
        try handle.write(contentsOf: Data(value.utf8))
    }
}
