//! Answers that lead back to the manifest (the binary's note, format 2, written here in assembly
//! as jit-linkage writes it): a symbol of a manifest library the build does not link, a symbol
//! linked in but not listed in `symbols`, a misspelt name exported in the load graph; and one
//! grouped interposition warning naming the chain of libraries, not one line per symbol.

use std::path::{Path, PathBuf};
use std::process::Command;

use verify_symbols::{Status, verify, verify_recorded};

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

/// Assembly for a `.note.jit-linkage` section holding `records` (format 2).
fn note_assembly(records: &[&str]) -> String {
    let mut desc = String::from("jit-linkage-symbols 2\nmanifest\tc-libs/libraries.toml\n");
    for record in records {
        desc.push_str(record);
        desc.push('\n');
    }
    let escaped = desc.replace('\n', "\\n").replace('\t', "\\t");
    format!(
        ".section .note.jit-linkage,\"a\",@note\n.balign 4\n.long 12\n.long {}\n.long 0x4a495401\n\
         .asciz \"jit-linkage\"\n.balign 4\n.ascii \"{escaped}\"\n.balign 4\n\
         .section .note.GNU-stack,\"\",@progbits\n",
        desc.len()
    )
}

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("verify-symbols-advice-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A program with `source` and a note of `records`, linked with `extra`.
fn program(test: &str, source: &str, records: &[&str], extra: &[&str]) -> PathBuf {
    let dir = scratch(test);
    std::fs::write(dir.join("main.c"), source).unwrap();
    std::fs::write(dir.join("note.s"), note_assembly(records)).unwrap();
    let mut args = vec!["main.c", "note.s", "-o", "program"];
    args.extend(extra);
    cc(&dir, &args);
    dir.join("program")
}

fn hint(report: &verify_symbols::BinaryReport, name: &str) -> String {
    let symbol = report.symbols.iter().find(|s| s.name == name).unwrap();
    symbol.hint.clone().unwrap_or_default()
}

#[test]
fn missing_symbols_are_traced_to_the_manifest() {
    let binary = program(
        "causes",
        "int yaml_get_version(void) { return 1; }\n\
         int yaml_get_version_string(void) { return 2; }\n\
         int main(void) { return yaml_get_version() + yaml_get_version_string() - 3; }\n",
        &[
            "symbol\tyaml_get_version\tyaml\tarchive\tlibyaml.a",
            "unlinked\tpng\tpng_access_version_number png_get_io_ptr",
        ],
        &["-Wl,--no-as-needed", "-lz"],
    );
    let names = ["png_get_io_ptr", "yaml_get_version_string", "zlibVersio"];
    let report = verify(&binary, &names).unwrap();
    let unlinked = hint(&report, "png_get_io_ptr");
    assert!(
        unlinked
            .contains("`png_get_io_ptr` is in `symbols` of library `png` in c-libs/libraries.toml")
            && unlinked.contains("does not link `png`"),
        "{unlinked}"
    );
    assert_eq!(report.symbols[1].status, Status::NotExported);
    let unlisted = hint(&report, "yaml_get_version_string");
    assert!(
        unlisted.contains("the binary defines `yaml_get_version_string` but does not export it")
            && unlisted.contains("library `yaml` is linked statically"),
        "{unlisted}"
    );
    let misspelt = hint(&report, "zlibVersio");
    assert!(
        misspelt.contains("did you mean `zlibVersion`?"),
        "{misspelt}"
    );
    // Found names get no advice.
    let report = verify(&binary, &["zlibVersion"]).unwrap();
    assert!(report.symbols[0].hint.is_none(), "{report:#?}");
    // With more names missing than a few, the misspelling is not looked for (a library is
    // what is likely missing): the same name among nine names not found gets no close name.
    let mut many = vec!["zlibVersio"];
    many.extend([
        "absent_1", "absent_2", "absent_3", "absent_4", "absent_5", "absent_6", "absent_7",
        "absent_8",
    ]);
    let report = verify(&binary, &many).unwrap();
    let far = hint(&report, "zlibVersio");
    assert!(!far.contains("did you mean"), "{far}");
    assert!(far.contains("not defined in the binary"), "{far}");
    // With eight (the limit), it is.
    let report = verify(&binary, &many[..8]).unwrap();
    let close = hint(&report, "zlibVersio");
    assert!(close.contains("did you mean `zlibVersion`?"), "{close}");
}

#[test]
fn names_a_dependency_also_defines_are_one_warning_naming_the_chain() {
    // program -> libmid.so -> libdup.so; the program exports dup_a, dup_b, dup_c (from its
    // statically linked library `dup`), which libdup.so defines too.
    let dir = scratch("interposition");
    std::fs::write(
        dir.join("dup.c"),
        "int dup_a(void) { return 1; }\nint dup_b(void) { return 2; }\n\
         int dup_c(void) { return 3; }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("mid.c"),
        "int dup_a(void);\nint mid(void) { return dup_a(); }\n",
    )
    .unwrap();
    cc(
        &dir,
        &[
            "-shared",
            "-fPIC",
            "-o",
            "libdup.so",
            "dup.c",
            "-Wl,-soname,libdup.so",
        ],
    );
    cc(
        &dir,
        &[
            "-shared",
            "-fPIC",
            "-o",
            "libmid.so",
            "mid.c",
            "-L.",
            "-ldup",
            "-Wl,-soname,libmid.so",
            "-Wl,--enable-new-dtags",
            "-Wl,-rpath,$ORIGIN",
        ],
    );
    std::fs::write(
        dir.join("main.c"),
        "int mid(void);\nint dup_a(void) { return 10; }\nint dup_b(void) { return 20; }\n\
         int dup_c(void) { return 30; }\nint main(void) { return mid() - 10; }\n",
    )
    .unwrap();
    let records: Vec<String> = ["dup_a", "dup_b", "dup_c"]
        .iter()
        .map(|n| format!("symbol\t{n}\tdup\tarchive\tlibdup.a"))
        .collect();
    let records: Vec<&str> = records.iter().map(String::as_str).collect();
    std::fs::write(dir.join("note.s"), note_assembly(&records)).unwrap();
    cc(
        &dir,
        &[
            "main.c",
            "note.s",
            "-o",
            "program",
            "-rdynamic",
            "-L.",
            "-lmid",
            "-Wl,--enable-new-dtags",
            "-Wl,-rpath,$ORIGIN",
        ],
    );
    let report = verify_recorded(&dir.join("program")).unwrap();
    assert!(report.all_found(), "{report:#?}");
    let interposing: Vec<&String> = report
        .warnings
        .iter()
        .filter(|w| w.contains("also defined by"))
        .collect();
    assert_eq!(interposing.len(), 1, "{:#?}", report.warnings);
    let warning = interposing[0];
    assert!(
        warning.contains("3 names")
            && warning.contains("`dup_a`, `dup_b`, `dup_c`")
            && warning.contains("library `dup`")
            && warning.contains("libmid.so → libdup.so"),
        "{warning}"
    );
}
