//! The object cache (issue 25): a program's start with a cold cache against its start with a
//! warm one — 200 small modules end to end, and one large module — and what a miss costs over
//! no cache at all. Every start is a new process of demo-runner's `start-bench`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use super::generated_ir::{large_module, small_module};
use super::{Bound, Goal, Outcome, Row, Settings, field, number, ratio, thousands};
use crate::flags::BenchTarget;
use crate::progress;

/// The small modules of the many-modules program (as many as the compile benchmark's).
const SMALL_MODULES: usize = 200;
const TINY_SMALL_MODULES: usize = 4;
/// The large module's functions: 170 make 10,545 lines.
pub(super) const LARGE_FUNCTIONS: usize = 170;
const TINY_LARGE_FUNCTIONS: usize = 3;

/// What a start finds in its cache directory.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cache {
    /// No cache (`object_cache` not called).
    Off,
    /// A fresh empty directory each round: every module a miss, compiled and stored.
    Cold,
    /// The directory a start before the timed ones filled: every module a hit.
    Warm,
}

impl Cache {
    const ALL: [Cache; 3] = [Cache::Off, Cache::Cold, Cache::Warm];

    fn label(self) -> &'static str {
        match self {
            Cache::Off => "no cache",
            Cache::Cold => "cold cache (all misses)",
            Cache::Warm => "warm cache (all hits)",
        }
    }
}

/// One of the two programs, with its modules on disk.
struct Program {
    /// The plot's case, e.g. "200 small modules".
    what: String,
    files: Vec<PathBuf>,
    /// Where its warm cache is.
    warm: PathBuf,
}

/// One start of a program: its whole time and its parts (ms).
struct Start {
    result: String,
    wall: f64,
    /// Spawn to the start of its `main`.
    to_main: f64,
    /// Reading the `.ll` files.
    read: f64,
    jit: f64,
    add: f64,
    lookup: f64,
}

/// One number of a start, for a row.
type Measure = fn(&Start) -> f64;

impl Start {
    /// From the module's bytes to a function that can be called: what the cache changes.
    fn module_time(&self) -> f64 {
        self.add + self.lookup
    }

    fn exit(&self) -> f64 {
        self.wall - self.to_main - self.read - self.jit - self.add - self.lookup
    }
}

/// Runs `start-bench` on `program` with `cache` (a directory or none) and checks that the
/// cache did what the side says: a benchmark of a warm start that compiled is no benchmark.
fn start(
    bench: &Path,
    program: &Program,
    cache: Option<&Path>,
    side: Cache,
) -> anyhow::Result<Start> {
    let mut command = Command::new(bench);
    if let Some(dir) = cache {
        command.arg("--cache").arg(dir);
    }
    command.args(&program.files).env_remove("ORC_JIT_LOG");
    let spawned = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
    let ran = super::run_timed(&mut command, &[0])?;
    let out = &ran.stdout;
    let count = |key: &str| field(out, &format!("cache {key}"));
    let modules = program.files.len() as f64;
    let (hits, misses, stored, compiled) = (
        count("hits")?,
        count("misses")?,
        count("stored")?,
        count("compiled")?,
    );
    let expected = match side {
        Cache::Off => count("enabled")? == 0.0 && compiled == modules,
        Cache::Cold => misses == modules && stored == modules && compiled == modules,
        Cache::Warm => hits == modules && compiled == 0.0,
    };
    if !expected {
        bail!(
            "{} with {}: the cache did not do what the side measures ({modules} modules; hits \
             {hits}, misses {misses}, stored {stored}, compiled {compiled}); stderr: {}",
            program.what,
            side.label(),
            ran.stderr.trim()
        );
    }
    let result = out
        .lines()
        .find_map(|l| l.strip_prefix("result "))
        .with_context(|| format!("start-bench printed no result: {out}"))?
        .to_owned();
    Ok(Start {
        result,
        wall: ran.ms,
        to_main: (field(out, "timing start-unix-ns")? - spawned as f64) / 1e6,
        read: field(out, "timing read-ms")?,
        jit: field(out, "timing jit-ms")?,
        add: field(out, "timing add-ms")?,
        lookup: field(out, "timing lookup-ms")?,
    })
}

/// Writes `modules` (name, IR) into `dir` as `NAME.ll`; returns the files.
fn write_modules(dir: &Path, modules: &[(String, String)]) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    modules
        .iter()
        .map(|(name, ir)| {
            let path = dir.join(format!("{name}.ll"));
            std::fs::write(&path, ir)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(path)
        })
        .collect()
}

/// The bytes of the cache entries in `dir`.
fn entries_size(dir: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for item in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let item = item?;
        if item.file_name().to_string_lossy().ends_with(".entry") {
            total += item.metadata()?.len();
        }
    }
    Ok(total)
}

fn remove_dir(dir: &Path) -> anyhow::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {}", dir.display()))
        }
        _ => Ok(()),
    }
}

pub(super) fn run(sh: &Shell, settings: &Settings) -> anyhow::Result<Outcome> {
    let cargo = crate::cargo();
    let version = settings.llvm.cargo_args();
    cmd!(
        sh,
        "{cargo} build --release --quiet --package demo-runner --bin start-bench {version...}"
    )
    .run()?;
    let bench = crate::target_dir().join("release/start-bench");
    let root = settings.dir.join("cache");
    // An earlier run's files are moved aside now and removed after the measurements: a
    // filesystem that has just freed thousands of inodes can take far longer to create files
    // (ext4 without a journal skips recently freed inodes one by one: 0.4 ms a file here, against
    // 0.04 ms elsewhere on the same disk), which a cold cache would pay for that removal.
    let earlier = settings.dir.join("cache.earlier");
    remove_dir(&earlier)?;
    if root.exists() {
        std::fs::rename(&root, &earlier)
            .with_context(|| format!("cannot move {} aside", root.display()))?;
    }
    let (small_count, functions) = if settings.tiny {
        (TINY_SMALL_MODULES, TINY_LARGE_FUNCTIONS)
    } else {
        (SMALL_MODULES, LARGE_FUNCTIONS)
    };
    let small: Vec<(String, String)> = (0..small_count)
        .map(|i| (format!("m{i}"), small_module(&format!("m{i}"), i)))
        .collect();
    let large_ir = large_module("large", functions);
    let lines = large_ir.lines().count();
    let programs = [
        Program {
            what: format!("{small_count} small modules"),
            files: write_modules(&root.join("small"), &small)?,
            warm: root.join("warm-small"),
        },
        Program {
            what: format!("one module of {} lines", thousands(lines)),
            files: write_modules(&root.join("large"), &[("large".to_owned(), large_ir)])?,
            warm: root.join("warm-large"),
        },
    ];
    // Fill the warm caches (not timed): a start with each side's cache before the rounds.
    let mut expected: [Option<String>; 2] = Default::default();
    for (program, expected) in programs.iter().zip(&mut expected) {
        let first = start(&bench, program, Some(&program.warm), Cache::Cold)?;
        *expected = Some(first.result);
    }
    let sides: Vec<(usize, Cache)> = (0..programs.len())
        .flat_map(|p| Cache::ALL.map(|cache| (p, cache)))
        .collect();
    progress!(
        "bench cache: {} sides (no cache, cold, warm for {} and {}), 1 warm-up + {} rounds, \
         alternating",
        sides.len(),
        programs[0].what,
        programs[1].what,
        settings.rounds
    );
    let mut starts: Vec<Vec<Start>> = sides.iter().map(|_| Vec::new()).collect();
    let mut fresh = 0;
    super::alternate(settings.rounds, sides.len(), |index, counted| {
        let (p, cache) = sides[index];
        let program = &programs[p];
        let run = match cache {
            Cache::Off => start(&bench, program, None, cache)?,
            Cache::Cold => {
                let cold = root.join(format!("cold-{fresh}"));
                fresh += 1;
                std::fs::create_dir_all(&cold)
                    .with_context(|| format!("cannot create {}", cold.display()))?;
                // Kept until the end: removing hundreds of files between starts would load the
                // filesystem's journal while the next side runs.
                start(&bench, program, Some(&cold), cache)?
            }
            Cache::Warm => start(&bench, program, Some(&program.warm), cache)?,
        };
        super::same_result(&mut expected[p], &run.result)?;
        if counted {
            starts[index].push(run);
        }
        Ok(())
    })?;

    let samples = |p: usize, cache: Cache, of: Measure| -> Vec<f64> {
        let index = sides.iter().position(|s| *s == (p, cache)).unwrap_or(0);
        starts[index].iter().map(of).collect()
    };
    let whole = |p: usize| format!("{}, whole process", programs[p].what);
    let module = format!("{}, add + lookup", programs[1].what);
    let mut rows = Vec::new();
    for (case, p, of) in [
        (whole(0), 0, (|s: &Start| s.wall) as Measure),
        (whole(1), 1, |s: &Start| s.wall),
        (module.clone(), 1, Start::module_time),
    ] {
        for cache in Cache::ALL {
            let series = samples(p, cache, of);
            rows.push(if cache == Cache::Off {
                Row::peer(&case, cache.label(), series)
            } else {
                Row::ours(&case, cache.label(), series)
            });
        }
    }
    let breakdown = format!("{}, warm start, breakdown", programs[0].what);
    let parts: [(&str, Measure); 6] = [
        ("process start and loading", |s| s.to_main),
        ("read the .ll files", |s| s.read),
        ("JIT creation (LLJIT, cache opened)", |s| s.jit),
        ("add_module_bytes (hits)", |s| s.add),
        ("lookup and call (link)", |s| s.lookup),
        ("exit", Start::exit),
    ];
    for (name, of) in parts {
        rows.push(Row::ours(&breakdown, name, samples(0, Cache::Warm, of)));
    }

    let (cold, warm, off) = (Cache::Cold.label(), Cache::Warm.label(), Cache::Off.label());
    // A miss's price within each round (the cold start over the no-cache start of the same
    // round, which ran within seconds of it): the machine's load, which changes from round
    // to round, mostly cancels, where a ratio of two medians keeps it.
    let per_round = |p: usize, of: Measure| {
        let (cold, off) = (samples(p, Cache::Cold, of), samples(p, Cache::Off, of));
        let ratios: Vec<f64> = cold.iter().zip(&off).map(|(c, o)| c / o).collect();
        super::Spread::of(&ratios)
    };
    let (miss_small, miss_large) = (
        per_round(0, |s: &Start| s.wall),
        per_round(1, Start::module_time),
    );
    let goals = vec![
        Goal {
            text: format!("{}: cold / warm", whole(0)),
            ratio: ratio(&rows, (&whole(0), cold), (&whole(0), warm))?,
            bound: Bound::AtLeast(5.0),
        },
        Goal {
            text: format!("{module}: cold / warm"),
            ratio: ratio(&rows, (&module, cold), (&module, warm))?,
            bound: Bound::AtLeast(10.0),
        },
        Goal {
            text: format!(
                "{}: cold cache / no cache (median of per-round ratios)",
                whole(0)
            ),
            ratio: miss_small.median,
            bound: Bound::AtMost(1.05),
        },
        Goal {
            text: format!("{module}: cold cache / no cache (median of per-round ratios)"),
            ratio: miss_large.median,
            bound: Bound::AtMost(1.05),
        },
    ];
    let median =
        |p: usize, cache: Cache, of: Measure| super::Spread::of(&samples(p, cache, of)).median;
    let span = |p: usize, of: Measure| {
        let spread = super::Spread::of(&samples(p, Cache::Off, of));
        spread.max - spread.min
    };
    let warm_part = |of: Measure| median(0, Cache::Warm, of);
    let (loading, jit, exit) = (
        warm_part(|s| s.to_main),
        warm_part(|s| s.jit),
        warm_part(Start::exit),
    );
    let notes = vec![
        format!(
            "Where the warm start of the {what} goes (medians): {} ms in all; the cache's own \
             work, {} ms (`add_module_bytes`: key, read, checksum, symbols, the object's \
             checks), and linking the {count} objects, {} ms; the rest is what a process pays \
             with or without modules: process start and loading libLLVM {} ms, JIT creation {} \
             ms, exit {} ms, reading the files {} ms. Cold / warm cannot exceed cold / (that \
             rest): {:.2}x here.",
            number(median(0, Cache::Warm, |s| s.wall)),
            number(warm_part(|s| s.add)),
            number(warm_part(|s| s.lookup)),
            number(loading),
            number(jit),
            number(exit),
            number(warm_part(|s| s.read)),
            median(0, Cache::Cold, |s| s.wall) / (loading + jit + exit + warm_part(|s| s.read)),
            what = programs[0].what,
            count = small_count,
        ),
        format!(
            "A miss's price, cold cache / no cache within each of the {} rounds (median, \
             min–max): {:.3}x ({:.3}–{:.3}) for the {}, whole process; {:.3}x ({:.3}–{:.3}) for \
             the large module, add + lookup. The ratio of the sides' medians: {:.3}x and {:.3}x. \
             A miss's entry is written by orc-jit's writer thread while the JIT links; the \
             process waits for the writes before it exits.",
            settings.rounds,
            miss_small.median,
            miss_small.min,
            miss_small.max,
            programs[0].what,
            miss_large.median,
            miss_large.min,
            miss_large.max,
            ratio(&rows, (&whole(0), cold), (&whole(0), off))?,
            ratio(&rows, (&module, cold), (&module, off))?,
        ),
        format!(
            "A miss's own price (cold cache − no cache, medians): {} ms over the {} (no cache's \
             own rounds span {} ms), {} ms for the large module (span {} ms): the key's \
             hashes, the entry's JSON and its buffer (the file is created, written and renamed \
             by the writer thread, no fsync). \
             A difference within the span cannot be told from the machine's noise by these \
             rounds alone.",
            number(median(0, Cache::Cold, |s| s.wall) - median(0, Cache::Off, |s| s.wall)),
            programs[0].what,
            number(span(0, |s| s.wall)),
            number(
                median(1, Cache::Cold, Start::module_time)
                    - median(1, Cache::Off, Start::module_time)
            ),
            number(span(1, Start::module_time)),
        ),
        format!(
            "{}, whole process: cold / warm {:.2}x (the goal is on add + lookup, the module's \
             own time; the whole process adds what no cache removes: process start and \
             loading, reading the file, JIT creation, exit — {} ms of the warm start).",
            programs[1].what,
            ratio(&rows, (&whole(1), cold), (&whole(1), warm))?,
            number(median(1, Cache::Warm, |s| s.wall) - median(1, Cache::Warm, Start::module_time))
        ),
        format!(
            "The warm caches hold {} KB for the {} and {} KB for the large module (entries: a \
             header, the module's symbols as JSON, the object file).",
            number(entries_size(&programs[0].warm)? as f64 / 1e3),
            programs[0].what,
            number(entries_size(&programs[1].warm)? as f64 / 1e3)
        ),
        "The cold sides' directories are created empty before each start (not timed) and \
         removed after the last round; the warm side's was filled by one start before the rounds. Each start \
         checks the cache's counters: no cache compiles every module; a cold cache misses, \
         compiles and stores every module; a warm one hits every module and compiles none. The \
         page cache is warm (a restarted program's case). An earlier run's directories are \
         moved aside before the rounds and removed after them: on a filesystem that has just \
         freed many inodes, creating a file can cost ten times more (ext4 without a journal \
         steps over recently freed inodes), and a removal of thousands of files just before \
         would put that on the cold side."
            .to_owned(),
    ];
    remove_dir(&root)?;
    remove_dir(&earlier)?;
    Ok(Outcome {
        target: BenchTarget::Cache,
        title: "Object cache: cold against warm starts, and the price of a miss".into(),
        method: format!(
            "demo-runner's `start-bench` (release, LLVM {}, the shared libLLVM) is a program \
             that creates a JIT, adds the `.ll` files it is given with `Jit::add_module_bytes` \
             (a hit parses nothing), looks each entry function up (which links it) and calls \
             it, then exits; each start is a new process, timed from spawn to exit. Two \
             programs: {} (compile-bench's: 40 instructions of arithmetic each), and {} ({} \
             functions, each with a branch, a loop with a `switch`, loads and stores to a \
             global table, a call to a helper through `double`, and a call to the one before \
             it). Each runs with no cache, with a cold cache (a fresh empty directory) and \
             with a warm one; add + lookup is the program's own time from the module's bytes \
             to a callable function.",
            settings.llvm, programs[0].what, programs[1].what, functions
        ),
        unit: "ms",
        rows,
        goals,
        notes,
    })
}
