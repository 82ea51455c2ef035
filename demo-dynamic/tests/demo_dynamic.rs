//! demo-dynamic, the real binary built by cargo with its generated link arguments.

use std::process::Command;

use object::elf;
use object::read::elf::{Dyn, ElfFile64, FileHeader};

const BINARY: &str = env!("CARGO_BIN_EXE_demo-dynamic");

/// (DT_NEEDED entries, DT_RUNPATH entries) of the binary.
fn dynamic_entries() -> (Vec<String>, Vec<String>) {
    let data = std::fs::read(BINARY).unwrap();
    let file = ElfFile64::<object::Endianness>::parse(&*data).unwrap();
    let endian = file.endian();
    let header = file.elf_header();
    let sections = header.sections(endian, &*data).unwrap();
    let (dynamic, index) = sections.dynamic(endian, &*data).unwrap().expect(".dynamic");
    let strings = sections.strings(endian, &*data, index).unwrap();
    let (mut needed, mut runpath) = (Vec::new(), Vec::new());
    for entry in dynamic {
        let text = || String::from_utf8(entry.string(endian, strings).unwrap().to_vec()).unwrap();
        match entry.tag32(endian) {
            Some(elf::DT_NEEDED) => needed.push(text()),
            Some(elf::DT_RUNPATH) => runpath.extend(text().split(':').map(str::to_owned)),
            Some(elf::DT_RPATH) => panic!("DT_RPATH instead of DT_RUNPATH"),
            _ => {}
        }
    }
    (needed, runpath)
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
