//! CPU priorities of the engine's two threads.
//!
//! On a small machine the API server's workers, the clients and these threads share two
//! cores. Every write waits for the writer's commit, so the writer runs ahead of the rest
//! (when the process may raise a priority: root or `CAP_SYS_NICE`); the checkpointer only
//! copies committed pages into the database file, so it yields to everyone. Measured with
//! `ordo-bench get-patch` (docs/performance.md): mean PATCH p99 at 10k / 20k pods 5.7 / 5.8 ms
//! with neither, 4.5 / 4.5 ms with both.

/// The writer thread's nice value (negative: ahead of the default 0).
pub(super) const WRITER_NICE: i32 = -10;
/// The checkpointer thread's nice value (the lowest priority).
pub(super) const CHECKPOINTER_NICE: i32 = 19;

/// Sets the calling thread's nice value; logs at debug level when not permitted.
pub(super) fn set_thread_nice(nice: i32) {
    // SAFETY: plain system calls on the calling thread's own id; no memory is passed.
    let result = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice)
    };
    if result != 0 {
        tracing::debug!(
            nice,
            "cannot set the priority of thread {:?}: {}",
            std::thread::current().name(),
            std::io::Error::last_os_error()
        );
    }
}
