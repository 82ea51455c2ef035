//! Compile throughput: small modules in-process against the isolated worker pool; and what the
//! debugger's registration and the perf map cost, there and in a program's whole run.

use std::process::Command;

use anyhow::Context;
use xshell::{Shell, cmd};

use super::generated_ir::small_module;
use super::{Bound, Goal, Outcome, Row, Settings, field, number, ratio};
use crate::flags::BenchTarget;
use crate::progress;

/// Independent small modules per throughput round.
const MODULES: usize = 200;
const TINY_MODULES: usize = 4;
/// Single-module latency rounds inside each compile-bench process.
const LATENCY_ROUNDS: usize = 10;

/// The JIT's tools each side turns on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tools {
    Off,
    Debugger,
    PerfMap,
}

impl Tools {
    const ALL: [Tools; 3] = [Tools::Off, Tools::Debugger, Tools::PerfMap];

    fn flag(self) -> Option<&'static str> {
        match self {
            Tools::Off => None,
            Tools::Debugger => Some("--debugger"),
            Tools::PerfMap => Some("--perf-map"),
        }
    }

    /// What a side's label adds.
    fn suffix(self) -> &'static str {
        match self {
            Tools::Off => "",
            Tools::Debugger => ", debugger on",
            Tools::PerfMap => ", perf map on",
        }
    }
}

/// The two programs each side runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Program {
    /// compile-bench: latency and throughput inside one process.
    Compile,
    /// start-bench on one small module: the whole process.
    Start,
}

/// What the program `pid` left in /tmp when it wrote a perf map: removed, so runs leave nothing.
fn remove_perf_map(output: &str) -> anyhow::Result<()> {
    let pid = field(output, "pid")?;
    let map = format!("/tmp/perf-{pid}.map");
    match std::fs::remove_file(&map) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {map}"))
        }
        _ => Ok(()),
    }
}

/// The settings of compile-bench's paired rounds, as it names them, and as the report does.
/// `default` is the object layer LLJIT picks without a debugger.
fn paired_sides(default: &str) -> [(&'static str, String); 3] {
    [
        ("off", format!("debugger off ({default})")),
        ("debugger", "debugger on (RuntimeDyld)".to_owned()),
        ("off-runtimedyld", "debugger off (RuntimeDyld)".to_owned()),
    ]
}

/// One paired round: per setting (in [`paired_sides`]' order), the in-process and the isolated
/// batch's times (ms).
type PairedRound = [[f64; 2]; 3];

/// compile-bench's paired rounds (`paired ROUND SETTING IN-PROCESS ISOLATED` lines), the
/// warm-up round 0 left out.
fn parse_paired(output: &str, names: &[&str; 3]) -> anyhow::Result<Vec<PairedRound>> {
    let mut rounds: Vec<(usize, PairedRound, usize)> = Vec::new();
    for line in output.lines() {
        let Some(rest) = line.strip_prefix("paired ") else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let [round, setting, in_process, isolated] = fields[..] else {
            anyhow::bail!("compile-bench printed an unexpected line: {line:?}");
        };
        let round: usize = round.parse().with_context(|| format!("in {line:?}"))?;
        let setting = names
            .iter()
            .position(|n| *n == setting)
            .with_context(|| format!("unknown setting in {line:?}"))?;
        let times = [in_process.parse()?, isolated.parse()?];
        match rounds.last_mut() {
            Some((r, times_of, seen)) if *r == round => {
                times_of[setting] = times;
                *seen += 1;
            }
            _ => {
                let mut times_of = [[f64::NAN; 2]; 3];
                times_of[setting] = times;
                rounds.push((round, times_of, 1));
            }
        }
    }
    if let Some((round, _, seen)) = rounds.iter().find(|(_, _, seen)| *seen != 3) {
        anyhow::bail!("paired round {round} has {seen} settings, not 3:\n{output}");
    }
    Ok(rounds
        .into_iter()
        .filter(|(round, _, _)| *round > 0)
        .map(|(_, times, _)| times)
        .collect())
}

/// Within each paired round, setting `ours` over setting `peer` for batch `batch`
/// (0 in-process, 1 isolated).
fn paired_ratios(rounds: &[PairedRound], ours: usize, peer: usize, batch: usize) -> Vec<f64> {
    rounds
        .iter()
        .map(|r| r[ours][batch] / r[peer][batch])
        .collect()
}

/// demo-runner's compile-bench, once per round and side: one small module's latency
/// (in-process and on a warm worker, alternating, median of [`LATENCY_ROUNDS`]) and the time
/// for [`MODULES`] modules in-process one after another against the pool, one worker per core;
/// with the debugger's registration on, and with the perf map on. Beside it, start-bench's
/// whole run on one small module with each.
pub(super) fn run(sh: &Shell, settings: &Settings) -> anyhow::Result<Outcome> {
    let cargo = crate::cargo();
    let version = settings.llvm.cargo_args();
    cmd!(
        sh,
        "{cargo} build --release --quiet --package demo-runner --bin compile-bench --bin start-bench {version...}"
    )
    .run()?;
    let release = crate::target_dir().join("release");
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let modules = if settings.tiny { TINY_MODULES } else { MODULES };
    let one = settings.dir.join("compile_one.ll");
    std::fs::write(&one, small_module("compile_one", 1))
        .with_context(|| format!("cannot write {}", one.display()))?;
    let sides: Vec<(Program, Tools)> = [Program::Compile, Program::Start]
        .iter()
        .flat_map(|p| Tools::ALL.map(|t| (*p, t)))
        .collect();
    progress!(
        "bench compile: {} rounds of {modules} modules, {workers} workers, each with no tools, \
         the debugger and the perf map; and a program's whole run with each",
        settings.rounds
    );
    let keys = [
        "latency-in-process-ms",
        "latency-isolated-ms",
        "throughput-in-process-ms",
        "throughput-isolated-ms",
    ];
    // Per side: compile-bench's four series, or start-bench's whole run.
    let mut samples: Vec<[Vec<f64>; 4]> = sides.iter().map(|_| Default::default()).collect();
    let mut result = None;
    super::alternate(settings.rounds, sides.len(), |index, counted| {
        let (program, tools) = sides[index];
        let output = match program {
            Program::Compile => {
                let mut command = Command::new(release.join("compile-bench"));
                command.args(tools.flag()).args([
                    LATENCY_ROUNDS.to_string(),
                    modules.to_string(),
                    workers.to_string(),
                ]);
                let (_, output) = super::timed(&mut command)?;
                if counted {
                    for (series, key) in samples[index].iter_mut().zip(keys) {
                        series.push(field(&output, key)?);
                    }
                }
                output
            }
            Program::Start => {
                let mut command = Command::new(release.join("start-bench"));
                command.args(tools.flag()).arg(&one);
                let (ms, output) = super::timed(&mut command)?;
                let value = output.lines().find_map(|l| l.strip_prefix("result "));
                super::same_result(&mut result, value.unwrap_or("none"))?;
                if counted {
                    samples[index][0].push(ms);
                }
                output
            }
        };
        if tools == Tools::PerfMap {
            remove_perf_map(&output)?;
        }
        Ok(())
    })?;
    let default_layer = if settings.llvm.major() >= 19 {
        "JITLink"
    } else {
        "RuntimeDyld"
    };
    let sides_paired = paired_sides(default_layer);
    let names = sides_paired.each_ref().map(|(name, _)| *name);
    progress!(
        "bench compile: 1 warm-up + {} paired rounds in one compile-bench process (debugger \
         off, on, and off with RuntimeDyld: fresh JITs taking turns every 10 modules)",
        settings.rounds
    );
    let mut command = Command::new(release.join("compile-bench"));
    command.args([
        "--paired".to_owned(),
        (settings.rounds + 1).to_string(),
        modules.to_string(),
        workers.to_string(),
    ]);
    let (_, output) = super::timed(&mut command)?;
    let paired = parse_paired(&output, &names)?;
    let _ = std::fs::remove_file(&one);
    let series = |program: Program, tools: Tools, key: usize| -> Vec<f64> {
        let index = sides.iter().position(|s| *s == (program, tools));
        index.map(|i| samples[i][key].clone()).unwrap_or_default()
    };
    let (one, all, run) = (
        "one small module".to_owned(),
        format!("{modules} small modules"),
        "a program's whole run, one small module".to_owned(),
    );
    let in_process = "in-process, one after another";
    let isolated = format!("{workers} isolated workers");
    let mut rows = vec![
        Row::peer(&one, "in-process", series(Program::Compile, Tools::Off, 0)),
        Row::ours(
            &one,
            "warm isolated worker",
            series(Program::Compile, Tools::Off, 1),
        ),
    ];
    for (side, key) in [(in_process, 2), (isolated.as_str(), 3)] {
        for tools in Tools::ALL {
            let label = format!("{side}{}", tools.suffix());
            let samples = series(Program::Compile, tools, key);
            // The in-process batch is the isolated one's peer; each batch with a tool on has
            // the same batch without as its peer.
            rows.push(if side == in_process && tools == Tools::Off {
                Row::peer(&all, label, samples)
            } else {
                Row::ours(&all, label, samples)
            });
        }
    }
    for tools in Tools::ALL {
        let label = match tools {
            Tools::Off => "no tools".to_owned(),
            _ => tools.suffix().trim_start_matches(", ").to_owned(),
        };
        let samples = series(Program::Start, tools, 0);
        rows.push(if tools == Tools::Off {
            Row::peer(&run, label, samples)
        } else {
            Row::ours(&run, label, samples)
        });
    }
    let paired_case = |batch: usize| {
        format!(
            "{modules} small modules, {}, paired rounds",
            if batch == 0 {
                in_process
            } else {
                isolated.as_str()
            }
        )
    };
    for batch in 0..2 {
        for (setting, (_, label)) in sides_paired.iter().enumerate() {
            let samples = paired.iter().map(|r| r[setting][batch]).collect();
            rows.push(if setting == 0 {
                Row::peer(paired_case(batch), label, samples)
            } else {
                Row::ours(paired_case(batch), label, samples)
            });
        }
    }
    // Per round: on / off (what a user who turns the debugger on pays, the layer included),
    // on / off with RuntimeDyld both sides (the registration alone), and RuntimeDyld / the
    // default layer without a debugger (the layer alone).
    let (off, on, rtdyld) = (0, 1, 2);
    let paired_spread = |ours: usize, peer: usize, batch: usize| {
        super::Spread::of(&paired_ratios(&paired, ours, peer, batch))
    };
    let ratio_text = |s: super::Spread| format!("{:.3}x ({:.3}–{:.3})", s.median, s.min, s.max);
    let with = |side: &str, tools: Tools| format!("{side}{}", tools.suffix());
    let price = |side: &str, tools: Tools| ratio(&rows, (&all, &with(side, tools)), (&all, side));
    let per_module = |side: &str, tools: Tools| -> anyhow::Result<f64> {
        let median = |label: &str| {
            rows.iter()
                .find(|r| r.case == all && r.side == label)
                .map(|r| r.spread().median)
                .with_context(|| format!("no row {label}"))
        };
        Ok((median(&with(side, tools))? - median(side)?) * 1e3 / modules as f64)
    };
    let span = |side: &str| -> anyhow::Result<f64> {
        let row = rows.iter().find(|r| r.case == all && r.side == side);
        let spread = row.with_context(|| format!("no row {side}"))?.spread();
        Ok(spread.max - spread.min)
    };
    let goals = vec![
        Goal {
            text: format!(
                "{all}, {in_process}: debugger on / off (median of {} paired rounds' ratios)",
                paired.len()
            ),
            ratio: paired_spread(on, off, 0).median,
            bound: Bound::AtMost(1.10),
        },
        Goal {
            text: format!(
                "{all}, {isolated}: debugger on / off (median of {} paired rounds' ratios)",
                paired.len()
            ),
            ratio: paired_spread(on, off, 1).median,
            bound: Bound::AtMost(1.10),
        },
    ];
    let notes = vec![
        format!(
            "The debugger's price, paired: {} rounds in one compile-bench process, each \
             building a fresh JIT per setting (untimed) and running both batches on all three, \
             the settings taking turns every 10 modules in an order that rotates and reverses \
             (the isolated batch goes to the pool 10 modules at a time); the ratio is taken \
             within each round, and the goal is their median (min–max beside it). `debugger(true)` \
             also switches the object layer to RuntimeDyld (JITLink's debugger support never \
             takes an entry back), so on / off compares layers too. In-process: on / off {}; \
             the registration alone (on / off, RuntimeDyld both sides) {}; the layer alone \
             (RuntimeDyld / {default_layer}, no debugger) {}. Isolated: on / off {}; \
             registration {}; layer {}.",
            paired.len(),
            ratio_text(paired_spread(on, off, 0)),
            ratio_text(paired_spread(on, rtdyld, 0)),
            ratio_text(paired_spread(rtdyld, off, 0)),
            ratio_text(paired_spread(on, off, 1)),
            ratio_text(paired_spread(on, rtdyld, 1)),
            ratio_text(paired_spread(rtdyld, off, 1)),
        ),
        format!(
            "Isolated / in-process, one module: {:.2}x; {modules} modules: {:.2}x. No goal: \
             isolation is chosen for safety (a module that crashes LLVM kills a worker, not the \
             host); this shows its price and what the pool of {workers} workers gets back.",
            ratio(&rows, (&one, "warm isolated worker"), (&one, "in-process"))?,
            ratio(&rows, (&all, &isolated), (&all, in_process))?
        ),
        format!(
            "In separate processes (the alternating rounds above, one process per setting), the \
             debugger costs per module (medians, on − off, over {modules}): {} µs in-process, {} \
             µs isolated; for scale, the rounds without it span {} ms and {} ms: process-level \
             noise that the paired rounds take out. `debugger(true)` changes no code generation \
             setting: what it adds is the object layer (RuntimeDyld) and the registration of \
             each object with the GDB JIT interface when it is linked (a copy of \
             the object, patched with its load addresses, and a call to \
             `__jit_debug_register_code`).",
            number(per_module(in_process, Tools::Debugger)?),
            number(per_module(&isolated, Tools::Debugger)?),
            number(span(in_process)?),
            number(span(&isolated)?),
        ),
        format!(
            "The perf map costs {:.2}x in-process and {:.2}x isolated over {modules} modules. A \
             program's whole run (start-bench: create the JIT, add one small module, look it up, \
             call it, exit) takes {:.2}x with the debugger and {:.2}x with the perf map; no \
             goal.",
            price(in_process, Tools::PerfMap)?,
            price(&isolated, Tools::PerfMap)?,
            ratio(&rows, (&run, "debugger on"), (&run, "no tools"))?,
            ratio(&rows, (&run, "perf map on"), (&run, "no tools"))?,
        ),
        "Each round runs, alternating, one release compile-bench process per tool setting \
         (after one warm-up round): its latency rows are the median of 10 alternating \
         single-module compiles; its throughput rows run the in-process batch first, then the \
         isolated one. Then start-bench's whole run, timed from spawn to exit, per setting. A \
         perf map is written to /tmp/perf-PID.map and removed after the run, untimed. Then \
         the paired rounds, in one more compile-bench process."
            .to_owned(),
    ];
    Ok(Outcome {
        target: BenchTarget::Compile,
        title: "Compile throughput: in-process against isolated workers, and the price of the \
                debugger and the perf map"
            .into(),
        method: format!(
            "demo-runner's `compile-bench` parses, compiles and calls small independent modules \
             (each defines and calls its own function) with LLVM {}: in-process through \
             `Jit::add_module`, and in separate worker processes through \
             `add_module_isolated` / `add_modules_isolated`; with the JIT built as it is by \
             default, with `JitBuilder::debugger(true)` (each object registered with the GDB \
             JIT interface) and with `perf_map(true)` (each function appended to \
             /tmp/perf-PID.map). `start-bench` is a program's whole run on one such module.",
            settings.llvm
        ),
        unit: "ms",
        rows,
        goals,
        notes,
    })
}
