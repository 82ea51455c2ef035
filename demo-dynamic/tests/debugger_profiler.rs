//! demo-dynamic under the real gdb and perf (issue 24, point 5): the C library is a shared
//! library here, which changes nothing for gdb and perf. A missing tool, or perf that cannot
//! open events here, fails the test saying so.

use std::path::Path;

use demo_debug::{Profile, gdb_stops_in_f, perf_attributes_the_loop};

const BINARY: &str = env!("CARGO_BIN_EXE_demo-dynamic");

#[test]
fn gdb_stops_in_the_jit_compiled_f_with_the_host_below() {
    match gdb_stops_in_f(Path::new(BINARY)) {
        Ok(checked) => eprintln!("{}", checked.summary),
        Err(problem) => panic!("{problem}"),
    }
}

#[test]
fn perf_puts_the_loop_on_its_jit_function() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo-dynamic-perf");
    match perf_attributes_the_loop(
        Path::new(BINARY),
        Profile::PerfMap,
        demo_debug::PERF_CALLS,
        &dir,
    ) {
        Ok(checked) => eprintln!("{}\n{}", checked.lines.join("\n"), checked.summary),
        Err(problem) => panic!("{problem}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}
