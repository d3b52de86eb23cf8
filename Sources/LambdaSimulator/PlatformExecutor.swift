import NIOCore
import NIOPosix

/// The thread the simulated platform runs on: the executor of its actors and the executor its tasks
/// prefer. Deadlines (init limit, function timeout, the SIGKILL at shutdown) must hold even when
/// other tests block every thread of Swift's shared pool with synchronous waits.
final class PlatformExecutor: TaskExecutor, SerialExecutor {
    static let shared = PlatformExecutor(loop: MultiThreadedEventLoopGroup(numberOfThreads: 1).next())

    private let loop: any EventLoop

    private init(loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute {
            job.runSynchronously(
                isolatedTo: self.asUnownedSerialExecutor(), taskExecutor: self.asUnownedTaskExecutor())
        }
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }
}
