//! The JIT side of `cargo xtask bench compile`: in-process against isolated compilation, in
//! one process, alternating rounds. Prints one `name value` line per measurement.
//!
//! - `latency`: add, compile and call one small module, in-process, then through a warm worker;
//! - `throughput`: 200 independent small modules, in-process one after another (LLJIT compiles
//!   on one thread) and through the worker pool in parallel.
//!
//! `--debugger` and `--perf-map` build the JIT with `JitBuilder::debugger(true)` or
//! `perf_map(true)`, for the price of each; the process id is printed, so that the benchmark
//! can remove a run's `/tmp/perf-PID.map`.
//!
//! `compile-bench --paired ROUNDS MODULES WORKERS` measures the debugger's price alone, with
//! the noise of separate processes and separate rounds taken out: each round builds one fresh
//! JIT per [`Paired`] setting in this process and runs the two batches on all of them, the
//! settings taking turns every [`SLICE`] modules; it prints `paired ROUND SETTING IN-PROCESS-MS
//! ISOLATED-MS` per setting, and the benchmark takes ratios within a round.

use std::process::ExitCode;
use std::time::Instant;

use orc_jit::{Jit, ObjectLayer, WorkerProgram};

/// The JIT settings a paired round compares.
#[derive(Clone, Copy)]
enum Paired {
    /// As built by default: JITLink on LLVM 19 and later, RuntimeDyld before.
    Off,
    /// `debugger(true)`, which picks RuntimeDyld on every version.
    Debugger,
    /// No debugger, RuntimeDyld: against `Debugger`, the registration's own price.
    OffRuntimeDyld,
}

impl Paired {
    const ALL: [Paired; 3] = [Paired::Off, Paired::Debugger, Paired::OffRuntimeDyld];

    fn name(self) -> &'static str {
        match self {
            Paired::Off => "off",
            Paired::Debugger => "debugger",
            Paired::OffRuntimeDyld => "off-runtimedyld",
        }
    }

    fn jit(self) -> Jit {
        let mut builder = Jit::builder();
        builder.compile_worker(WorkerProgram::CurrentExe);
        match self {
            Paired::Off => {}
            Paired::Debugger => {
                builder.debugger(true);
            }
            Paired::OffRuntimeDyld => {
                builder.object_layer(ObjectLayer::RuntimeDyld);
            }
        }
        builder.build().expect("JIT")
    }
}

fn module(i: usize) -> String {
    // A little arithmetic, so code generation has something to do.
    let mut ir = format!("define i64 @m{i}(i64 %x) {{\nentry:\n  %v0 = add i64 %x, {i}\n");
    for k in 1..40 {
        ir.push_str(&format!("  %v{k} = mul i64 %v{}, {}\n", k - 1, k % 5 + 1));
    }
    ir.push_str("  ret i64 %v39\n}\n");
    ir
}

fn call(jit: &Jit, i: usize) -> i64 {
    let f = jit
        .lookup::<extern "C" fn(i64) -> i64>(&format!("m{i}"))
        .expect("lookup");
    // SAFETY: the module only does arithmetic on its argument.
    unsafe { f.call(1) }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> ExitCode {
    orc_jit::serve_if_worker();
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut switch = |flag: &str| {
        let given = args.iter().any(|a| a == flag);
        args.retain(|a| a != flag);
        given
    };
    let (debugger, perf_map) = (switch("--debugger"), switch("--perf-map"));
    let paired = switch("--paired");
    let (rounds, modules, workers) = match args.as_slice() {
        [r, m, w] => match (r.parse(), m.parse(), w.parse()) {
            (Ok(r), Ok(m), Ok(w)) => (r, m, w),
            _ => return usage(),
        },
        _ => return usage(),
    };
    if paired {
        for round in 0..rounds {
            paired_round(round, modules, workers);
        }
        return ExitCode::SUCCESS;
    }
    let jit = Jit::builder()
        .compile_worker(WorkerProgram::CurrentExe)
        .debugger(debugger)
        .perf_map(perf_map)
        .build()
        .expect("JIT");
    println!("pid {}", std::process::id());
    warm(&jit, workers);
    let mut next = 0;
    let (mut in_process, mut isolated) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        next += 1;
        let start = Instant::now();
        let ir = module(next);
        jit.add_module(jit.parse_module("one.ll", ir.as_bytes()).expect("parse"))
            .expect("add");
        call(&jit, next);
        in_process.push(start.elapsed().as_secs_f64() * 1e3);

        next += 1;
        let start = Instant::now();
        let ir = module(next);
        jit.add_module_isolated("one.ll", ir.as_bytes())
            .expect("add");
        call(&jit, next);
        isolated.push(start.elapsed().as_secs_f64() * 1e3);
    }
    println!("latency-in-process-ms {:.3}", median(in_process));
    println!("latency-isolated-ms {:.3}", median(isolated));

    let (in_process, isolated) = batches(&jit, modules, workers);
    println!("throughput-in-process-ms {in_process:.3}");
    println!("throughput-isolated-ms {isolated:.3}");
    ExitCode::SUCCESS
}

/// Modules per slice of a paired round: the settings take turns every slice, so that what the
/// machine's load does to one it does to the others within milliseconds.
const SLICE: usize = 10;

/// One paired round: a fresh JIT per setting (built and warmed untimed), then `modules`
/// modules in-process on each, then `modules` through each one's pool, [`SLICE`] at a time,
/// the settings taking turns in an order that rotates and reverses from slice to slice. Prints
/// each setting's two totals.
fn paired_round(round: usize, modules: usize, workers: usize) {
    let jits: Vec<Jit> = Paired::ALL.iter().map(|s| s.jit()).collect();
    for jit in &jits {
        warm(jit, workers);
    }
    let order = |slice: usize| {
        let turn = round * modules.div_ceil(SLICE) + slice;
        let mut order: Vec<usize> = (0..jits.len())
            .map(|k| (k + turn / 2) % jits.len())
            .collect();
        if turn % 2 == 1 {
            order.reverse();
        }
        order
    };
    let mut totals = vec![[0.0f64; 2]; jits.len()];
    for (batch, first) in [(0, 10_000), (1, 20_000)] {
        for (slice, from) in (0..modules).step_by(SLICE).enumerate() {
            let numbers = first + from..first + (from + SLICE).min(modules);
            let irs: Vec<String> = numbers.clone().map(module).collect();
            for k in order(slice) {
                let jit = &jits[k];
                let start = Instant::now();
                if batch == 0 {
                    for (i, ir) in numbers.clone().zip(&irs) {
                        jit.add_module(jit.parse_module("t.ll", ir.as_bytes()).expect("parse"))
                            .expect("add");
                        call(jit, i);
                    }
                } else {
                    let inputs: Vec<(&str, &[u8])> =
                        irs.iter().map(|s| ("t.ll", s.as_bytes())).collect();
                    for result in jit.add_modules_isolated(&inputs, workers) {
                        result.expect("add");
                    }
                    for i in numbers.clone() {
                        call(jit, i);
                    }
                }
                totals[k][batch] += start.elapsed().as_secs_f64() * 1e3;
            }
        }
    }
    for (setting, [in_process, isolated]) in Paired::ALL.iter().zip(totals) {
        println!(
            "paired {round} {} {in_process:.3} {isolated:.3}",
            setting.name()
        );
    }
}

/// Starts the pool: one worker per parallel slot.
fn warm(jit: &Jit, workers: usize) {
    let warm: Vec<String> = (0..workers).map(|i| module(1_000_000 + i)).collect();
    let warm: Vec<(&str, &[u8])> = warm.iter().map(|s| ("warm.ll", s.as_bytes())).collect();
    for result in jit.add_modules_isolated(&warm, workers) {
        result.expect("warm-up");
    }
}

/// The two throughput batches of `modules` modules: in-process one after another, then through
/// the pool; their times (ms).
fn batches(jit: &Jit, modules: usize, workers: usize) -> (f64, f64) {
    let batch = |first: usize| -> Vec<String> { (first..first + modules).map(module).collect() };
    let sequential = batch(10_000);
    let start = Instant::now();
    for (k, ir) in sequential.iter().enumerate() {
        jit.add_module(jit.parse_module("t.ll", ir.as_bytes()).expect("parse"))
            .expect("add");
        call(jit, 10_000 + k);
    }
    let in_process = start.elapsed().as_secs_f64() * 1e3;

    let parallel = batch(20_000);
    let inputs: Vec<(&str, &[u8])> = parallel.iter().map(|s| ("t.ll", s.as_bytes())).collect();
    let start = Instant::now();
    for result in jit.add_modules_isolated(&inputs, workers) {
        result.expect("add");
    }
    for k in 0..modules {
        call(jit, 20_000 + k);
    }
    (in_process, start.elapsed().as_secs_f64() * 1e3)
}

fn usage() -> ExitCode {
    eprintln!("usage: compile-bench [--debugger] [--perf-map] [--paired] ROUNDS MODULES WORKERS");
    ExitCode::from(2)
}
