import CGlibcCompat
import NIOCore
import NIOPosix
import SluiceTime

/// The extension runs on one thread, its main thread, made an NIO event loop: it does the
/// extension's I/O and runs every job of Swift Concurrency and every timer. Swift's own pool would
/// add two threads (one per core) and its timers a third and a fourth (libdispatch's), NIO's shared
/// group one more, and Lambda stops and wakes every thread of the process at each freeze and thaw;
/// a delivery would also cross from the loop to the pool and back. Work that blocks for long goes
/// to a thread of its own (`onThreadOfItsOwn`), which ends with it.
enum OneThread {
    /// The main thread's loop, and the executor its jobs run on (made once rather than for every
    /// job): set by `run` before any job runs, never changed after.
    nonisolated(unsafe) private static var running: (loop: any EventLoop, executor: any SerialExecutor)?

    static var loop: any EventLoop { started.loop }
    private static var executor: any SerialExecutor { started.executor }
    private static var started: (loop: any EventLoop, executor: any SerialExecutor) {
        guard let running else { fatalError("OneThread.run has not made the event loop yet") }
        return running
    }

    /// Makes the calling thread (the main thread, before any other starts) the event loop, sends
    /// Swift Concurrency's jobs to it, and runs `body` there as a task. Returns only if the loop
    /// ends, which the extension never lets it do (it exits).
    static func run(_ body: @escaping @Sendable () async -> Void) {
        MultiThreadedEventLoopGroup.withCurrentThreadAsEventLoop { loop in
            OneThread.running = (loop, loop.executor)
            install()
            Task.detached { await body() }
        }
    }

    /// Sends Swift Concurrency's jobs to `loop`.
    private static func install() {
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
