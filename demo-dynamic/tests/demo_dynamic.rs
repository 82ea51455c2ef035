//! demo-dynamic, the real binary built by cargo with its generated link arguments.

use std::path::Path;
use std::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_demo-dynamic");

/// (DT_NEEDED entries, DT_RUNPATH entries) of the binary, read by verify-symbols.
fn dynamic_entries() -> (Vec<String>, Vec<String>) {
    let report = verify_symbols::verify(Path::new(BINARY), &[] as &[&str]).unwrap();
    assert!(report.rpath.is_empty(), "DT_RPATH instead of DT_RUNPATH");
    let needed = report.needed.into_iter().map(|n| n.name).collect();
    (needed, report.runpath)
}

#[test]
fn keeps_the_shared_library_needed_with_an_origin_runpath() {
    let (needed, runpath) = dynamic_entries();
    assert!(
        needed.iter().any(|n| n == "libexternaldynamic.so"),
        "{needed:?}"
    );
    assert!(!runpath.is_empty());
    for entry in &runpath {
        assert!(
            entry.starts_with("$ORIGIN"),
            "RUNPATH entry {entry} is not $ORIGIN-based"
        );
    }
}

#[test]
fn runs_with_an_empty_environment() {
    let out = Command::new(BINARY).env_clear().output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "f() = 42\n");
}

#[test]
fn an_unknown_function_is_named_with_the_dynamic_hint() {
    let dir = std::env::temp_dir().join("demo-dynamic-unknown");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("module.ll");
    std::fs::write(
        &path,
        "declare i32 @missing_from_the_so(i32)\n\ndefine i32 @f() {\nentry:\n  %r = call i32 @missing_from_the_so(i32 21)\n  ret i32 %r\n}\n",
    )
    .unwrap();
    let out = Command::new(BINARY).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("missing_from_the_so") && stderr.contains("DT_NEEDED"),
        "{stderr}"
    );
}
