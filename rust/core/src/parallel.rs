//! The thread pool every batch call runs on.
//!
//! One lazily built rayon pool per process, sized by [`set_num_threads`], else `MAXRL_NUM_THREADS`, else the
//! number of cores. A child made by `fork()` (torch DataLoader workers) inherits the pool's bookkeeping but
//! none of its threads, so using it there would wait forever. The pool is therefore keyed by process id: a
//! child that finds its parent's pool leaks it (dropping it would touch the dead threads' state) and builds
//! its own.

use std::sync::{Arc, Mutex};

use rayon::{ThreadPool, ThreadPoolBuilder};

struct Pool {
    pid: u32,
    threads: usize,
    pool: Arc<ThreadPool>,
}

static POOL: Mutex<Option<Pool>> = Mutex::new(None);
static REQUESTED: Mutex<usize> = Mutex::new(0);

/// Threads used when nothing was requested: `MAXRL_NUM_THREADS`, else the available cores.
fn default_threads() -> usize {
    std::env::var("MAXRL_NUM_THREADS")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}

/// Set the number of worker threads; 0 restores the default (env var, then core count).
pub fn set_num_threads(n: usize) {
    *REQUESTED.lock().unwrap_or_else(|e| e.into_inner()) = n;
}

/// Number of threads the next batch call will use.
pub fn num_threads() -> usize {
    match *REQUESTED.lock().unwrap_or_else(|e| e.into_inner()) {
        0 => default_threads(),
        n => n,
    }
}

/// The pool for this process with the requested size, (re)built when the size changed or after a fork.
pub fn pool() -> Arc<ThreadPool> {
    let threads = num_threads();
    let pid = std::process::id();
    let mut slot = POOL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = slot.as_ref() {
        if p.pid == pid && p.threads == threads {
            return Arc::clone(&p.pool);
        }
    }
    if let Some(old) = slot.take() {
        if old.pid != pid {
            // Inherited across fork(): its worker threads do not exist here.
            std::mem::forget(old);
        }
    }
    let pool = Arc::new(
        ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("maxrl-{i}"))
            .build()
            .expect("building the maxrl thread pool"),
    );
    *slot = Some(Pool {
        pid,
        threads,
        pool: Arc::clone(&pool),
    });
    pool
}

/// Run `f` inside the pool (so rayon iterators in it use our threads).
pub fn install<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    pool().install(f)
}

/// Run `f` on a pool of exactly `threads` threads, built for this call and dropped after it (so it never
/// outlives a fork); `None` uses the shared pool.
pub fn install_with<R: Send>(threads: Option<usize>, f: impl FnOnce() -> R + Send) -> R {
    match threads {
        None => install(f),
        Some(n) => ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .thread_name(|i| format!("maxrl-call-{i}"))
            .build()
            .expect("building a maxrl thread pool")
            .install(f),
    }
}

/// Inputs shorter than this are processed on the calling thread: the pool's wake-up costs more.
pub const PARALLEL_THRESHOLD: usize = 1 << 15;

/// Whether work over `len` items goes to the pool: it is large enough and there is more than one thread.
/// With one thread the calling thread does it, which spares the hand-over to a pool thread (and that
/// thread's own, cold, allocator arena).
pub fn use_pool(len: usize) -> bool {
    len >= PARALLEL_THRESHOLD && num_threads() > 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    #[test]
    fn pool_follows_requested_size() {
        set_num_threads(2);
        assert_eq!(num_threads(), 2);
        let n = install(rayon::current_num_threads);
        assert_eq!(n, 2);
        let s: u64 = install(|| (0..1000u64).into_par_iter().sum());
        assert_eq!(s, 499_500);
        set_num_threads(0);
        assert!(num_threads() >= 1);
    }
}
