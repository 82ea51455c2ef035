//! Where a module's object file comes from: the JIT's object cache, or a compile (in this
//! process or a worker), which then fills the cache. A hit re-enters exactly where a compiled
//! object does, so every check the JIT makes (object_file.rs, declarations, constructors) holds
//! on a hit too; what the checks need from the IR (the module's symbols and signatures) is
//! stored beside the object, integrity-checked with it (cache.rs).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::cache::{EntryFile, Lookup, ObjectCache};
use crate::cache_writer::Writes;
use crate::compile::Compiled;
use crate::error::Result;
use crate::jit::Jit;
use crate::key::{ModuleKey, object_key};
use crate::symbols::ModuleSymbols;

/// What the cache did, since the JIT was built ([`Jit::cache_stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Whether the JIT has a cache (it asked for one, and the directory could be used).
    pub enabled: bool,
    /// Modules whose object came from the cache: no parsing beyond what the checks need, no
    /// optimisation, no code generation.
    pub hits: u64,
    /// Modules the cache did not have.
    pub misses: u64,
    /// Entries that were there but not used (truncated, corrupt, foreign): compiled again and
    /// replaced.
    pub rejected: u64,
    /// Objects stored.
    pub stored: u64,
    /// Objects not stored because they hold process-specific values (an absolute address).
    pub not_cacheable: u64,
    /// Modules compiled, in this process or by a worker, cache or not.
    pub compiled: u64,
}

/// The cache of one JIT, with its counters.
pub(crate) struct Objects {
    cache: Option<Arc<ObjectCache>>,
    /// The stores asked of the writer thread, waited for by [`Objects::stats`] and on drop.
    writes: Writes,
    hits: AtomicU64,
    misses: AtomicU64,
    rejected: AtomicU64,
    /// Counted by the writer thread, once the entry is in place.
    stored: Arc<AtomicU64>,
    not_cacheable: AtomicU64,
    compiled: AtomicU64,
}

/// What a cache entry holds beside the object.
#[derive(serde::Serialize, serde::Deserialize)]
struct Metadata {
    symbols: ModuleSymbols,
}

impl Objects {
    /// A cache in `dir` (created if missing) of at most `size_limit` bytes; `None` for no cache.
    /// A directory that cannot be used means no cache, with a warning on stderr (the program
    /// runs as it would without one).
    pub(crate) fn open(cache: Option<&(PathBuf, u64)>) -> Objects {
        let cache = cache.and_then(|(dir, limit)| match ObjectCache::open(dir, *limit) {
            Ok(cache) => Some(Arc::new(cache)),
            Err(reason) => {
                eprintln!(
                    "orc-jit: warning: running without the object cache: {reason} (choose a \
                     directory this program can write, or none)"
                );
                None
            }
        });
        Objects {
            cache,
            writes: Writes::default(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            stored: Arc::default(),
            not_cacheable: AtomicU64::new(0),
            compiled: AtomicU64::new(0),
        }
    }

    /// The counters, once every store asked for so far is finished (so `stored` counts what is
    /// on disk).
    pub(crate) fn stats(&self) -> CacheStats {
        self.writes.wait();
        let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
        CacheStats {
            enabled: self.cache.is_some(),
            hits: load(&self.hits),
            misses: load(&self.misses),
            rejected: load(&self.rejected),
            stored: self.stored.load(Ordering::Relaxed),
            not_cacheable: load(&self.not_cacheable),
            compiled: load(&self.compiled),
        }
    }
}

impl Drop for Objects {
    /// A program that ends right after adding its modules leaves them all in the cache.
    fn drop(&mut self) {
        self.writes.wait();
    }
}

/// Whether `ORC_JIT_LOG` asks for the cache's log lines (on stderr).
fn logging() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| {
        std::env::var("ORC_JIT_LOG").is_ok_and(|v| v.split(',').any(|w| w == "cache" || w == "all"))
    })
}

fn log(line: std::fmt::Arguments<'_>) {
    if logging() {
        eprintln!("orc-jit: object cache: {line}");
    }
}

impl Jit {
    /// The object of module `name` (what it was made from: `module`): the cache's, or what
    /// `compile` makes, stored for next time.
    pub(crate) fn object_for(
        &self,
        name: &str,
        module: ModuleKey,
        compile: impl FnOnce() -> Result<Compiled>,
    ) -> Result<Compiled> {
        let objects = &self.objects;
        let Some(cache) = &objects.cache else {
            objects.compiled.fetch_add(1, Ordering::Relaxed);
            return compile();
        };
        let key = object_key(&module, name, &self.codegen, &self.tools);
        let short: String = key[..6].iter().map(|b| format!("{b:02x}")).collect();
        match cache.get(&key) {
            Lookup::Hit(entry) => match serde_json::from_slice::<Metadata>(&entry.metadata) {
                Ok(metadata) => {
                    objects.hits.fetch_add(1, Ordering::Relaxed);
                    log(format_args!("hit: {name} ({short}…)"));
                    return Ok(Compiled {
                        object: entry.object,
                        symbols: metadata.symbols,
                        key: module,
                        // The caller's path says whether it is bounded: the cache does not
                        // change what the JIT accepts.
                        isolated: false,
                    });
                }
                Err(e) => {
                    objects.rejected.fetch_add(1, Ordering::Relaxed);
                    log(format_args!(
                        "{name} ({short}…): its entry's metadata is not this version's ({e}): \
                         compiling again"
                    ));
                }
            },
            Lookup::Miss => {
                objects.misses.fetch_add(1, Ordering::Relaxed);
                log(format_args!("miss: {name} ({short}…)"));
            }
            Lookup::Rejected(reason) => {
                objects.rejected.fetch_add(1, Ordering::Relaxed);
                log(format_args!("{reason}: compiling {name} again"));
            }
        }
        objects.compiled.fetch_add(1, Ordering::Relaxed);
        let compiled = compile()?;
        if let Some(reason) = &compiled.symbols.process_specific {
            objects.not_cacheable.fetch_add(1, Ordering::Relaxed);
            log(format_args!("not stored: {name} {reason}"));
            return Ok(compiled);
        }
        let metadata = match serde_json::to_vec(&Metadata {
            symbols: compiled.symbols.clone(),
        }) {
            Ok(metadata) => metadata,
            Err(e) => {
                log(format_args!("not stored: {name}: {e}"));
                return Ok(compiled);
            }
        };
        // Written by the writer thread: this thread goes on to link the object.
        let file = EntryFile::new(&metadata, &compiled.object);
        let stored = Arc::clone(&objects.stored);
        let name = name.to_owned();
        let dir = cache.dir().to_owned();
        objects.writes.submit(
            cache,
            key,
            file,
            Box::new(move |outcome| match outcome {
                Ok(()) => {
                    stored.fetch_add(1, Ordering::Relaxed);
                    log(format_args!(
                        "stored: {name} ({short}…) in {}",
                        dir.display()
                    ));
                }
                // The cache never fails the program: the module is compiled, only not kept.
                Err(reason) => log(format_args!("not stored: {name}: {reason}")),
            }),
        );
        Ok(compiled)
    }

    /// What the object cache did since the JIT was built, and how many modules were compiled
    /// (a program whose modules all came from the cache compiled none). Waits for the cache
    /// writes this JIT asked for, so that `stored` counts entries on disk.
    pub fn cache_stats(&self) -> CacheStats {
        self.objects.stats()
    }
}
