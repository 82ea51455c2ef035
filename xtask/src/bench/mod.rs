//! `cargo xtask bench`: every benchmark side by side with its peer in one run (alternating
//! rounds), a progress line per benchmark, a summary table, and `target/bench/report.md` with
//! one SVG plot per benchmark, the machine, medians with their spread, and each goal.
//!
//! Benchmarks are measurements, never assertions: a goal that does not hold is reported, and
//! the command still succeeds. `--tiny` runs each benchmark once at its smallest size so the
//! code paths stay tested (`cargo xtask test` does); its numbers mean nothing.

mod build_loop;
mod cache;
mod calls;
mod compile;
mod generated_ir;
mod ipo;
mod report;
mod startup;
pub(crate) mod verify;
mod versions;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use xshell::Shell;

use crate::flags::{Bench, BenchTarget};
use crate::llvm::Llvm;
use crate::progress;

/// What every benchmark is given.
pub(crate) struct Settings {
    /// Timed rounds of each side.
    pub(crate) rounds: usize,
    /// One round at the smallest size: the code paths, not the numbers.
    pub(crate) tiny: bool,
    /// The LLVM the JIT side is built with.
    pub(crate) llvm: Llvm,
    /// Where a benchmark keeps its files (and the report is written).
    pub(crate) dir: PathBuf,
}

/// One benchmark's measurements.
pub(crate) struct Outcome {
    pub(crate) target: BenchTarget,
    pub(crate) title: String,
    /// How it was measured, for the report (Markdown).
    pub(crate) method: String,
    /// The unit of every sample.
    pub(crate) unit: &'static str,
    pub(crate) rows: Vec<Row>,
    pub(crate) goals: Vec<Goal>,
    /// Anything a reader needs to read the numbers right (Markdown).
    pub(crate) notes: Vec<String>,
}

/// One side of one case: its samples, one per round.
pub(crate) struct Row {
    pub(crate) case: String,
    pub(crate) side: String,
    /// The peer a ratio is taken against (drawn in another colour).
    pub(crate) peer: bool,
    pub(crate) samples: Vec<f64>,
}

impl Row {
    pub(crate) fn ours(case: impl Into<String>, side: impl Into<String>, samples: Vec<f64>) -> Row {
        Row {
            case: case.into(),
            side: side.into(),
            peer: false,
            samples,
        }
    }

    pub(crate) fn peer(case: impl Into<String>, side: impl Into<String>, samples: Vec<f64>) -> Row {
        Row {
            peer: true,
            ..Row::ours(case, side, samples)
        }
    }

    pub(crate) fn spread(&self) -> Spread {
        Spread::of(&self.samples)
    }
}

/// A goal: a ratio of two medians and the bound it should keep.
pub(crate) struct Goal {
    /// What is compared, e.g. "nm / verify-symbols at 1,000 names".
    pub(crate) text: String,
    pub(crate) ratio: f64,
    pub(crate) bound: Bound,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Bound {
    AtMost(f64),
    AtLeast(f64),
}

impl Goal {
    /// "holds" or "does not hold".
    pub(crate) fn verdict(&self) -> &'static str {
        if self.holds() {
            "holds"
        } else {
            "does not hold"
        }
    }

    pub(crate) fn holds(&self) -> bool {
        match self.bound {
            Bound::AtMost(limit) => self.ratio <= limit,
            Bound::AtLeast(limit) => self.ratio >= limit,
        }
    }

    pub(crate) fn wanted(&self) -> String {
        match self.bound {
            Bound::AtMost(limit) => format!("≤ {limit}x"),
            Bound::AtLeast(limit) => format!("≥ {limit}x"),
        }
    }
}

/// The median, minimum and maximum of some samples.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spread {
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

impl Spread {
    pub(crate) fn of(samples: &[f64]) -> Spread {
        let mut sorted = samples.to_vec();
        if sorted.is_empty() {
            return Spread {
                median: f64::NAN,
                min: f64::NAN,
                max: f64::NAN,
            };
        }
        sorted.sort_unstable_by(f64::total_cmp);
        let middle = sorted.len() / 2;
        let median = if sorted.len().is_multiple_of(2) {
            (sorted[middle - 1] + sorted[middle]) / 2.0
        } else {
            sorted[middle]
        };
        Spread {
            median,
            min: sorted[0],
            max: sorted[sorted.len() - 1],
        }
    }
}

/// A number with as many decimals as its size needs (3 significant digits at least).
pub(crate) fn number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else if magnitude >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

impl std::fmt::Display for Spread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}–{})",
            number(self.median),
            number(self.min),
            number(self.max)
        )
    }
}

/// The median of `rows[ours]` over the median of `rows[peer]` (by case and side).
pub(crate) fn ratio(rows: &[Row], ours: (&str, &str), peer: (&str, &str)) -> anyhow::Result<f64> {
    let find = |(case, side): (&str, &str)| {
        rows.iter()
            .find(|r| r.case == case && r.side == side)
            .map(|r| r.spread().median)
            .with_context(|| format!("no measurement of {side} for {case}"))
    };
    Ok(find(ours)? / find(peer)?)
}

/// A process run to its end: its wall time (ms) and output.
pub(crate) struct Ran {
    pub(crate) ms: f64,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs `command` to its end with its output captured, timed from spawn to exit; an exit
/// status not in `ok` (or a signal) is an error naming the command.
pub(crate) fn run_timed(command: &mut std::process::Command, ok: &[i32]) -> anyhow::Result<Ran> {
    let start = Instant::now();
    let output = command
        .output()
        .with_context(|| format!("cannot run {command:?}"))?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.code().is_some_and(|code| ok.contains(&code)) {
        bail!("{command:?} failed ({}): {}", output.status, stderr.trim());
    }
    Ok(Ran {
        ms,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr,
    })
}

/// [`run_timed`] for a command that must succeed: its wall time (ms) and stdout.
pub(crate) fn timed(command: &mut std::process::Command) -> anyhow::Result<(f64, String)> {
    let ran = run_timed(command, &[0])?;
    Ok((ran.ms, ran.stdout))
}

/// Runs one warm-up round (not counted: `run(side, false)`) and `rounds` timed rounds
/// (`run(side, true)`), each running every side once. The order rotates every other round and
/// runs backwards on odd rounds, so no side always goes first, or always follows the same one.
pub(crate) fn alternate(
    rounds: usize,
    sides: usize,
    mut run: impl FnMut(usize, bool) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    for round in 0..=rounds {
        let mut order: Vec<usize> = (0..sides).map(|t| (t + round / 2) % sides).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for side in order {
            run(side, round > 0)?;
        }
    }
    Ok(())
}

/// Every side of a benchmark must compute the same result: the first one seen is kept in
/// `expected`, and any other is an error.
pub(crate) fn same_result(expected: &mut Option<String>, result: &str) -> anyhow::Result<()> {
    match expected {
        Some(value) if value != result => {
            bail!("the sides disagree: one computed {value}, another {result}")
        }
        Some(_) => Ok(()),
        None => {
            *expected = Some(result.to_owned());
            Ok(())
        }
    }
}

/// Runs an ahead-of-time loop of `c-libs/bench/` (it prints `RESULT NS-PER-CALL`).
pub(crate) fn aot_loop(command: &mut std::process::Command) -> anyhow::Result<(String, f64)> {
    let (_, output) = timed(command)?;
    let fields: Vec<&str> = output.split_whitespace().collect();
    let [result, ns] = fields.as_slice() else {
        bail!("unexpected output of {command:?}: {output}");
    };
    let ns = ns
        .parse::<f64>()
        .with_context(|| format!("unexpected output of {command:?}: {output}"))?;
    Ok(((*result).to_owned(), ns))
}

/// The number after `key` on a line `key NUMBER ...` of `output`.
pub(crate) fn field(output: &str, key: &str) -> anyhow::Result<f64> {
    output
        .lines()
        .find_map(|line| {
            line.strip_prefix(key)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .with_context(|| format!("no `{key} NUMBER` line in: {output}"))
}

/// 100000 as "100,000".
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl BenchTarget {
    fn run(self, sh: &Shell, settings: &Settings) -> anyhow::Result<Outcome> {
        match self {
            BenchTarget::VerifySymbols => verify::run(sh, settings),
            BenchTarget::Ipo => ipo::run(sh, settings),
            BenchTarget::Calls => calls::run(sh, settings),
            BenchTarget::Startup => startup::run(sh, settings),
            BenchTarget::Compile => compile::run(sh, settings),
            BenchTarget::Cache => cache::run(sh, settings),
            BenchTarget::BuildLoop => build_loop::run(sh, settings),
            BenchTarget::LlvmVersions => versions::run(sh, settings),
        }
    }
}

impl Bench {
    /// Runs the benchmarks in this process: the release build with the `bench` feature, which
    /// `cargo xtask bench` starts (see `bench_runner.rs`).
    pub(crate) fn run_here(self, sh: &Shell) -> anyhow::Result<()> {
        if self.rounds == 0 {
            bail!("--rounds must be at least 1");
        }
        let mut targets = if self.targets.is_empty() {
            BenchTarget::ALL.to_vec()
        } else {
            self.targets.clone()
        };
        let mut seen = Vec::new();
        targets.retain(|t| {
            let first = !seen.contains(t);
            seen.push(*t);
            first
        });
        let dir = if self.tiny {
            crate::target_dir().join("bench/tiny")
        } else {
            crate::target_dir().join("bench")
        };
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let settings = Settings {
            rounds: if self.tiny { 1 } else { self.rounds },
            tiny: self.tiny,
            llvm: self.llvm,
            dir,
        };
        // The system packages every benchmark needs (lli, clang, the static libraries), as
        // `cargo xtask demo` does.
        crate::deps::system_packages(sh, self.llvm, false)?;
        let started = Instant::now();
        let mut outcomes = Vec::new();
        for (index, target) in targets.iter().enumerate() {
            progress!(
                "bench [{}/{}] {}: started",
                index + 1,
                targets.len(),
                target.name()
            );
            let start = Instant::now();
            let outcome = target
                .run(sh, &settings)
                .with_context(|| format!("benchmark {}", target.name()))?;
            let goals: Vec<String> = outcome
                .goals
                .iter()
                .map(|g| {
                    format!(
                        "{} {:.2}x (goal {}: {})",
                        g.text,
                        g.ratio,
                        g.wanted(),
                        g.verdict()
                    )
                })
                .collect();
            progress!(
                "bench [{}/{}] {}: done in {:.0} s{}{}",
                index + 1,
                targets.len(),
                target.name(),
                start.elapsed().as_secs_f64(),
                if goals.is_empty() { "" } else { "; " },
                goals.join("; ")
            );
            outcomes.push(outcome);
        }
        print!("{}", report::summary(&outcomes));
        let written = report::write(&settings, &outcomes, started.elapsed())?;
        println!("report: {}", written.display());
        Ok(())
    }
}

/// The release verify-symbols binary, built if needed.
pub(crate) fn verify_symbols_binary(sh: &Shell) -> anyhow::Result<PathBuf> {
    let cargo = crate::cargo();
    xshell::cmd!(sh, "{cargo} build --release --quiet -p verify-symbols").run()?;
    let binary = crate::target_dir().join("release/verify-symbols");
    if !binary.is_file() {
        bail!("cargo built no {}", binary.display());
    }
    Ok(binary)
}
