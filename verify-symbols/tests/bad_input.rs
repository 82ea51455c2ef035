//! Files that are not ELF, or are broken ELF: always an error naming the file, never a panic.

use std::path::{Path, PathBuf};

use verify_symbols::{Error, verify, verify_data};

fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join("verify-symbols-bad-input");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A real ELF file to break: the test executable itself.
fn real_elf() -> Vec<u8> {
    std::fs::read(std::env::current_exe().unwrap()).unwrap()
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
    let cases = [
        ("empty", Vec::new()),
        ("header-only", elf[..40].to_vec()),
        // Cut inside the loadable segments (a Rust test binary's first one alone is larger):
        // the loader would map past the end of the file.
        ("truncated", elf[..200_000].to_vec()),
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
    let end_of_segments = std::process::Command::new("readelf")
        .args(["-lW", std::env::current_exe().unwrap().to_str().unwrap()])
        .output()
        .unwrap();
    let end = String::from_utf8_lossy(&end_of_segments.stdout)
        .lines()
        .filter(|l| l.trim_start().starts_with("LOAD"))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
            hex(f[1]) + hex(f[4])
        })
        .max()
        .unwrap() as usize;
    assert!(
        end < elf.len(),
        "the test binary has data after its segments"
    );
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
    let elf = real_elf();
    let symbols = ["main", "printf", "rust_begin_unwind", "no_such_symbol"];
    let mut rng = Rng(42);
    let mut outcomes = [0usize; 2];
    for round in 0..600 {
        let mut data = elf.clone();
        match round % 3 {
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
    }
    // Both outcomes occur: the mutations reach the parser's error paths and its success paths.
    assert!(outcomes[0] > 0 && outcomes[1] > 0, "{outcomes:?}");
}
