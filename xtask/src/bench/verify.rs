//! `cargo xtask bench`: each benchmark side by side with its peer, in one run.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::flags::{Bench, BenchTarget, Variant};
use crate::llvm::Llvm;
use crate::{build_libs, demo, progress, project_root};

impl Bench {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        if self.rounds == 0 {
            bail!("--rounds must be at least 1");
        }
        let targets = if self.targets.is_empty() {
            vec![
                BenchTarget::VerifySymbols,
                BenchTarget::Ipo,
                BenchTarget::Isolation,
            ]
        } else {
            self.targets
        };
        for target in targets {
            match target {
                BenchTarget::VerifySymbols => verify_symbols_vs_nm(sh, self.rounds, self.llvm)?,
                BenchTarget::Ipo => ipo(sh, self.rounds, self.llvm)?,
                BenchTarget::Isolation => isolation(sh, self.rounds, self.llvm)?,
            }
        }
        Ok(())
    }
}

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
fn verify_symbols_vs_nm(sh: &Shell, rounds: usize, llvm: Llvm) -> anyhow::Result<()> {
    let ours_bin = build_verify_symbols(sh)?;
    let bench_dir = crate::target_dir().join("bench");
    std::fs::create_dir_all(&bench_dir)
        .with_context(|| format!("cannot create {}", bench_dir.display()))?;

    let library = libllvm(llvm)?;
    let defined = defined_names(sh, &library)?;
    let mut cases = Vec::new();
    for asked in LLVM_SIZES {
        let label = format!("libLLVM {llvm}, {} names", thousands(asked));
        cases.push(sample_case(label, &library, &defined, asked));
    }
    let generated = generated_library(sh, &bench_dir)?;
    let defined = defined_names(sh, &generated)?;
    let label = format!("lib200k.so, {} names", thousands(GENERATED_ASKED));
    cases.push(sample_case(label, &generated, &defined, GENERATED_ASKED));

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
        // The warm-up (untimed) fills the page cache and checks agreement once before timing.
        for round in 0..=rounds {
            // Alternate who goes first, so both sides see the same machine noise and cache.
            let ((ours_ms, found_ours), peer) = if round % 2 == 0 {
                let ours = run_ours(sh, &ours_bin, &case.library, &names_file)?;
                (ours, nm_lookup(sh, &case.library, &case.names)?)
            } else {
                let peer = nm_lookup(sh, &case.library, &case.names)?;
                (run_ours(sh, &ours_bin, &case.library, &names_file)?, peer)
            };
            let found_peer = peer.found;
            if found_ours != found_peer {
                bail!(
                    "{}: verify-symbols found {found_ours} exported symbols, nm {found_peer}: \
                     they disagree",
                    case.label
                );
            }
            case.found = found_ours;
            if round > 0 {
                case.ours.push(ours_ms);
                case.peer.push(peer.ms);
                case.nm_alone.push(peer.nm_ms);
            }
        }
        let (ours, peer) = (Spread::of(&case.ours), Spread::of(&case.peer));
        progress!(
            "bench verify-symbols: {}: verify-symbols {ours} ms, nm {peer} ms (nm process \
             alone {:.2}), nm / verify-symbols {:.1}x",
            case.label,
            Spread::of(&case.nm_alone).median,
            peer.median / ours.median
        );
    }

    print_summary(&cases, rounds);
    let goal = cases
        .iter()
        .find(|c| c.library == library && c.asked == GOAL_SIZE)
        .context("the goal size of libLLVM is missing")?;
    let ratio = Spread::of(&goal.peer).median / Spread::of(&goal.ours).median;
    let verdict = if ratio >= GOAL_RATIO {
        "holds"
    } else {
        "does not hold"
    };
    println!(
        "goal: verify-symbols at least {GOAL_RATIO}x faster than nm at {} names of libLLVM: \
         {verdict} (ratio {ratio:.1}x)",
        thousands(GOAL_SIZE)
    );
    println!(
        "  against the nm process alone, without its hash set and lookups: ratio {:.1}x",
        Spread::of(&goal.nm_alone).median / Spread::of(&goal.ours).median
    );
    Ok(())
}

/// Builds the standalone verify-symbols binary in release and returns its path.
fn build_verify_symbols(sh: &Shell) -> anyhow::Result<PathBuf> {
    let cargo = crate::cargo();
    progress!("bench verify-symbols: building verify-symbols (release)");
    cmd!(sh, "{cargo} build --release --quiet -p verify-symbols").run()?;
    let binary = crate::target_dir().join("release/verify-symbols");
    if !binary.is_file() {
        bail!("cargo built no {}", binary.display());
    }
    Ok(binary)
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

/// target/bench/lib200k.so: 200,000 exported `int fNNNNNN(void)`. The C source is rewritten only
/// when its content changes and the library recompiled only when missing or older than it.
fn generated_library(sh: &Shell, bench_dir: &Path) -> anyhow::Result<PathBuf> {
    use std::fmt::Write as _;

    let source = bench_dir.join("lib200k.c");
    let library = bench_dir.join("lib200k.so");
    let mut text = String::with_capacity(GENERATED_FUNCTIONS * 32);
    for i in 0..GENERATED_FUNCTIONS {
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
            thousands(GENERATED_FUNCTIONS)
        );
        // Into a temporary name first: an interrupted compile leaves no library to trust.
        let partial = bench_dir.join("lib200k.so.partial");
        cmd!(sh, "cc -shared -fPIC -O0 -o {partial} {source}").run()?;
        std::fs::rename(&partial, &library)
            .with_context(|| format!("cannot rename {} to lib200k.so", partial.display()))?;
    }
    Ok(library)
}

/// Ours: the verify-symbols process, timed from spawn until it exited with its JSON read; the
/// JSON is then parsed (untimed, only to check agreement) for the names whose status is
/// "exported".
fn run_ours(
    sh: &Shell,
    binary: &Path,
    library: &Path,
    names_file: &Path,
) -> anyhow::Result<(f64, usize)> {
    let start = Instant::now();
    let output = cmd!(
        sh,
        "{binary} --binary {library} --symbols-file {names_file} --json"
    )
    .quiet()
    .ignore_status()
    .output()?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    // 0: every name found, 1: some not found; both are results. 2 (or a signal) is an error.
    if !matches!(output.status.code(), Some(0 | 1)) {
        bail!(
            "verify-symbols failed on {} ({}): {}",
            library.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)
        .context("verify-symbols --json printed no valid JSON")?;
    let symbols = json["binaries"][0]["symbols"]
        .as_array()
        .context("verify-symbols --json printed no binaries[0].symbols array")?;
    let found = symbols.iter().filter(|s| s["status"] == "exported").count();
    Ok((ms, found))
}

/// The summary of every size: medians, spreads (min-max) and the ratio nm / verify-symbols.
fn print_summary(cases: &[Case], rounds: usize) {
    println!(
        "verify-symbols (release binary, --symbols-file --json) against nm -D --defined-only \
         into a hash set; process against process, {rounds} alternating rounds, ms"
    );
    let label_width = cases.iter().map(|c| c.label.len()).max().unwrap_or(0);
    println!(
        "{:<label_width$}  {:>16}  {:>8}  {:>24}  {:>24}  {:>8}  {:>19}",
        "case",
        "defined + absent",
        "exported",
        "verify-symbols (min-max)",
        "nm (min-max)",
        "nm alone",
        "nm / verify-symbols"
    );
    for case in cases {
        let (ours, peer) = (Spread::of(&case.ours), Spread::of(&case.peer));
        println!(
            "{:<label_width$}  {:>16}  {:>8}  {:>24}  {:>24}  {:>8.2}  {:>18.1}x",
            case.label,
            format!(
                "{} + {}",
                thousands(case.defined),
                thousands(case.names.len() - case.defined)
            ),
            thousands(case.found),
            ours.to_string(),
            peer.to_string(),
            Spread::of(&case.nm_alone).median,
            peer.median / ours.median
        );
    }
    println!(
        "  nm: the nm process, its output read into a hash set and the names looked up in \
         xtask; nm alone: the median of its process part only"
    );
    for case in cases.iter().filter(|c| c.names.len() < c.asked) {
        println!(
            "  {}: the library defines only {} names, so {} were asked, not {}",
            case.label,
            thousands(case.defined),
            thousands(case.names.len()),
            thousands(case.asked)
        );
    }
}

/// The median, minimum and maximum of some timings (ms).
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

impl Spread {
    fn of(samples: &[f64]) -> Spread {
        let mut sorted = samples.to_vec();
        let median = median(&mut sorted);
        Spread {
            median,
            min: sorted[0],
            max: sorted[sorted.len() - 1],
        }
    }
}

impl std::fmt::Display for Spread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.2} ({:.2}-{:.2})", self.median, self.min, self.max)
    }
}

/// 100000 as "100,000".
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
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

/// 10^8 helper calls: the IPO-inlined JIT loop, the plain-call JIT loop, the clang-N -O3 loop.
fn ipo(sh: &Shell, rounds: usize, llvm: Llvm) -> anyhow::Result<()> {
    const CALLS: &str = "100000000";
    let libs = build_libs::build(llvm)?;
    let Some(bitcode) = libs.iter().find_map(|b| b.bitcode.clone()) else {
        bail!("no manifest library has `bitcode = true`");
    };
    let root = project_root();
    let out_dir = build_libs::c_libs_dir(llvm).join("bench");
    std::fs::create_dir_all(&out_dir)?;
    let aot = out_dir.join("scale_loop");
    let source = root.join("c-libs/bench/scale_loop.c");
    let include = root.join("c-libs/include");
    let clang = format!("clang-{llvm}");
    cmd!(sh, "{clang} -O3 -I {include} -o {aot} {source}").run()?;
    demo::build(sh, &[Variant::Ipo], llvm)?;
    let jit_loop = Variant::Ipo.binary();
    progress!("bench ipo: {CALLS} helper calls, {rounds} rounds each");

    let (mut inlined, mut plain, mut ahead) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        // demo-ipo prints `inlined NS plain NS result R`; the AOT loop `R NS`.
        let line = cmd!(sh, "{jit_loop} {bitcode} --bench {CALLS}")
            .quiet()
            .read()?;
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_, i, _, p, _, result] = fields.as_slice() else {
            bail!("unexpected output of demo-ipo --bench: {line}");
        };
        inlined.push(i.parse::<f64>()?);
        plain.push(p.parse::<f64>()?);
        let line = cmd!(sh, "{aot} {CALLS}").quiet().read()?;
        let Some((aot_result, ns)) = line.split_once(' ') else {
            bail!("unexpected output of the AOT loop: {line}");
        };
        if aot_result != *result {
            bail!("the AOT loop computed {aot_result}, the JIT loop {result}");
        }
        ahead.push(ns.trim().parse::<f64>()?);
    }
    let (inlined, plain, ahead) = (median(&mut inlined), median(&mut plain), median(&mut ahead));
    println!(
        "JIT, helper inlined from bitcode (IPO)   {inlined:>7.3} ns/call  {:.2}x AOT",
        inlined / ahead
    );
    println!(
        "JIT, plain call via the process symbol   {plain:>7.3} ns/call  {:.2}x AOT",
        plain / ahead
    );
    println!("AOT, clang-{llvm} -O3, one translation unit  {ahead:>7.3} ns/call  1.00x");
    Ok(())
}

/// In-process against isolated compilation (demo-runner's compile-bench, one process): the
/// latency of one small module, and the time for 200 independent modules, sequential in-process
/// against the worker pool, one worker per core.
fn isolation(sh: &Shell, rounds: usize, llvm: Llvm) -> anyhow::Result<()> {
    const MODULES: usize = 200;
    let cargo = crate::cargo();
    let version = llvm.cargo_args();
    cmd!(
        sh,
        "{cargo} build --quiet --package demo-runner --bin compile-bench {version...}"
    )
    .run()?;
    let bench = crate::target_dir().join("debug/compile-bench");
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let (rounds, modules, workers_arg) = (
        (rounds * 10).to_string(),
        MODULES.to_string(),
        workers.to_string(),
    );
    progress!(
        "bench isolation: {rounds} alternating single-module rounds, then {MODULES} modules, \
         {workers} workers"
    );
    let output = cmd!(sh, "{bench} {rounds} {modules} {workers_arg}")
        .quiet()
        .read()?;
    let value = |key: &str| -> anyhow::Result<f64> {
        output
            .lines()
            .find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
            .with_context(|| format!("compile-bench printed no {key}: {output}"))
    };
    let (one_in, one_iso) = (
        value("latency-in-process-ms")?,
        value("latency-isolated-ms")?,
    );
    let (all_in, all_iso) = (
        value("throughput-in-process-ms")?,
        value("throughput-isolated-ms")?,
    );
    println!("one small module, in-process             {one_in:>8.2} ms  1.00x");
    println!(
        "one small module, warm isolated worker   {one_iso:>8.2} ms  {:.2}x",
        one_iso / one_in
    );
    println!("{MODULES} modules, in-process, sequential    {all_in:>8.1} ms  1.00x");
    println!(
        "{MODULES} modules, {workers} isolated workers        {all_iso:>8.1} ms  {:.2}x",
        all_iso / all_in
    );
    Ok(())
}

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_unstable_by(f64::total_cmp);
    samples[samples.len() / 2]
}
