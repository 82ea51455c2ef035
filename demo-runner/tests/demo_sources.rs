//! demo-sources: the C library reached with no host linkage, through each orc-jit source.

use std::process::{Command, Output};

use c_artifacts::EXTERNAL;

fn demo(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_demo-sources"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn each_source_prints_f_equals_42() {
    for args in [
        vec!["archive".as_ref(), EXTERNAL.static_lib().as_os_str()],
        vec!["library".as_ref(), EXTERNAL.shared_lib().as_os_str()],
        vec!["host-function".as_ref()],
    ] {
        let out = demo(&args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "f() = 42\n");
    }
}

#[test]
fn a_missing_archive_or_library_exits_1_naming_it() {
    for kind in ["archive", "library"] {
        let out = demo(&[kind.as_ref(), "/nonexistent/libx".as_ref()]);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/libx"));
    }
    let out = demo(&["nonsense".as_ref()]);
    assert_eq!(out.status.code(), Some(2));
}

/// demo-sources takes the demos' options after its source: a second run with `--cache DIR`
/// compiles nothing.
#[test]
fn takes_the_demo_options_after_the_source() {
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo-sources-cache");
    let _ = std::fs::remove_dir_all(&cache);
    let args = [
        "host-function".as_ref(),
        "--cache".as_ref(),
        cache.as_os_str(),
        "--cache-stats".as_ref(),
    ];
    let compiled = |out: &Output| {
        assert!(out.status.success(), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "f() = 42\n");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        stderr
            .split_whitespace()
            .skip_while(|w| *w != "compiled")
            .nth(1)
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no compiled counter: {stderr}"))
    };
    assert_eq!(compiled(&demo(&args)), 1);
    assert_eq!(compiled(&demo(&args)), 0, "the second run compiled");
    let out = demo(&["host-function".as_ref(), "--bogus".as_ref()]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
