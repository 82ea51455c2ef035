//! perf names JIT code: `perf record` of a process whose JIT runs a hot loop, then `perf report`
//! puts at least 90% of the samples on the JIT function's name, through the perf map and
//! through a jitdump (`perf inject --jit`), on each object layer (issue 24, points 1 and 4).
//!
//! The profiled program is this test binary, started again by perf with `ORC_JIT_PROFILEE`
//! set. If perf cannot open events here, the test fails and says so: it never passes silently.

use std::path::Path;
use std::process::Command;

use orc_jit::{Jit, ObjectLayer};

const HOT_LOOP: &str = "define i64 @jit_hot_loop(i64 %n) {\nentry:\n  br label %loop\n\
    loop:\n  %i = phi i64 [ 0, %entry ], [ %next, %loop ]\n  %acc = phi i64 [ 1, %entry ], [ %acc2, %loop ]\n\
      %m = mul i64 %acc, 6364136223846793005\n  %acc2 = add i64 %m, %i\n  %next = add i64 %i, 1\n\
      %more = icmp ult i64 %next, %n\n  br i1 %more, label %loop, label %done\n\
    done:\n  ret i64 %acc2\n}\n";

/// The profiled side: JIT the loop with the profiler switch on and run it for about 1.5 s.
fn profilee(how: &str) -> ! {
    let mut builder = Jit::builder();
    if how.contains("rtdyld") {
        builder.object_layer(ObjectLayer::RuntimeDyld);
    }
    if how.contains("map") {
        builder.perf_map(true);
    } else {
        builder.jitdump(true);
    }
    builder.compile_worker(orc_jit::WorkerProgram::Path(
        env!("CARGO_BIN_EXE_orc-jit-worker").into(),
    ));
    let jit = builder.build().unwrap();
    if how.contains("isolated") {
        jit.add_module_isolated("hot.ll", HOT_LOOP.as_bytes())
            .unwrap();
    } else {
        jit.add_module(jit.parse_module("hot.ll", HOT_LOOP.as_bytes()).unwrap())
            .unwrap();
    }
    let hot = jit
        .lookup::<extern "C" fn(i64) -> i64>("jit_hot_loop")
        .unwrap();
    let start = std::time::Instant::now();
    let mut sum = 0i64;
    while start.elapsed() < std::time::Duration::from_millis(1500) {
        // SAFETY: the loop does arithmetic only.
        sum = sum.wrapping_add(unsafe { hot.call(50_000_000) });
    }
    println!("sum {sum}");
    std::process::exit(0)
}

fn perf(args: &[&str], dir: &Path) -> String {
    let out = Command::new("perf")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("perf: {e} (cargo xtask deps installs linux-perf)"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "perf {args:?} failed on this machine (perf_event_paranoid is {}; perf must be able to \
         open cpu-clock events for these tests):\n{text}",
        std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid").unwrap_or_default()
    );
    text
}

/// The share of the samples `perf report` puts on `name`.
fn share(report: &str, name: &str) -> f64 {
    report
        .lines()
        .filter(|l| l.contains(name))
        .filter_map(|l| {
            l.split_whitespace()
                .next()?
                .strip_suffix('%')?
                .parse::<f64>()
                .ok()
        })
        .sum()
}

fn profile(how: &str) -> (f64, String) {
    let dir = std::env::temp_dir().join(format!("orc-jit-profiler-{how}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let exe = std::env::current_exe().unwrap();
    let exe = exe.to_str().unwrap();
    let test = "perf_puts_the_samples_on_the_jit_function";
    let mut record = vec!["record", "-e", "cpu-clock", "-F", "999", "-o", "perf.data"];
    if how.contains("dump") {
        record.extend(["-k", "mono"]);
    }
    record.extend(["--", exe, "--exact", test, "--nocapture"]);
    // SAFETY: set before any thread of this test reads the environment for the child.
    unsafe { std::env::set_var("ORC_JIT_PROFILEE", how) };
    perf(&record, &dir);
    // SAFETY: as above; the child has been started.
    unsafe { std::env::remove_var("ORC_JIT_PROFILEE") };
    let data = if how.contains("dump") {
        perf(
            &["inject", "--jit", "-i", "perf.data", "-o", "perf.jit.data"],
            &dir,
        );
        "perf.jit.data"
    } else {
        "perf.data"
    };
    let report = perf(
        &[
            "report",
            "-i",
            data,
            "--stdio",
            "--no-children",
            "--sort",
            "symbol",
        ],
        &dir,
    );
    let _ = std::fs::remove_dir_all(&dir);
    (share(&report, "jit_hot_loop"), report)
}

#[test]
fn perf_puts_the_samples_on_the_jit_function() {
    if let Ok(how) = std::env::var("ORC_JIT_PROFILEE") {
        profilee(&how);
    }
    let mut ways = vec!["map", "dump", "map-isolated"];
    if orc_jit::LLVM_VERSION >= 19 {
        // The default layer is JITLink there: RuntimeDyld too.
        ways.extend(["map-rtdyld", "dump-rtdyld"]);
    }
    for how in ways {
        let (share, report) = profile(how);
        assert!(
            share >= 90.0,
            "{how}: {share}% of the samples on jit_hot_loop:\n{report}"
        );
    }
}
