//! `cargo xtask verify-symbols` as a user runs it: exit codes and JSON.

use std::process::{Command, Output};

const XTASK: &str = env!("CARGO_BIN_EXE_xtask");

fn verify(args: &[&str]) -> Output {
    Command::new(XTASK)
        .arg("verify-symbols")
        .args(args)
        .output()
        .unwrap()
}

fn libc() -> &'static str {
    [
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/lib/aarch64-linux-gnu/libc.so.6",
        "/lib64/libc.so.6",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
    .unwrap()
}

#[test]
fn exit_0_when_found_1_when_not_2_when_unreadable() {
    let ok = verify(&["--binary", libc(), "--symbol", "printf"]);
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    assert!(String::from_utf8_lossy(&ok.stdout).contains("printf"));

    let missing = verify(&[
        "--binary",
        libc(),
        "--symbol",
        "printf",
        "--symbol",
        "no_such_fn",
    ]);
    assert_eq!(missing.status.code(), Some(1), "{missing:?}");
    assert!(String::from_utf8_lossy(&missing.stdout).contains("missing"));

    let empty = std::env::temp_dir().join("xtask-verify-empty");
    std::fs::write(&empty, b"").unwrap();
    let unreadable = verify(&["--binary", empty.to_str().unwrap(), "--symbol", "x"]);
    assert_eq!(unreadable.status.code(), Some(2), "{unreadable:?}");
    let stderr = String::from_utf8_lossy(&unreadable.stderr);
    assert!(
        stderr.contains("xtask-verify-empty") && !stderr.contains("panicked"),
        "{stderr}"
    );
}

#[test]
fn json_has_the_documented_shape() {
    let out = verify(&[
        "--binary",
        libc(),
        "--symbol",
        "printf",
        "--symbol",
        "no_such_fn",
        "--json",
    ]);
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let binary = &value["binaries"][0];
    assert_eq!(binary["path"], libc());
    assert!(binary["needed"].is_array() && binary["runpath"].is_array());
    let symbols = binary["symbols"].as_array().unwrap();
    assert_eq!(symbols[0]["name"], "printf");
    assert_eq!(symbols[0]["status"], "exported");
    assert!(symbols[0]["provider"].is_null() && symbols[0]["hint"].is_null());
    assert_eq!(symbols[1]["status"], "missing");
    assert!(
        symbols[1]["hint"]
            .as_str()
            .unwrap()
            .contains("whole-archive")
    );
}
