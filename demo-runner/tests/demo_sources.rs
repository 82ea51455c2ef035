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
