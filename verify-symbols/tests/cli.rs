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
