//! The standalone `verify-symbols` command, run as a user runs it.

use std::process::{Command, Output};

fn verify(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verify-symbols"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// The C library this process runs with, found the way the loader finds it.
fn libc() -> String {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| p.contains("/libc.so"))
        .expect("this test runs against glibc")
        .to_owned()
}

#[test]
fn symbols_come_from_flags_a_file_or_the_note_and_none_is_a_usage_error() {
    let libc = libc();
    let out = verify(&["--binary", &libc, "--symbol", "malloc"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("malloc"));

    let file = std::env::temp_dir().join("verify-symbols-cli-symbols.txt");
    std::fs::write(
        &file,
        "# needed\nmalloc\nno_such_symbol_anywhere  # this one is not\n",
    )
    .unwrap();
    let out = verify(&["--binary", &libc, "--symbols-file", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("no_such_symbol_anywhere") && text.contains("missing"),
        "{text}"
    );

    // libc carries no jit-linkage note: with no symbols named there is nothing to check.
    let out = verify(&["--binary", &libc]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no jit-linkage note") && err.contains("--symbol NAME"),
        "{err}"
    );

    let out = verify(&["--binary", "/nonexistent/binary", "--symbol", "x"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = verify(&["--symbol", "x"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a --binary is required: {out:?}"
    );
}

#[test]
fn a_report_that_cannot_be_written_is_an_error_and_a_closed_pipe_is_not() {
    let libc = libc();
    for json in [false, true] {
        let mut args = vec!["--binary", libc.as_str(), "--symbol", "malloc"];
        if json {
            args.push("--json");
        }
        // A full disk: the report would be cut short, so it is exit 2 and said.
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_verify-symbols"))
            .args(&args)
            .stdout(full)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "json {json}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("cannot write the report"),
            "json {json}: {out:?}"
        );
        // A reader that left at once: the answer (exit 0) stands, and nothing panics.
        let mut child = Command::new(env!("CARGO_BIN_EXE_verify-symbols"))
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "json {json}: {out:?}");
        assert!(out.stderr.is_empty(), "json {json}: {out:?}");
    }
}
