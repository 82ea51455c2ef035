//! The object cache's writes, off the compiling thread: a miss hands its finished entry to one
//! writer thread per process and goes on linking, so code generation never waits on the
//! filesystem (creating, writing and renaming a file cost ~0.3 ms per entry on a busy ext4,
//! a tenth of a small module's compile).
//!
//! What a write guarantees is [`ObjectCache::put_file`]'s, unchanged (a temporary file, then an
//! atomic rename); only *when* it happens moves. So that a program that ends right after adding
//! its modules still leaves a complete cache, the writes pending are waited for:
//! - by [`Jit::cache_stats`] (so `stored` counts what is on disk) and when a `Jit` is dropped,
//!   for the writes that JIT asked for ([`Writes::wait`]);
//! - at process exit (`exit`, or `main` returning with a JIT never dropped), for all of them,
//!   by an `atexit` handler of orc-jit's own.
//!
//! A process that dies (a signal, `_exit`, an abort) loses the writes still pending, as it
//! loses a synchronous write it was in the middle of: the next start compiles those modules
//! again. A child forked from a process with a writer has no writer thread: its writes are made
//! on the calling thread, as they were before. The queue holds at most [`QUEUE_BYTES`] of
//! entries: past that, a miss waits for the writer, so a compile far faster than the disk
//! cannot fill memory. The writer wakes once per batch of entries (see [`BATCH`]), not once per
//! entry: on this project's 2-core VM that took its time on a CPU from 25 ms to 10 ms for 200
//! entries.
//!
//! [`Jit::cache_stats`]: crate::Jit::cache_stats

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use crate::cache::{EntryFile, ObjectCache};

/// The most the queue holds (entries' bytes) before a miss waits for the writer.
const QUEUE_BYTES: usize = 64 << 20;

/// The writer wakes for a batch: once it has this many entries, or [`LINGER`] after the first,
/// or at once when someone waits. Waking a thread is not free (on a VM, an idle virtual CPU
/// woken by another costs the host's time too): one wake per entry cost more than the write.
const BATCH: usize = 16;
const LINGER: Duration = Duration::from_millis(20);

/// What to do with the outcome of a write: count it and log it (objects.rs).
pub(crate) type Then = Box<dyn FnOnce(Result<(), String>) + Send>;

/// One entry to store.
struct Job {
    cache: Arc<ObjectCache>,
    key: [u8; 32],
    file: EntryFile,
    then: Then,
}

impl Job {
    fn run(self) {
        let Job {
            cache,
            key,
            file,
            then,
        } = self;
        then(cache.put_file(&key, file));
    }
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// The entries' bytes in `jobs`.
    bytes: usize,
    /// Jobs handed to the writer so far, and jobs it finished: job `n` (from 1) is done once
    /// `done >= n`.
    submitted: u64,
    done: u64,
    /// The writer thread is gone (it panicked): nobody waits for it any more.
    stopped: bool,
    /// Threads waiting for jobs to be done (a wait, or a full queue): the writer writes at
    /// once, and tells them of its progress.
    waiting: usize,
}

/// The process's writer: its queue, and the thread that empties it.
struct Writer {
    /// The process that started the thread: a forked child's `getpid` differs.
    pid: u32,
    queue: Mutex<Queue>,
    /// Signalled when the writer should look at the queue (see [`BATCH`]).
    work: Condvar,
    /// Signalled when a job is done and someone waits (see `Queue::waiting`).
    progress: Condvar,
}

impl Writer {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The writer thread's loop: a batch at a time, each job in order.
    fn serve(&self) {
        // Whatever ends the loop (a panic in a write), waiters must not wait for ever.
        struct Stopped<'a>(&'a Writer);
        impl Drop for Stopped<'_> {
            fn drop(&mut self) {
                let mut queue = self.0.lock();
                queue.stopped = true;
                queue.jobs.clear();
                queue.bytes = 0;
                drop(queue);
                self.0.progress.notify_all();
            }
        }
        let _stopped = Stopped(self);
        let mut queue = self.lock();
        loop {
            if queue.jobs.is_empty() {
                queue = self.work.wait(queue).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            if queue.jobs.len() < BATCH && queue.waiting == 0 {
                // Woken by a batch's first job: let more come (a wait or a full batch ends this).
                queue = self
                    .work
                    .wait_timeout(queue, LINGER)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            let batch = std::mem::take(&mut queue.jobs);
            queue.bytes = 0;
            drop(queue);
            for job in batch {
                job.run();
                let mut queue = self.lock();
                queue.done += 1;
                if queue.waiting > 0 {
                    self.progress.notify_all();
                }
            }
            queue = self.lock();
        }
    }

    /// Waits until job `ticket` is done (or the writer is gone).
    fn wait_for(&self, ticket: u64) {
        let mut queue = self.lock();
        if queue.done >= ticket || queue.stopped {
            return;
        }
        queue.waiting += 1;
        // A lingering writer writes at once.
        self.work.notify_one();
        while queue.done < ticket && !queue.stopped {
            queue = self.progress.wait(queue).unwrap_or_else(|e| e.into_inner());
        }
        queue.waiting -= 1;
    }
}

/// The writer, started by the first write of the process. `None` if the thread cannot be
/// started: writes are then made by the caller.
fn writer() -> Option<&'static Writer> {
    static WRITER: OnceLock<Option<&'static Writer>> = OnceLock::new();
    *WRITER.get_or_init(|| {
        let writer: &'static Writer = Box::leak(Box::new(Writer {
            pid: std::process::id(),
            queue: Mutex::new(Queue::default()),
            work: Condvar::new(),
            progress: Condvar::new(),
        }));
        let started = std::thread::Builder::new()
            .name("orc-jit-cache-writer".into())
            .spawn(move || writer.serve());
        match started {
            Ok(_) => {
                // SAFETY: registers a function of orc-jit's (host code, never unloaded).
                unsafe { libc::atexit(wait_at_exit) };
                Some(writer)
            }
            Err(_) => None,
        }
    })
}

/// At process exit, every write asked for is finished before the process goes.
extern "C" fn wait_at_exit() {
    // No unwinding out of an `extern "C"` function; a panic here would abort anyway.
    let _ = std::panic::catch_unwind(|| {
        if let Some(writer) = writer().filter(|w| w.pid == std::process::id()) {
            let ticket = writer.lock().submitted;
            writer.wait_for(ticket);
        }
    });
}

/// The writes one JIT asked for: what [`Writes::wait`] waits for.
#[derive(Default)]
pub(crate) struct Writes {
    /// The ticket of its last job (0: none).
    last: AtomicU64,
}

impl Writes {
    /// Stores `file` under `key` in `cache`, in the background when it can; `then` gets the
    /// outcome, on the writer thread.
    pub(crate) fn submit(
        &self,
        cache: &Arc<ObjectCache>,
        key: [u8; 32],
        file: EntryFile,
        then: Then,
    ) {
        let job = Job {
            cache: Arc::clone(cache),
            key,
            file,
            then,
        };
        let Some(writer) = writer().filter(|w| w.pid == std::process::id()) else {
            return job.run();
        };
        let mut queue = writer.lock();
        // A full queue waits for room (an entry larger than the whole queue waits for none).
        let full = |queue: &Queue| {
            !queue.stopped && queue.bytes > 0 && queue.bytes + job.file.len() > QUEUE_BYTES
        };
        if full(&queue) {
            queue.waiting += 1;
            writer.work.notify_one();
            while full(&queue) {
                queue = writer
                    .progress
                    .wait(queue)
                    .unwrap_or_else(|e| e.into_inner());
            }
            queue.waiting -= 1;
        }
        if queue.stopped {
            drop(queue);
            return job.run();
        }
        queue.bytes += job.file.len();
        queue.jobs.push_back(job);
        queue.submitted += 1;
        self.last.fetch_max(queue.submitted, Ordering::Relaxed);
        // The writer sleeps until a batch's first job, then lingers until its last.
        let wake = queue.jobs.len() == 1 || queue.jobs.len() >= BATCH;
        drop(queue);
        if wake {
            writer.work.notify_one();
        }
    }

    /// Waits until every write this JIT asked for is finished.
    pub(crate) fn wait(&self) {
        let last = self.last.load(Ordering::Relaxed);
        if last == 0 {
            return;
        }
        if let Some(writer) = writer().filter(|w| w.pid == std::process::id()) {
            writer.wait_for(last);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;
    use std::time::Duration;

    use super::*;
    use crate::cache::Lookup;

    const CHILD_DIR: &str = "ORC_JIT_CACHE_WRITER_TEST_DIR";
    const ENTRIES: u8 = 12;
    /// What each write's `then` waits on the writer thread: the last writes are still queued
    /// when the child exits, whatever the machine's speed.
    const SLOW: Duration = Duration::from_millis(25);

    fn key(n: u8) -> [u8; 32] {
        let mut key = [0x5a; 32];
        key[0] = n;
        key
    }

    fn object(n: u8) -> Vec<u8> {
        vec![n; 4000 + usize::from(n)]
    }

    /// Queues slow writes of [`ENTRIES`] entries into `dir`; returns how many were done when
    /// the last was queued.
    fn queue_slow_writes(dir: &Path, writes: &Writes) -> u64 {
        let cache = Arc::new(ObjectCache::open(dir, 1 << 30).unwrap());
        let done = Arc::new(AtomicU64::new(0));
        for n in 0..ENTRIES {
            let done = Arc::clone(&done);
            writes.submit(
                &cache,
                key(n),
                EntryFile::new(b"{}", &object(n)),
                Box::new(move |outcome| {
                    outcome.unwrap();
                    std::thread::sleep(SLOW);
                    done.fetch_add(1, Ordering::Relaxed);
                }),
            );
        }
        done.load(Ordering::Relaxed)
    }

    fn expect_all(dir: &Path) {
        let cache = ObjectCache::open(dir, 1 << 30).unwrap();
        for n in 0..ENTRIES {
            match cache.get(&key(n)) {
                Lookup::Hit(entry) => assert!(entry.object == object(n), "entry {n}"),
                other => panic!("entry {n}: {other:?}"),
            }
        }
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "orc-jit-cache-writer-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_process_that_exits_with_writes_queued_finishes_them_first() {
        if let Ok(dir) = std::env::var(CHILD_DIR) {
            let queued_done = queue_slow_writes(Path::new(&dir), &Writes::default());
            println!("done when the last was queued: {queued_done}");
            std::process::exit(0);
        }
        let dir = scratch("exit");
        let test =
            "cache_writer::tests::a_process_that_exits_with_writes_queued_finishes_them_first";
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, &dir)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The writes were in the background: most were still queued at `exit`.
        let line = stdout
            .lines()
            .find(|l| l.contains("done when the last"))
            .unwrap();
        let queued_done: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(queued_done < u64::from(ENTRIES), "{line}");
        expect_all(&dir);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn wait_returns_once_every_write_asked_for_is_done() {
        let dir = scratch("wait");
        let writes = Writes::default();
        queue_slow_writes(&dir, &writes);
        writes.wait();
        expect_all(&dir);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
