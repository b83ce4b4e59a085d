//! Where guest code runs once it outlives its first slice: a runtime of its
//! own, on threads that serve nothing else and run at a lower CPU priority,
//! so wasm never holds the threads that answer HTTP and run jobs for longer
//! than one epoch tick (1 ms).
//!
//! Guests also yield to each other on this runtime every slice
//! (`UpdateDeadline::Yield`), so a busy loop shares its thread with the
//! calls beside it instead of holding it until its timeout.

use std::future::Future;

use tokio::runtime::{Handle, Runtime};
use tokio::task::JoinHandle;

use crate::PluginError;

/// The `nice` increment of execution threads: the kernel gives the threads
/// serving requests about ten times their CPU share when both want a core.
const EXECUTION_NICE: i32 = 10;

/// The plugin execution runtime.
pub(crate) struct Executor {
    runtime: Option<Runtime>,
    handle: Handle,
}

impl Drop for Executor {
    fn drop(&mut self) {
        // Dropping a runtime from async code panics; let its threads end on their own.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Executor {
    /// Starts `threads` execution threads (at least one).
    pub(crate) fn start(threads: usize) -> Result<Executor, PluginError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .max_blocking_threads(64)
            .thread_name("plugin-exec")
            // New calls (queued from the request threads) go before guests
            // that yielded after a slice: a short call waits one slice at most.
            .global_queue_interval(1)
            .on_thread_start(lower_priority)
            .enable_all()
            .build()
            .map_err(|e| PluginError::Engine(format!("cannot start the plugin execution threads: {e}")))?;
        let handle = runtime.handle().clone();
        Ok(Executor { runtime: Some(runtime), handle })
    }

    /// Runs `task` on an execution thread.
    pub(crate) fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(task)
    }
}

/// Lowers the calling thread's scheduling priority (Linux: per thread).
#[allow(unsafe_code)]
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid and setpriority take plain integers and touch no
        // memory of ours; a failure only leaves the priority as it was.
        unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            let _ = libc::setpriority(libc::PRIO_PROCESS, tid, EXECUTION_NICE);
        }
    }
}
