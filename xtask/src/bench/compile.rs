//! Compile throughput: small modules in-process against the isolated worker pool.

use xshell::{Shell, cmd};

use super::{Goal, Outcome, Row, Settings, field, ratio};
use crate::flags::BenchTarget;
use crate::progress;

/// Independent small modules per throughput round.
const MODULES: usize = 200;
const TINY_MODULES: usize = 4;
/// Single-module latency rounds inside each compile-bench process.
const LATENCY_ROUNDS: usize = 10;

/// demo-runner's compile-bench, once per round: one small module's latency (in-process and on
/// a warm worker, alternating, median of [`LATENCY_ROUNDS`]) and the time for [`MODULES`]
/// modules in-process one after another against the pool, one worker per core.
pub(super) fn run(sh: &Shell, settings: &Settings) -> anyhow::Result<Outcome> {
    let cargo = crate::cargo();
    let version = settings.llvm.cargo_args();
    cmd!(
        sh,
        "{cargo} build --release --quiet --package demo-runner --bin compile-bench {version...}"
    )
    .run()?;
    let bench = crate::target_dir().join("release/compile-bench");
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let modules = if settings.tiny { TINY_MODULES } else { MODULES };
    let (latency_rounds, modules_arg, workers_arg) = (
        LATENCY_ROUNDS.to_string(),
        modules.to_string(),
        workers.to_string(),
    );
    progress!(
        "bench compile: {} rounds of {modules} modules, {workers} workers",
        settings.rounds
    );
    let mut samples: [Vec<f64>; 4] = Default::default();
    // One side: compile-bench alternates inside (the latency rounds); the warm-up round is not
    // counted.
    super::alternate(settings.rounds, 1, |_, counted| {
        let output = cmd!(sh, "{bench} {latency_rounds} {modules_arg} {workers_arg}")
            .quiet()
            .read()?;
        for (series, key) in samples.iter_mut().zip([
            "latency-in-process-ms",
            "latency-isolated-ms",
            "throughput-in-process-ms",
            "throughput-isolated-ms",
        ]) {
            let value = field(&output, key)?;
            if counted {
                series.push(value);
            }
        }
        Ok(())
    })?;
    let [one_in, one_iso, all_in, all_iso] = samples;
    let (one, all) = (
        "one small module".to_owned(),
        format!("{modules} small modules"),
    );
    let rows = vec![
        Row::peer(&one, "in-process", one_in),
        Row::ours(&one, "warm isolated worker", one_iso),
        Row::peer(&all, "in-process, one after another", all_in),
        Row::ours(&all, format!("{workers} isolated workers"), all_iso),
    ];
    let notes = vec![
        format!(
            "Isolated / in-process, one module: {:.2}x; {modules} modules: {:.2}x. No goal: \
             isolation is chosen for safety (a module that crashes LLVM kills a worker, not the \
             host); this shows its price and what the pool of {workers} workers gets back.",
            ratio(&rows, (&one, "warm isolated worker"), (&one, "in-process"))?,
            ratio(
                &rows,
                (&all, &format!("{workers} isolated workers")),
                (&all, "in-process, one after another")
            )?
        ),
        "Each round is one release compile-bench process (after one warm-up process): its \
         latency rows are the median of 10 alternating single-module compiles; its throughput \
         rows run the in-process batch first, then the isolated one."
            .to_owned(),
    ];
    let goals: Vec<Goal> = Vec::new();
    Ok(Outcome {
        target: BenchTarget::Compile,
        title: "Compile throughput: in-process against isolated workers".into(),
        method: format!(
            "demo-runner's `compile-bench` parses, compiles and calls small independent modules \
             (each defines and calls its own function) with LLVM {}: in-process through \
             `Jit::add_module`, and in separate worker processes through \
             `add_module_isolated` / `add_modules_isolated`.",
            settings.llvm
        ),
        unit: "ms",
        rows,
        goals,
        notes,
    })
}
