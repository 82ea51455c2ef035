//! demo-static, the real binary built by cargo with its generated link arguments.

use std::path::Path;
use std::process::{Command, Output};

use object::{Object, ObjectSymbol};

const BINARY: &str = env!("CARGO_BIN_EXE_demo-static");

fn run(args: &[&Path]) -> Output {
    Command::new(BINARY)
        .args(args)
        .output()
        .expect("demo-static starts")
}

/// A module file for one test, in a directory of its own.
fn module(test: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("demo-static-{test}"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("module.ll");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn prints_f_equals_42() {
    let out = run(&[]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "f() = 42\n");
}

/// `--help` (and `-h`) is lines of text a terminal shows as they are: the last ends in one
/// newline, and none of the description runs on for a whole screen (it was one line of 230
/// characters).
#[test]
fn help_is_wrapped_lines_ending_in_a_newline() {
    for flag in ["--help", "-h"] {
        let out = Command::new(BINARY).arg(flag).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.ends_with(".\n") && !text.ends_with("\n\n"),
            "{flag}: {text:?}"
        );
        // After the usage lines (which hold the program's path).
        let (_, description) = text.split_once("\n\n").unwrap();
        for line in description.lines() {
            assert!(
                line.chars().count() <= 100,
                "{flag}: a line of {}: {line}",
                line.len()
            );
        }
    }
}

/// Names of the symbols defined in the binary's dynamic symbol table.
fn exported() -> Vec<String> {
    let data = std::fs::read(BINARY).unwrap();
    let file = object::File::parse(&*data).unwrap();
    file.dynamic_symbols()
        .filter(|s| s.is_definition())
        .map(|s| s.name().unwrap().to_owned())
        .collect()
}

#[test]
fn exports_exactly_the_manifest_symbols_of_the_archive() {
    let exported = exported();
    for symbol in [
        "external_function",
        "external_accumulate",
        "external_sum",
        "external_counter",
    ] {
        assert!(
            exported.iter().any(|s| s == symbol),
            "{symbol} not in .dynsym"
        );
    }
    // Linked (whole archive) but not listed in the manifest: not exported.
    assert!(!exported.iter().any(|s| s == "external_unlisted"));
}

#[test]
fn dynsym_stays_small() {
    let data = std::fs::read(BINARY).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let all = file.dynamic_symbols().count();
    // --export-dynamic would put the whole Rust program there (some 2,000 entries).
    assert!(all < 400, ".dynsym has {all} entries");
    let rust = exported()
        .into_iter()
        .filter(|s| s.starts_with("_ZN") || s.starts_with("_R"))
        .count();
    assert_eq!(rust, 0, "Rust symbols are exported: blanket export");
}

#[test]
fn a_syntax_error_prints_llvms_diagnostic_and_exits_1() {
    let path = module(
        "syntax",
        "define i32 @f() {\n  %0 = add i32 1, 2\n  ret i32 %0\n}\n",
    );
    let out = run(&[&path]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "{}:2:3: error: instruction expected to be numbered '%1'",
        path.display()
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn an_unknown_function_is_named_and_exits_1() {
    let path = module(
        "unknown",
        "declare i32 @not_in_any_library(i32)\n\ndefine i32 @f() {\nentry:\n  %r = call i32 @not_in_any_library(i32 21)\n  ret i32 %r\n}\n",
    );
    let out = run(&[&path]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not_in_any_library"), "{stderr}");
    assert!(
        stderr.contains("statically") && stderr.contains("whole"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_inputs_exit_1_without_panicking() {
    let random: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let dir = std::env::temp_dir().join("demo-static-bad");
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        ("empty.ll", b"".to_vec()),
        ("random.bc", random.clone()),
        (
            "bitcode-magic.bc",
            [b"BC\xc0\xde".as_slice(), &random].concat(),
        ),
        (
            "no-f.ll",
            b"define i32 @g() {\nentry:\n  ret i32 1\n}\n".to_vec(),
        ),
        (
            "wrong-signature.ll",
            b"define i64 @f(i64 %x) {\nentry:\n  ret i64 %x\n}\n".to_vec(),
        ),
    ];
    for (name, bytes) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = run(&[&path]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.is_empty(),
            "{name}: {stderr}"
        );
    }
    let out = run(&[Path::new("/nonexistent/module.ll")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/module.ll"));
}

/// Options that do not fit are usage errors: exit 2, saying what is wrong, never a panic.
#[test]
fn bad_options_are_usage_errors() {
    for (args, said) in [
        (&["--cache"][..], "--cache DIR takes a value"),
        (&["--bogus"], "unknown option `--bogus`"),
        (&["--bench-calls", "x"], "not `x`"),
        (&["--bench-calls", "-3"], "not `-3`"),
        (&["--bench-calls"], "--bench-calls N takes a value"),
        (&["a.ll", "b.ll"], "one module only"),
        (&["--cache-stats"], "give --cache DIR"),
        (&["--bench-calls", "5", "a.ll"], "give no MODULE"),
    ] {
        let out = Command::new(BINARY).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(said) && stderr.contains("usage:"),
            "{args:?}: {stderr}"
        );
        assert!(
            !stderr.contains("panicked") && out.stdout.is_empty(),
            "{args:?}"
        );
    }
}

/// The switches of the debugger and profilers change nothing in what the demo prints.
#[test]
fn the_debugger_and_profiler_switches_run_the_same_demo() {
    // Runs the demo and removes the perf map and jitdump its process left in /tmp.
    let run = |args: &[&str]| {
        let child = Command::new(BINARY)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let out = child.wait_with_output().unwrap();
        for file in [format!("perf-{pid}.map"), format!("jit-{pid}.dump")] {
            let _ = std::fs::remove_file(Path::new("/tmp").join(file));
        }
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    for flags in [
        &["--debugger"][..],
        &["--perf"],
        &["--jitdump"],
        &["--debugger", "--perf", "--jitdump"],
    ] {
        assert_eq!(run(flags), "f() = 42\n", "{flags:?}");
    }
    let stdout = run(&["--perf", "--bench-calls", "1000"]);
    assert!(
        stdout.starts_with("ns-per-call ") && stdout.trim_end().ends_with("result 999000"),
        "{stdout}"
    );
}
