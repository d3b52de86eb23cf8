import FoundationEssentials

/// A process's resident memory from `/proc/PID/status`, in KiB: the peak (VmHWM) and the two parts
/// of the current resident set, its own anonymous memory (heap, stacks, written data) and the
/// file pages it has mapped (the binary's code and read-only data, shared with the page cache).
struct ResidentMemory {
    var peakKiB: Int
    var anonymousKiB: Int
    var fileKiB: Int

    static func read(_ pid: Int32) -> ResidentMemory? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        var fields: [Substring: Int] = [:]
        for line in status.split(separator: "\n") {
            // "VmHWM:\t   26276 kB"
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if parts.count >= 2, let value = Int(parts[1]) { fields[parts[0].dropLast()] = value }
        }
        guard let peak = fields["VmHWM"], let anonymous = fields["RssAnon"], let file = fields["RssFile"] else {
            return nil
        }
        return ResidentMemory(peakKiB: peak, anonymousKiB: anonymous, fileKiB: file)
    }

    /// Samples `pid` every 2 ms until cancelled; the task's value is the sample with the most
    /// anonymous memory. The kernel keeps no peak of that part, so it is sampled: a spike shorter
    /// than a sample can be missed, never overstated.
    static func sampleAnonymousPeak(_ pid: Int32) -> Task<ResidentMemory?, Never> {
        Task.detached {
            var peak: ResidentMemory?
            while !Task.isCancelled {
                if let sample = read(pid), sample.anonymousKiB > peak?.anonymousKiB ?? -1 { peak = sample }
                try? await Task.sleep(for: .milliseconds(2))
            }
            return peak
        }
    }
}
