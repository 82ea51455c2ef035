//! Files that are not ELF, or are broken ELF: always an error naming the file, never a panic.
//!
//! The files broken are small ones made for it (a few kilobytes, not the test program itself,
//! which is tens of megabytes): a program and the shared library it needs, with everything
//! the readers walk: symbol versions and their definitions, both hash tables, a RUNPATH, a
//! jit-linkage note, `.symtab` and debug information after the loaded segments.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use verify_symbols::{Error, verify, verify_data};

fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join("verify-symbols-bad-input");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

const LIBRARY: &str = r#"
int lib_v1(void) { return 1; }
int lib_v2(void) { return 2; }
__asm__(".symver lib_v1, lib_fn@V1");
__asm__(".symver lib_v2, lib_fn@@V2");
int lib_data = 3;
__attribute__((weak)) int lib_weak(void) { return 4; }
"#;

const PROGRAM: &str = r#"
extern int lib_fn(void);
__attribute__((visibility("hidden"))) int hidden_fn(void) { return 5; }
int main(void) { return lib_fn() + hidden_fn() - 7; }
__asm__(".section .note.jit-linkage,\"a\",@note\n.balign 4\n.long 12\n.long 2f-1f\n"
        ".long 0x4a495401\n.asciz \"jit-linkage\"\n.balign 4\n"
        "1: .ascii \"jit-linkage-symbols 2\\nmanifest\\tc-libs/libraries.toml\\n"
        "symbol\\tlib_fn\\tlib\\tplaced\\tlibfuzz.so\\t\\n\"\n2: .balign 4\n"
        ".section .text\n");
"#;

/// The fixture: (the program, the library), each a few kilobytes, built once per test run.
fn fixture() -> &'static (Vec<u8>, Vec<u8>) {
    static FIXTURE: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = std::env::temp_dir().join("verify-symbols-bad-input-fixture");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("lib.c"), LIBRARY).unwrap();
        std::fs::write(
            dir.join("lib.map"),
            "V1 { };\nV2 { global: *; local: lib_v1; lib_v2; } V1;\n",
        )
        .unwrap();
        std::fs::write(dir.join("main.c"), PROGRAM).unwrap();
        let cc = |args: &[&str]| {
            let out = Command::new("cc")
                .current_dir(&dir)
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "cc {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        cc(&[
            "-shared",
            "-fPIC",
            "-g",
            "-o",
            "libfuzz.so",
            "lib.c",
            "-Wl,--version-script=lib.map",
            "-Wl,--hash-style=both",
            "-Wl,-soname,libfuzz.so",
        ]);
        cc(&[
            "-g",
            "-o",
            "program",
            "main.c",
            "-L.",
            "-lfuzz",
            "-Wl,--hash-style=both",
            "-Wl,--enable-new-dtags",
            "-Wl,-rpath,$ORIGIN",
        ]);
        let program = std::fs::read(dir.join("program")).unwrap();
        let library = std::fs::read(dir.join("libfuzz.so")).unwrap();
        assert!(program.len() < 64 << 10 && library.len() < 64 << 10);
        (program, library)
    })
}

/// Where the program's loadable segments end in its file (readelf's answer).
fn end_of_segments() -> usize {
    fixture();
    let program = std::env::temp_dir().join("verify-symbols-bad-input-fixture/program");
    let out = Command::new("readelf")
        .arg("-lW")
        .arg(&program)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.trim_start().starts_with("LOAD"))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
            hex(f[1]) + hex(f[4])
        })
        .max()
        .unwrap() as usize
}

/// The program: a real, small ELF file to break.
fn real_elf() -> Vec<u8> {
    fixture().0.clone()
}

/// xorshift64*: reproducible pseudo-random numbers without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn empty_truncated_and_random_files_are_named_errors() {
    let elf = real_elf();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let random: Vec<u8> = (0..4096).map(|_| rng.next() as u8).collect();
    let end = end_of_segments();
    let cases = [
        ("empty", Vec::new()),
        ("header-only", elf[..40].to_vec()),
        // Cut inside the loadable segments: the loader would map past the end of the file.
        ("truncated", elf[..end / 2].to_vec()),
        ("random", random),
        ("text", b"#!/bin/sh\necho hello\n".to_vec()),
    ];
    for (name, bytes) in cases {
        let path = scratch(name, &bytes);
        let err = verify(&path, &["main"]).expect_err(name);
        assert!(matches!(err, Error::Parse { .. }), "{name}: {err:?}");
        assert!(
            err.to_string().starts_with(&path.display().to_string()),
            "{err}"
        );
    }
    // Cut after the loadable segments, in the debug information: the loader never reads that
    // part, so the binary still runs, and verify-symbols reads it as the loader does.
    assert!(end < elf.len(), "the program has data after its segments");
    let path = scratch("debug-info-cut", &elf[..end]);
    let report = verify(&path, &["main"]).unwrap();
    assert!(
        !report.statically_linked && !report.needed.is_empty(),
        "{report:?}"
    );

    let err = verify(Path::new("/nonexistent/binary"), &["main"]).unwrap_err();
    assert!(matches!(err, Error::Io { .. }));
    assert!(err.to_string().contains("/nonexistent/binary"));
}

#[test]
fn mutated_elf_files_never_panic() {
    let (program, library) = fixture();
    let symbols = [
        "main",
        "lib_fn",
        "hidden_fn",
        "lib_data",
        "lib_weak",
        "V2",
        "no_such_symbol",
    ];
    let mut rng = Rng(42);
    let mut outcomes = [0usize; 2];
    // The program and its library: each is read as the binary checked, and as a dependency's
    // tables are (the note, the definitions).
    for round in 0..1200 {
        let mut data = if round % 2 == 0 {
            program.clone()
        } else {
            library.clone()
        };
        match round / 2 % 3 {
            // Flip bytes in the headers, where the tables are described.
            0 => {
                for _ in 0..1 + rng.below(8) {
                    let i = rng.below(4096.min(data.len()));
                    data[i] ^= 1 << rng.below(8);
                }
            }
            // Flip bytes anywhere.
            1 => {
                for _ in 0..1 + rng.below(64) {
                    let i = rng.below(data.len());
                    data[i] = rng.next() as u8;
                }
            }
            // Cut the file short.
            _ => data.truncate(rng.below(data.len())),
        }
        let result = verify_data(Path::new("mutated"), &data, &symbols);
        outcomes[usize::from(result.is_ok())] += 1;
        let _ = jit_exports::note::read(&data[..]);
        let _ = jit_exports::elf::definitions(&data[..]);
        let _ = jit_exports::elf::build_id(&data[..]);
    }
    // Both outcomes occur: the mutations reach the parser's error paths and its success paths.
    assert!(outcomes[0] > 0 && outcomes[1] > 0, "{outcomes:?}");
}
