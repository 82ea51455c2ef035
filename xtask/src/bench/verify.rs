//! verify-symbols against nm, and against the loader itself (`ld.so --list`) on the system's
//! programs, process against process.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use super::{Bound, Goal, Outcome, Row, Settings, Spread, thousands};
use crate::flags::BenchTarget;
use crate::llvm::Llvm;
use crate::progress;

/// How many names each libLLVM size asks for (before capping the defined ones at what nm lists).
const LLVM_SIZES: [usize; 3] = [10, 1_000, 100_000];
/// The size of libLLVM the goal line is about.
const GOAL_SIZE: usize = 1_000;
/// verify-symbols should beat nm by at least this factor at [`GOAL_SIZE`] names (reported, never
/// asserted: timings depend on the machine).
const GOAL_RATIO: f64 = 50.0;
/// Exported functions of the generated library, and how many names are asked of it.
const GENERATED_FUNCTIONS: usize = 200_000;
const GENERATED_ASKED: usize = 1_000;

/// One size: the library, the names asked of it, and both sides' timings.
struct Case {
    label: String,
    library: PathBuf,
    /// The size asked for: `names` has fewer when the library defines fewer than 90% of it.
    asked: usize,
    names: Vec<String>,
    /// How many of `names` the library defines (the rest it does not).
    defined: usize,
    /// The exported names found (both sides agree on it).
    found: usize,
    ours: Vec<f64>,
    peer: Vec<f64>,
    /// The part of `peer` spent in the nm process alone (until its output was read).
    nm_alone: Vec<f64>,
}

/// verify-symbols against nm, process against process: the release `verify-symbols` binary
/// (`--symbols-file FILE --json`) and `nm -D --defined-only` read into a hash set, alternating
/// rounds, at several sizes of libLLVM and of a generated library of 200,000 functions.
pub(super) fn run(sh: &Shell, settings: &Settings) -> anyhow::Result<Outcome> {
    let (rounds, llvm) = (settings.rounds, settings.llvm);
    let ours_bin = super::verify_symbols_binary(sh)?;
    let bench_dir = &settings.dir;
    let (sizes, functions): (&[usize], usize) = if settings.tiny {
        (&[10, GOAL_SIZE], 2_000)
    } else {
        (&LLVM_SIZES, GENERATED_FUNCTIONS)
    };

    let library = libllvm(llvm)?;
    let defined = defined_names(sh, &library)?;
    let mut cases = Vec::new();
    for &asked in sizes {
        let label = format!("libLLVM {llvm}, {} names", thousands(asked));
        cases.push(sample_case(label, &library, &defined, asked));
    }
    let generated = generated_library(sh, bench_dir, functions)?;
    let defined = defined_names(sh, &generated)?;
    let label = format!(
        "generated library of {} functions, {} names",
        thousands(functions),
        thousands(GENERATED_ASKED)
    );
    cases.push(sample_case(label, &generated, &defined, GENERATED_ASKED));

    let mut floor_samples = Vec::new();
    for (index, case) in cases.iter_mut().enumerate() {
        let names_file = bench_dir.join(format!("names-{index}.txt"));
        let mut text = case.names.join("\n");
        text.push('\n');
        std::fs::write(&names_file, text)
            .with_context(|| format!("cannot write {}", names_file.display()))?;
        progress!(
            "bench verify-symbols: {} ({} defined + {} absent) of {}, 1 warm-up + {rounds} \
             rounds each",
            case.label,
            thousands(case.defined),
            thousands(case.names.len() - case.defined),
            case.library.display()
        );
        // Sides: verify-symbols, nm, and for the goal's case the process start alone. The
        // warm-up (untimed) fills the page cache. Both must find the same exported names.
        let goal_case = case.library == library && case.asked == GOAL_SIZE;
        let sides = if goal_case { 3 } else { 2 };
        let mut found: Option<usize> = None;
        super::alternate(rounds, sides, |side, counted| {
            let count = match side {
                0 => {
                    let (ms, count) = run_ours(&ours_bin, &case.library, &names_file)?;
                    if counted {
                        case.ours.push(ms);
                    }
                    count
                }
                1 => {
                    let peer = nm_lookup(sh, &case.library, &case.names)?;
                    if counted {
                        case.peer.push(peer.ms);
                        case.nm_alone.push(peer.nm_ms);
                    }
                    peer.found
                }
                _ => {
                    let mut version = std::process::Command::new(&ours_bin);
                    let (ms, _) = super::timed(version.arg("--version"))?;
                    if counted {
                        floor_samples.push(ms);
                    }
                    return Ok(());
                }
            };
            match found {
                Some(other) if other != count => bail!(
                    "{}: verify-symbols and nm disagree on the exported names found: {other} \
                     against {count}",
                    case.label
                ),
                _ => found = Some(count),
            }
            Ok(())
        })?;
        case.found = found.unwrap_or_default();
        let (ours, peer) = (Spread::of(&case.ours), Spread::of(&case.peer));
        progress!(
            "bench verify-symbols: {}: verify-symbols {ours} ms, nm {peer} ms (nm process \
             alone {:.2}), nm / verify-symbols {:.1}x",
            case.label,
            Spread::of(&case.nm_alone).median,
            peer.median / ours.median
        );
    }

    let loader = against_the_loader(&ours_bin, rounds.min(LOADER_ROUNDS), settings.tiny)?;

    let goal = cases
        .iter()
        .find(|c| c.library == library && c.asked == GOAL_SIZE)
        .context("the goal size of libLLVM is missing")?;
    let mut goals = vec![Goal {
        text: format!(
            "nm / verify-symbols at {} names of libLLVM",
            thousands(GOAL_SIZE)
        ),
        ratio: Spread::of(&goal.peer).median / Spread::of(&goal.ours).median,
        bound: Bound::AtLeast(GOAL_RATIO),
    }];
    let mut notes = vec![format!(
        "Against the nm process alone (without the hash set and lookups done in xtask) at {} \
         names: {:.1}x.",
        thousands(GOAL_SIZE),
        Spread::of(&goal.nm_alone).median / Spread::of(&goal.ours).median
    )];
    for case in cases.iter().filter(|c| c.names.len() < c.asked) {
        notes.push(format!(
            "{}: the library defines only {} names, so {} were asked ({} defined + {} absent), \
             not {}.",
            case.label,
            thousands(case.defined),
            thousands(case.names.len()),
            thousands(case.defined),
            thousands(case.names.len() - case.defined),
            thousands(case.asked)
        ));
    }
    let floor: Vec<f64> = floor_samples;
    let mut rows = Vec::new();
    for case in &cases {
        rows.push(Row::ours(&case.label, "verify-symbols", case.ours.clone()));
        rows.push(Row::peer(&case.label, "nm -D + lookup", case.peer.clone()));
    }
    rows.push(Row::ours(
        "process start alone",
        "verify-symbols --version",
        floor,
    ));
    notes.push(
        "`verify-symbols --version` is the process start alone, measured in the same rounds: \
         the floor under every verify-symbols time, whatever the names."
            .to_owned(),
    );
    loader.report(&mut rows, &mut goals, &mut notes);
    Ok(Outcome {
        target: BenchTarget::VerifySymbols,
        title: "verify-symbols against nm and against the loader".into(),
        method: format!(
            "The release `verify-symbols --binary LIB --symbols-file FILE --json` process \
             against `nm -D --defined-only LIB` with its output read into a hash set and the \
             names looked up, each timed from spawn to exit, alternating which goes first. \
             90% of the names asked are defined (spread evenly over what nm lists), 10% are not; \
             both sides must find the same number. Libraries: libLLVM {llvm} and a generated \
             library of {} exported functions. Against the loader: for each dynamically linked \
             program of /usr/bin, `verify-symbols --binary PROGRAM --symbol NAME...` with {} of \
             the names the program imports (a JIT host's note lists a few) against \
             `{LOADER} --list PROGRAM` (the loader mapping the same load graph), alternating \
             which goes first, {} rounds; each program's ratio is the median of its \
             verify-symbols times over the median of its loader times. Two more series run in \
             the same rounds: verify-symbols' work alone (`verify_symbols::verify` on the same \
             program and names, timed inside a fresh process, its first call: the ld.so cache \
             read and parsed, the load graph resolved, every name answered with its advice), \
             and `/usr/bin/true`, a program that does nothing: the floor of any dynamically \
             linked process, which ld.so, a static program, does not pay.",
            thousands(functions),
            NAMES_PER_PROGRAM,
            rounds.min(LOADER_ROUNDS)
        ),
        unit: "ms",
        rows,
        goals,
        notes,
    })
}

/// What nm lists as defined in `library`: each name once, sorted.
fn defined_names(sh: &Shell, library: &Path) -> anyhow::Result<Vec<String>> {
    let listing = cmd!(sh, "nm -D --defined-only {library}").quiet().read()?;
    let mut defined: Vec<String> = listing
        .lines()
        .filter_map(defined_name)
        .map(str::to_owned)
        .collect();
    defined.sort_unstable();
    defined.dedup();
    if defined.is_empty() {
        bail!(
            "nm lists no defined dynamic symbol in {}",
            library.display()
        );
    }
    Ok(defined)
}

/// `asked` names for `library`: 90% of them defined (evenly spread over `defined`; all of
/// `defined` when it has fewer, which is said) and 10% it does not define.
fn sample_case(label: String, library: &Path, defined: &[String], asked: usize) -> Case {
    let absent = asked / 10;
    let wanted = asked - absent;
    let take = wanted.min(defined.len());
    if take < wanted {
        progress!(
            "bench verify-symbols: {label}: {} defines only {} names, so {} names are asked \
             ({} defined + {} absent) instead of {} + {}",
            library.display(),
            thousands(defined.len()),
            thousands(take + absent),
            thousands(take),
            thousands(absent),
            thousands(wanted),
            thousands(absent)
        );
    }
    // Index i * len / take: distinct (len >= take) and evenly spread over the whole listing.
    let mut names: Vec<String> = (0..take)
        .map(|i| defined[i * defined.len() / take].clone())
        .collect();
    names.extend((0..absent).map(|i| format!("bench_not_defined_{i}")));
    Case {
        label,
        library: library.to_path_buf(),
        asked,
        names,
        defined: take,
        found: 0,
        ours: Vec::new(),
        peer: Vec::new(),
        nm_alone: Vec::new(),
    }
}

/// `libgen<N>.so` in `bench_dir`: `functions` exported `int fNNNNNN(void)`. The C source is
/// rewritten only when its content changes and the library recompiled only when missing or
/// older than it.
fn generated_library(sh: &Shell, bench_dir: &Path, functions: usize) -> anyhow::Result<PathBuf> {
    use std::fmt::Write as _;

    let source = bench_dir.join(format!("libgen{functions}.c"));
    let library = bench_dir.join(format!("libgen{functions}.so"));
    let mut text = String::with_capacity(functions * 32);
    for i in 0..functions {
        writeln!(text, "int f{i:06}(void){{return 0;}}")?;
    }
    if std::fs::read_to_string(&source).ok().as_deref() != Some(text.as_str()) {
        progress!("bench verify-symbols: writing {}", source.display());
        std::fs::write(&source, &text)
            .with_context(|| format!("cannot write {}", source.display()))?;
    }
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let stale = match (modified(&library), modified(&source)) {
        (Some(lib), Some(src)) => lib < src,
        _ => true,
    };
    if stale {
        progress!(
            "bench verify-symbols: compiling {} ({} functions; once, it takes a while)",
            library.display(),
            thousands(functions)
        );
        // Into a temporary name first: an interrupted compile leaves no library to trust.
        let partial = library.with_extension("so.partial");
        cmd!(sh, "cc -shared -fPIC -O0 -o {partial} {source}").run()?;
        std::fs::rename(&partial, &library).with_context(|| {
            format!(
                "cannot rename {} to {}",
                partial.display(),
                library.display()
            )
        })?;
    }
    Ok(library)
}

/// Ours: the verify-symbols process, timed from spawn until it exited with its JSON read; the
/// JSON is then parsed (untimed, only to check agreement) for the names whose status is
/// "exported".
fn run_ours(binary: &Path, library: &Path, names_file: &Path) -> anyhow::Result<(f64, usize)> {
    let mut command = std::process::Command::new(binary);
    command
        .arg("--binary")
        .arg(library)
        .arg("--symbols-file")
        .arg(names_file)
        .arg("--json");
    // 0: every name found, 1: some not found; both are results. 2 (or a signal) is an error.
    let ran = super::run_timed(&mut command, &[0, 1])?;
    let ms = ran.ms;
    let json: serde_json::Value =
        serde_json::from_str(&ran.stdout).context("verify-symbols --json printed no valid JSON")?;
    let symbols = json["binaries"][0]["symbols"]
        .as_array()
        .context("verify-symbols --json printed no binaries[0].symbols array")?;
    let found = symbols.iter().filter(|s| s["status"] == "exported").count();
    Ok((ms, found))
}

/// The shared libLLVM of `llvm` (the link `libLLVM-N.so` resolved to the real file).
fn libllvm(llvm: Llvm) -> anyhow::Result<PathBuf> {
    let path = llvm.prefix().join(format!("lib/libLLVM-{llvm}.so"));
    path.canonicalize()
        .with_context(|| format!("{} (run cargo xtask deps --llvm {llvm})", path.display()))
}

fn defined_name(line: &str) -> Option<&str> {
    line.split_whitespace()
        .last()
        .map(|s| s.split('@').next().unwrap_or(s))
}

/// One run of the peer: the names found, the time of the whole, of the nm process alone (ms).
struct PeerRun {
    found: usize,
    ms: f64,
    nm_ms: f64,
}

/// The peer, timed whole: run nm, read its whole output into a set, look the names up.
fn nm_lookup(sh: &Shell, library: &Path, names: &[String]) -> anyhow::Result<PeerRun> {
    let start = Instant::now();
    let listing = cmd!(sh, "nm -D --defined-only {library}").quiet().read()?;
    let nm_ms = start.elapsed().as_secs_f64() * 1e3;
    let set: HashSet<&str> = listing.lines().filter_map(defined_name).collect();
    let found = names.iter().filter(|n| set.contains(n.as_str())).count();
    let ms = start.elapsed().as_secs_f64() * 1e3;
    Ok(PeerRun { found, ms, nm_ms })
}

/// The loader this machine starts its programs with.
const LOADER: &str = "/lib64/ld-linux-x86-64.so.2";
/// The names asked of each program: as many as a JIT host's note lists.
const NAMES_PER_PROGRAM: usize = 8;
/// Rounds per program: each of a thousand programs is timed, so fewer than the other cases.
const LOADER_ROUNDS: usize = 5;
/// Programs compared with `--tiny`: the code path, not the numbers.
const TINY_PROGRAMS: usize = 6;

/// One program of /usr/bin, the names it imports that verify-symbols is asked for, and both
/// sides' times.
struct Program {
    path: PathBuf,
    names: Vec<String>,
    /// The verify-symbols process, spawn to exit.
    ours: Vec<f64>,
    /// `ld.so --list`, spawn to exit.
    peer: Vec<f64>,
    /// verify-symbols' work alone, timed inside a fresh process.
    work: Vec<f64>,
    /// `/usr/bin/true`, spawn to exit.
    floor: Vec<f64>,
}

/// Every program compared, with its timings.
struct AgainstTheLoader {
    programs: Vec<Program>,
}

/// The dynamically linked ELF programs of /usr/bin for this machine (each file once, by its
/// real path), with up to [`NAMES_PER_PROGRAM`] of the names each imports, spread over them.
fn programs(limit: Option<usize>) -> anyhow::Result<Vec<Program>> {
    use object::{Object, ObjectSymbol};
    let mut paths: Vec<PathBuf> = std::fs::read_dir("/usr/bin")
        .context("cannot list /usr/bin")?
        .filter_map(|e| e.ok()?.path().canonicalize().ok())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths.dedup();
    let mut programs = Vec::new();
    for path in paths {
        let Ok(file) = std::fs::File::open(&path) else {
            continue;
        };
        let cache = object::ReadCache::new(file);
        let Ok(elf) = object::File::parse(&cache) else {
            continue;
        };
        let interpreted = matches!(&elf, object::File::Elf64(e) if {
            use object::read::elf::ProgramHeader;
            let endian = e.endian();
            e.elf_program_headers()
                .iter()
                .any(|h| h.p_type(endian) == object::elf::PT_INTERP)
        });
        if !interpreted || elf.architecture() != object::Architecture::X86_64 {
            continue;
        }
        let imported: Vec<String> = elf
            .dynamic_symbols()
            .filter(|s| s.is_undefined())
            .filter_map(|s| s.name().ok().filter(|n| !n.is_empty()).map(str::to_owned))
            .collect();
        let step = imported.len().div_ceil(NAMES_PER_PROGRAM).max(1);
        let names = imported
            .into_iter()
            .step_by(step)
            .take(NAMES_PER_PROGRAM)
            .collect();
        programs.push(Program {
            path,
            names,
            ours: Vec::new(),
            peer: Vec::new(),
            work: Vec::new(),
            floor: Vec::new(),
        });
        if limit.is_some_and(|limit| programs.len() >= limit) {
            break;
        }
    }
    if programs.is_empty() {
        bail!("no dynamically linked x86-64 program in /usr/bin");
    }
    Ok(programs)
}

/// verify-symbols against `ld.so --list` on each program, `rounds` paired rounds each.
fn against_the_loader(
    ours_bin: &Path,
    rounds: usize,
    tiny: bool,
) -> anyhow::Result<AgainstTheLoader> {
    let mut programs = programs(tiny.then_some(TINY_PROGRAMS))?;
    progress!(
        "bench verify-symbols: {} programs of /usr/bin against {LOADER} --list, 1 warm-up + \
         {rounds} rounds each",
        thousands(programs.len())
    );
    let runner = std::env::current_exe().context("cannot find the benchmark runner")?;
    for program in &mut programs {
        super::alternate(rounds, 4, |side, counted| {
            let ms = match side {
                0 => {
                    let mut command = std::process::Command::new(ours_bin);
                    command.arg("--binary").arg(&program.path);
                    for name in &program.names {
                        command.arg("--symbol").arg(name);
                    }
                    // 0: all found, 1: something not found; 2 (unreadable) is an error.
                    super::run_timed(&mut command, &[0, 1])?.ms
                }
                1 => {
                    let mut command = std::process::Command::new(LOADER);
                    command.arg("--list").arg(&program.path);
                    // 1: a library the loader does not find (it says so and lists the rest).
                    super::run_timed(&mut command, &[0, 1])?.ms
                }
                2 => {
                    let mut command = std::process::Command::new(&runner);
                    command
                        .arg(VERIFY_ONCE)
                        .arg("--")
                        .arg(&program.path)
                        .args(&program.names);
                    let (_, stdout) = super::timed(&mut command)?;
                    stdout.trim().parse::<f64>().with_context(|| {
                        format!("{VERIFY_ONCE} printed {stdout:?}, not a time in ms")
                    })?
                }
                _ => super::timed(&mut std::process::Command::new(FLOOR))?.0,
            };
            if counted {
                [
                    &mut program.ours,
                    &mut program.peer,
                    &mut program.work,
                    &mut program.floor,
                ][side]
                    .push(ms);
            }
            Ok(())
        })
        .with_context(|| format!("against the loader on {}", program.path.display()))?;
    }
    Ok(AgainstTheLoader { programs })
}

/// The benchmark runner's hidden command that times verify-symbols' work in a fresh process.
pub(crate) const VERIFY_ONCE: &str = "bench-verify-once";
/// A dynamically linked program that does nothing.
const FLOOR: &str = "/usr/bin/true";

/// `bench-verify-once PROGRAM NAME...`: `verify_symbols::verify` once, timed from its call to
/// its answer, printed in ms (the first call of the process, as a `verify-symbols` run makes
/// it: nothing of the loader's configuration is cached yet).
pub(crate) fn verify_once(program: &Path, names: &[String]) -> anyhow::Result<()> {
    let start = Instant::now();
    let report = verify_symbols::verify(program, names)
        .with_context(|| format!("verify-symbols on {}", program.display()))?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    // The answer is used, so that none of the work can be left out.
    anyhow::ensure!(
        report.symbols.len() == names.len(),
        "{} answers for {} names",
        report.symbols.len(),
        names.len()
    );
    println!("{ms}");
    Ok(())
}

impl AgainstTheLoader {
    /// Per program: the median of `side` over the median of ld.so's process.
    fn over_the_loader(&self, side: fn(&Program) -> &[f64]) -> Vec<f64> {
        self.programs
            .iter()
            .map(|p| Spread::of(side(p)).median / Spread::of(&p.peer).median)
            .collect()
    }

    /// Its rows (each program's median time, per side), its goal (the median ratio at most
    /// 1x) and notes (the ratios' spread, the farthest programs).
    fn report(&self, rows: &mut Vec<Row>, goals: &mut Vec<Goal>, notes: &mut Vec<String>) {
        let case = format!(
            "{} programs of /usr/bin: load graph + {NAMES_PER_PROGRAM} imported names",
            thousands(self.programs.len())
        );
        let medians = |side: fn(&Program) -> &[f64]| -> Vec<f64> {
            self.programs
                .iter()
                .map(|p| Spread::of(side(p)).median)
                .collect()
        };
        rows.push(Row::ours(&case, "verify-symbols", medians(|p| &p.ours)));
        rows.push(Row::ours(
            &case,
            "verify-symbols' work (in a fresh process)",
            medians(|p| &p.work),
        ));
        rows.push(Row::peer(&case, "ld.so --list", medians(|p| &p.peer)));
        rows.push(Row::peer(&case, "/usr/bin/true", medians(|p| &p.floor)));
        let ratios = self.over_the_loader(|p| &p.ours);
        let work_ratios = self.over_the_loader(|p| &p.work);
        let work = Spread::of(&work_ratios);
        goals.push(Goal {
            text: format!(
                "verify-symbols' work (load graph + answers) / ld.so --list, median over {} \
                 programs of /usr/bin",
                thousands(self.programs.len())
            ),
            ratio: work.median,
            bound: Bound::AtMost(1.0),
        });
        let floor = Spread::of(&self.over_the_loader(|p| &p.floor));
        // What the process costs besides its work (exec, the loader mapping and relocating it,
        // std's start and the exit), per program, over the loader's whole answer.
        let overhead: Vec<f64> = self
            .programs
            .iter()
            .map(|p| {
                let median = |v: &[f64]| Spread::of(v).median;
                (median(&p.ours) - median(&p.work)) / median(&p.peer)
            })
            .collect();
        let overhead = Spread::of(&overhead);
        notes.push(format!(
            "The work alone: verify-symbols' load graph and answers / `ld.so --list` per \
             program, median {:.2}x, range {:.2}–{:.2}x; {} of {} programs at most 1x. The rest \
             of the verify-symbols process (its time less its work: exec, its own loading and \
             relocation, std's start, the exit) / `ld.so --list`, median {:.2}x, and \
             `/usr/bin/true` (a dynamically linked program that does nothing) / `ld.so \
             --list`, median {:.2}x: ld.so is a static program that needs no loader; process \
             against process, what this dynamically linked binary pays before and after its \
             work is {} than the loader's whole answer.",
            work.median,
            work.min,
            work.max,
            thousands(work_ratios.iter().filter(|r| **r <= 1.0).count()),
            thousands(work_ratios.len()),
            overhead.median,
            floor.median,
            if overhead.median > 1.0 {
                "more"
            } else {
                "less"
            },
        ));
        let spread = Spread::of(&ratios);
        let mut sorted = ratios.clone();
        sorted.sort_unstable_by(f64::total_cmp);
        let quartile = |q: usize| sorted[(sorted.len() - 1) * q / 4];
        let mut by_ratio: Vec<(f64, &Path)> = ratios
            .iter()
            .zip(&self.programs)
            .map(|(r, p)| (*r, p.path.as_path()))
            .collect();
        by_ratio.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        let named = |list: &[(f64, &Path)]| -> String {
            list.iter()
                .map(|(r, p)| format!("{} {:.2}x", p.display(), r))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let within = ratios.iter().filter(|r| **r <= 1.0).count();
        notes.push(format!(
            "Process against process: verify-symbols / `ld.so --list` per program, median {:.2}x, \
             quartiles {:.2}–{:.2}x, range {:.2}–{:.2}x; {} of {} programs at most 1x. Closest: \
             {}. Farthest: {}.",
            spread.median,
            quartile(1),
            quartile(3),
            spread.min,
            spread.max,
            thousands(within),
            thousands(ratios.len()),
            named(&by_ratio[..by_ratio.len().min(3)]),
            named(&by_ratio[by_ratio.len().saturating_sub(3)..]),
        ));
    }
}
