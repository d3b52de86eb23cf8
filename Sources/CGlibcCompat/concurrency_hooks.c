// Swift Concurrency's global-executor hooks (see cglibc_run_concurrency_jobs_with in the header).
// The runtime calls them with Swift's calling convention, hence `swiftcall`; `run` is a plain C
// function the Swift side provides.
#include "CGlibcCompat.h"

#include <limits.h>

extern void *swift_task_enqueueGlobal_hook;
extern void *swift_task_enqueueGlobalWithDelay_hook;
extern void *swift_task_enqueueGlobalWithDeadline_hook;
// Now on one of Swift's clocks (continuous, suspending), as its deadlines are given.
extern void swift_get_time(long long *seconds, long long *nanoseconds, int clock) __attribute__((swiftcall));

static void (*run_job)(void *job, long long delay_ns);

__attribute__((swiftcall)) static void enqueue_global(void *job, void *original) {
    (void)original;
    run_job(job, 0);
}

__attribute__((swiftcall)) static void enqueue_global_with_delay(unsigned long long delay, void *job, void *original) {
    (void)original;
    run_job(job, delay > LLONG_MAX ? LLONG_MAX : (long long)delay);
}

__attribute__((swiftcall)) static void enqueue_global_with_deadline(
    long long seconds, long long nanoseconds, long long tolerance_seconds, long long tolerance_nanoseconds, int clock,
    void *job, void *original) {
    (void)tolerance_seconds;
    (void)tolerance_nanoseconds;
    (void)original;
    long long now_seconds = 0;
    long long now_nanoseconds = 0;
    swift_get_time(&now_seconds, &now_nanoseconds, clock);
    long long delay = (seconds - now_seconds) * 1000000000LL + (nanoseconds - now_nanoseconds);
    run_job(job, delay > 0 ? delay : 0);
}

void cglibc_run_concurrency_jobs_with(void (*run)(void *job, long long delay_ns)) {
    run_job = run;
    swift_task_enqueueGlobal_hook = (void *)enqueue_global;
    swift_task_enqueueGlobalWithDelay_hook = (void *)enqueue_global_with_delay;
    swift_task_enqueueGlobalWithDeadline_hook = (void *)enqueue_global_with_deadline;
}
