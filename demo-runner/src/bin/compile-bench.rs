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

use std::process::ExitCode;
use std::time::Instant;

use orc_jit::{Jit, WorkerProgram};

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
    let (rounds, modules, workers) = match args.as_slice() {
        [r, m, w] => match (r.parse(), m.parse(), w.parse()) {
            (Ok(r), Ok(m), Ok(w)) => (r, m, w),
            _ => return usage(),
        },
        _ => return usage(),
    };
    let jit = Jit::builder()
        .compile_worker(WorkerProgram::CurrentExe)
        .debugger(debugger)
        .perf_map(perf_map)
        .build()
        .expect("JIT");
    println!("pid {}", std::process::id());
    // Warm the pool: one worker per parallel slot.
    let warm: Vec<String> = (0..workers).map(|i| module(1_000_000 + i)).collect();
    let warm: Vec<(&str, &[u8])> = warm.iter().map(|s| ("warm.ll", s.as_bytes())).collect();
    for result in jit.add_modules_isolated(&warm, workers) {
        result.expect("warm-up");
    }
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

    let batch = |first: usize| -> Vec<String> { (first..first + modules).map(module).collect() };
    let sequential = batch(10_000);
    let start = Instant::now();
    for (k, ir) in sequential.iter().enumerate() {
        jit.add_module(jit.parse_module("t.ll", ir.as_bytes()).expect("parse"))
            .expect("add");
        call(&jit, 10_000 + k);
    }
    println!(
        "throughput-in-process-ms {:.3}",
        start.elapsed().as_secs_f64() * 1e3
    );

    let parallel = batch(20_000);
    let inputs: Vec<(&str, &[u8])> = parallel.iter().map(|s| ("t.ll", s.as_bytes())).collect();
    let start = Instant::now();
    for result in jit.add_modules_isolated(&inputs, workers) {
        result.expect("add");
    }
    for k in 0..modules {
        call(&jit, 20_000 + k);
    }
    println!(
        "throughput-isolated-ms {:.3}",
        start.elapsed().as_secs_f64() * 1e3
    );
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    eprintln!("usage: compile-bench [--debugger] [--perf-map] ROUNDS MODULES WORKERS");
    ExitCode::from(2)
}
