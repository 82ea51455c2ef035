//! demo-static under the real gdb and perf, as its `--help` and the README tell a user to run
//! them (issue 24, point 5): gdb stops in the JIT-compiled `f` and shows the host's frames
//! below it, also in a stripped copy; perf puts the `--bench-calls` loop on its JIT function,
//! through the perf map (`--perf`) and the jitdump (`--jitdump`). A missing tool, or perf that
//! cannot open events here, fails the test saying so.

use std::path::{Path, PathBuf};

use demo_debug::{Profile, gdb_stops_in_f, perf_attributes_the_loop, strip_copy};

const BINARY: &str = env!("CARGO_BIN_EXE_demo-static");

/// A directory of this test's own.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("demo-static-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn shown(checked: &demo_debug::Checked) {
    for command in &checked.ran {
        eprintln!("$ {command}");
    }
    for line in &checked.lines {
        eprintln!("  {line}");
    }
    eprintln!("{}", checked.summary);
}

#[test]
fn gdb_stops_in_the_jit_compiled_f_with_the_host_below() {
    match gdb_stops_in_f(Path::new(BINARY)) {
        Ok(checked) => {
            // Named host frames: the demo's own functions.
            assert!(checked.summary.contains("demo_runner::run"), "{checked:?}");
            shown(&checked);
        }
        Err(problem) => panic!("{problem}"),
    }
}

/// Stripped, the binary has no symbol table; with libLLVM shared, libLLVM's .dynsym still gives
/// gdb the GDB JIT interface.
#[test]
fn gdb_stops_in_f_in_a_stripped_copy() {
    let stripped =
        strip_copy(Path::new(BINARY), &scratch("stripped")).unwrap_or_else(|e| panic!("{e}"));
    match gdb_stops_in_f(&stripped) {
        Ok(checked) => shown(&checked),
        Err(problem) => panic!("{problem}"),
    }
}

#[test]
fn perf_puts_the_loop_on_its_jit_function_through_the_perf_map_and_the_jitdump() {
    for profile in [Profile::PerfMap, Profile::JitDump] {
        let dir = scratch(&format!("perf-{}", profile.flag().trim_start_matches('-')));
        match perf_attributes_the_loop(Path::new(BINARY), profile, demo_debug::PERF_CALLS, &dir) {
            Ok(checked) => shown(&checked),
            Err(problem) => panic!("{problem}"),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The check can fail: gdb never stops in a function the JIT does not have, and the check says
/// so with gdb's output.
#[test]
fn the_gdb_check_fails_when_gdb_does_not_stop() {
    let problem = demo_debug::gdb_stops_in(Path::new(BINARY), "no_such_jit_function")
        .expect_err("gdb stopped in a function nobody defines");
    assert!(
        problem.starts_with("gdb did not stop in the JIT-compiled no_such_jit_function")
            && problem.contains("f() = 42"),
        "{problem}"
    );
}
