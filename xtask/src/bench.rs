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

fn verify_symbols_vs_nm(sh: &Shell, rounds: usize, llvm: Llvm) -> anyhow::Result<()> {
    let library = libllvm(llvm)?;
    let names = sample_names(sh, &library)?;
    progress!(
        "bench verify-symbols: {} symbols of {}, {rounds} rounds each",
        names.len(),
        library.display()
    );
    let (mut ours, mut peer) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        // Alternate, so both sides see the same machine noise and page cache.
        let start = Instant::now();
        let report = verify_symbols::verify(&library, &names)?;
        ours.push(start.elapsed().as_secs_f64() * 1e3);
        let found_ours = report
            .symbols
            .iter()
            .filter(|s| s.status == verify_symbols::Status::Exported)
            .count();

        let start = Instant::now();
        let found_peer = nm_lookup(sh, &library, &names)?;
        peer.push(start.elapsed().as_secs_f64() * 1e3);
        if found_ours != found_peer {
            bail!(
                "verify-symbols found {found_ours} exported symbols, nm {found_peer}: they disagree"
            );
        }
    }
    let (ours, peer) = (median(&mut ours), median(&mut peer));
    println!("verify-symbols (mmap + object, one pass)  median {ours:>8.2} ms");
    println!("nm -D --defined-only | hash-set lookup    median {peer:>8.2} ms");
    println!("ratio nm / verify-symbols: {:.1}x", peer / ours);
    Ok(())
}

/// The shared libLLVM of `llvm` (the link `libLLVM-N.so` resolved to the real file).
fn libllvm(llvm: Llvm) -> anyhow::Result<PathBuf> {
    let path = llvm.prefix().join(format!("lib/libLLVM-{llvm}.so"));
    path.canonicalize()
        .with_context(|| format!("{} (run cargo xtask deps --llvm {llvm})", path.display()))
}

/// 900 names the library defines (evenly spread) and 100 it does not.
fn sample_names(sh: &Shell, library: &Path) -> anyhow::Result<Vec<String>> {
    let listing = cmd!(sh, "nm -D --defined-only {library}").quiet().read()?;
    let mut defined: Vec<&str> = listing.lines().filter_map(defined_name).collect();
    defined.sort_unstable();
    defined.dedup();
    let step = (defined.len() / 900).max(1);
    let mut names: Vec<String> = defined
        .iter()
        .step_by(step)
        .take(900)
        .map(|s| (*s).to_owned())
        .collect();
    names.extend((0..100).map(|i| format!("not_in_llvm_{i}")));
    Ok(names)
}

fn defined_name(line: &str) -> Option<&str> {
    line.split_whitespace()
        .last()
        .map(|s| s.split('@').next().unwrap_or(s))
}

/// The peer: run nm, read its whole output into a set, look the names up.
fn nm_lookup(sh: &Shell, library: &Path, names: &[String]) -> anyhow::Result<usize> {
    let listing = cmd!(sh, "nm -D --defined-only {library}").quiet().read()?;
    let set: HashSet<&str> = listing.lines().filter_map(defined_name).collect();
    Ok(names.iter().filter(|n| set.contains(n.as_str())).count())
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
