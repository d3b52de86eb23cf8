#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs blocking `work` on a thread started for it, which ends with it, and returns its result.
/// The extension runs everything else on its one event-loop thread, which long blocking work
/// (reading a whole spool file to check it) would hold away from the platform's calls.
public func onThreadOfItsOwn<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let job = Unmanaged.passRetained(ThreadJob { continuation.resume(returning: work()) })
        #if canImport(Glibc)
            var thread = pthread_t()
        #else
            var thread: pthread_t?
        #endif
        let started = pthread_create(
            &thread, nil,
            { argument in
                guard let argument else { return nil }
                Unmanaged<ThreadJob>.fromOpaque(argument).takeRetainedValue().body()
                return nil
            }, job.toOpaque())
        if started == 0 {
            #if canImport(Glibc)
                pthread_detach(thread)
            #else
                if let thread { pthread_detach(thread) }
            #endif
        } else {
            // No thread to be had: the work runs here rather than not at all.
            job.takeRetainedValue().body()
        }
    }
}

private final class ThreadJob: Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}
