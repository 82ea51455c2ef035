//! The provider a binary's build meant for each symbol (its jit-linkage note) against the one
//! the loader finds. The binaries are linked with the system `cc`; the notes are written in
//! assembly, from the format jit-linkage documents, so the reader is checked against a second,
//! independent writer.

use std::path::{Path, PathBuf};
use std::process::Command;

use verify_symbols::{Status, verify_recorded};

fn cc(dir: &Path, args: &[&str]) {
    let out = Command::new("cc")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("cc runs");
    assert!(
        out.status.success(),
        "cc {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Assembly for a `.note.jit-linkage` section holding `lines` (`symbol\tlibrary\tlinkage\tfile`).
fn note_assembly(lines: &[&str]) -> String {
    let mut desc = String::from("jit-linkage-symbols 1\n");
    for line in lines {
        desc.push_str(line);
        desc.push('\n');
    }
    let escaped = desc
        .replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\t', "\\t");
    format!(
        ".section .note.jit-linkage,\"a\",@note\n.balign 4\n.long 12\n.long {}\n.long 0x4a495401\n\
         .asciz \"jit-linkage\"\n.balign 4\n.ascii \"{escaped}\"\n.balign 4\n\
         .section .note.GNU-stack,\"\",@progbits\n",
        desc.len()
    )
}

/// The system's zlib, as the compiler finds it.
fn system_libz() -> PathBuf {
    let out = Command::new("cc")
        .arg("-print-file-name=libz.so.1")
        .output()
        .unwrap();
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    path.canonicalize().unwrap()
}

/// The GNU build ID of `path`, as readelf prints it.
fn build_id_of(path: &Path) -> String {
    let out = Command::new("readelf")
        .arg("-n")
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.trim().strip_prefix("Build ID: ").map(str::to_owned))
        .expect("the system's zlib has a build ID")
}

/// A program linked against the system's zlib (kept in DT_NEEDED), carrying `note`.
fn program(test: &str, note: &[&str]) -> PathBuf {
    program_with(test, note, &[])
}

/// [`program`] with more link arguments.
fn program_with(test: &str, note: &[&str], extra: &[&str]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("verify-symbols-providers-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("main.c"), "int main(void) { return 0; }\n").unwrap();
    std::fs::write(dir.join("note.s"), note_assembly(note)).unwrap();
    let mut args = vec![
        "main.c",
        "note.s",
        "-Wl,--no-as-needed",
        "-lz",
        "-o",
        "program",
    ];
    args.extend(extra);
    cc(&dir, &args);
    dir.join("program")
}

/// The first symbol of `report` is a wrong provider, with a hint that says `part`.
fn assert_wrong_provider_saying(report: &verify_symbols::BinaryReport, part: &str) {
    let symbol = &report.symbols[0];
    assert_eq!(symbol.status, Status::WrongProvider, "{report:#?}");
    assert!(
        symbol.hint.as_deref().unwrap_or("").contains(part),
        "{report:#?}"
    );
}

#[test]
fn a_symbol_found_in_another_library_than_the_note_names_is_a_wrong_provider() {
    // The build meant crc32 to come from libz.a linked into the binary (whole, exported); the
    // binary has none, and the JIT would call the system's libz.so.1.
    let binary = program("static", &["crc32\tzlib\tstatic\tlibz.a"]);
    let report = verify_recorded(&binary).unwrap();
    let crc = &report.symbols[0];
    assert_eq!(crc.status, Status::WrongProvider, "{report:#?}");
    assert_eq!(
        crc.expected.as_deref(),
        Some("libz.a linked into the binary")
    );
    let hint = crc.hint.as_deref().unwrap();
    assert!(
        hint.contains("libz.so.1") && hint.contains("+whole-archive"),
        "{hint}"
    );
    assert_eq!(
        verify_symbols::Report {
            binaries: vec![report]
        }
        .exit_code(),
        1
    );

    // Meant to come from a library of the user's, found in the system's zlib instead.
    let binary = program("dynamic", &["crc32\tmyzlib\tdynamic\tlibmyz.so"]);
    let report = verify_recorded(&binary).unwrap();
    assert_wrong_provider_saying(&report, "libmyz.so");

    // Meant to be the copy shipped next to the binary; there is none, the system's is found.
    let binary = program("bundled", &["crc32\tzlib\tdynamic\t$ORIGIN/libz.so.1"]);
    let report = verify_recorded(&binary).unwrap();
    assert_wrong_provider_saying(&report, "jit-dist");

    // A copy of that name next to the binary, but another build than the one the note names
    // (another package's library of the same name in a shared target directory).
    let rpath = program_with(
        "another-build",
        &["crc32\tzlib\tdynamic\t$ORIGIN/libz.so.1#00112233"],
        &["-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN"],
    );
    let here = rpath.parent().unwrap().join("libz.so.1");
    std::fs::copy(system_libz(), &here).unwrap();
    let report = verify_recorded(&rpath).unwrap();
    assert_wrong_provider_saying(&report, "another build");
    // The same copy, recorded with its own build ID: the right provider.
    let id = build_id_of(&here);
    let right = program_with(
        "same-build",
        &[&format!("crc32\tzlib\tdynamic\t$ORIGIN/libz.so.1#{id}")],
        &["-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN"],
    );
    std::fs::copy(system_libz(), right.parent().unwrap().join("libz.so.1")).unwrap();
    let report = verify_recorded(&right).unwrap();
    assert_eq!(
        report.symbols[0].status,
        Status::ProvidedByDependency,
        "{report:#?}"
    );

    // The provider the note names: found.
    let binary = program("right", &["crc32\tzlib\tdynamic\tlibz.so.1"]);
    let report = verify_recorded(&binary).unwrap();
    assert_eq!(report.symbols[0].status, Status::ProvidedByDependency);
    assert!(report.all_found());
}

#[test]
fn a_malformed_note_is_an_error_not_a_pass() {
    let binary = program("malformed", &["crc32\tzlib"]);
    let err = verify_recorded(&binary).unwrap_err().to_string();
    assert!(err.contains("malformed"), "{err}");
}
