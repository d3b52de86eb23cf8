import CGlibcCompat
import NIOCore
import NIOPosix
import SluiceTime

/// The extension runs on one thread: the NIO event loop that does its I/O also runs every job of
/// Swift Concurrency and every timer. Swift's own pool would add two threads (one per core) and
/// its timers a third and a fourth (libdispatch's), and Lambda stops and wakes every thread of
/// the process at each freeze and thaw; a delivery would also cross from the loop to the pool and
/// back. Work that blocks for long goes to a thread of its own (`onThreadOfItsOwn`).
enum OneThread {
    static let loop = MultiThreadedEventLoopGroup.singleton.next()
    /// `loop` as the executor its jobs run on, made once rather than for every job.
    static let executor = loop.executor

    /// Sends Swift Concurrency's jobs to `loop`; call it first, before any task starts.
    static func install() {
        cglibc_run_concurrency_jobs_with { job, delay in
            let job = unsafeBitCast(job, to: UnownedJob.self)
            if delay <= 0 {
                // The loop's own queue of jobs: no closure allocated per job.
                OneThread.executor.enqueue(ExecutorJob(job))
            } else {
                OneThread.loop.scheduleTask(in: .nanoseconds(delay)) {
                    job.runSynchronously(on: OneThread.executor.asUnownedSerialExecutor())
                }
            }
        }
    }

    /// The system's clock, with sleeps timed by `loop`. `Task.sleep` would not do: it goes to
    /// libdispatch's timers directly, past the hook `install` sets.
    static let clock = WallClock.system { milliseconds in
        let timer = OneThread.loop.scheduleTask(in: .milliseconds(milliseconds)) {}
        await withTaskCancellationHandler {
            _ = try? await timer.futureResult.get()
        } onCancel: {
            timer.cancel()
        }
    }
}
