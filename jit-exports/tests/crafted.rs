//! The reader against glibc's loader on libraries made for it with the system `cc`: symbol
//! versions (`foo@V1` hidden, `foo@@V2` the default), weak, common, hidden, protected and local
//! definitions, an absolute zero, a version's own name, each hash table style, and no hash
//! table at all. For every name, `dlsym` on the library (through a probe run by the real
//! loader) and [`Seen::export`] must agree, and the version found must be the one `dlvsym`
//! gives the same address for.

use std::path::{Path, PathBuf};
use std::process::Command;

use jit_exports::elf::{self, Export, NullAddress, Tables};

const SOURCE: &str = r#"
int foo_v1(void) { return 1; }
int foo_v2(void) { return 2; }
__asm__(".symver foo_v1, foo@V1");
__asm__(".symver foo_v2, foo@@V2");
int old_v1(void) { return 3; }
__asm__(".symver old_v1, old@V1");
int plain(void) { return 4; }
__attribute__((weak)) int weak_fn(void) { return 5; }
int common_var;
__attribute__((visibility("hidden"))) int hidden_fn(void) { return 6; }
__attribute__((visibility("protected"))) int protected_fn(void) { return 7; }
static int static_fn(void) { return 8; }
int use_static(void) { return static_fn() + hidden_fn(); }
__asm__(".globl zero_abs\n.set zero_abs, 0");
"#;

const VERSION_SCRIPT: &str = "V1 { };\nV2 { global: *; local: foo_v1; foo_v2; old_v1; } V1;\n";

/// `name`, what the reader must say of it, and the version `dlsym`'s answer has.
const EXPECTED: &[(&str, Export, Option<&str>)] = &[
    ("foo", Export::Exported, Some("V2")),
    ("old", Export::HiddenVersion, None),
    ("plain", Export::Exported, Some("V2")),
    ("weak_fn", Export::Exported, Some("V2")),
    ("common_var", Export::Exported, Some("V2")),
    ("protected_fn", Export::Exported, Some("V2")),
    ("hidden_fn", Export::Hidden, None),
    ("static_fn", Export::Hidden, None),
    ("zero_abs", Export::Null(NullAddress::Absolute), None),
    ("V2", Export::Null(NullAddress::VersionName), None),
    ("no_such_name", Export::Absent, None),
];

/// dlopen's the library, then for each NAME prints `NAME found|null|missing`, and for each
/// NAME@VERSION whether `dlvsym` gives what `dlsym` gives (`same`) or not.
const PROBE: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) { fprintf(stderr, "%s\n", dlerror()); return 2; }
    for (int i = 2; i < argc; i++) {
        char name[256];
        snprintf(name, sizeof name, "%s", argv[i]);
        char *at = strchr(name, '@');
        dlerror();
        if (at) {
            *at = 0;
            void *any = dlsym(h, name);
            void *versioned = dlvsym(h, name, at + 1);
            printf("%s %s\n", argv[i], any && any == versioned ? "same" : "differs");
            continue;
        }
        void *p = dlsym(h, name);
        printf("%s %s\n", name, dlerror() ? "missing" : p ? "found" : "null");
    }
    return 0;
}
"#;

fn dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("jit-exports-crafted-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

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

/// The library, linked with `--hash-style=STYLE`, and the probe.
fn build(dir: &Path, style: &str) -> (PathBuf, PathBuf) {
    std::fs::write(dir.join("crafted.c"), SOURCE).unwrap();
    std::fs::write(dir.join("crafted.map"), VERSION_SCRIPT).unwrap();
    std::fs::write(dir.join("probe.c"), PROBE).unwrap();
    let library = dir.join(format!("libcrafted-{style}.so"));
    cc(
        dir,
        &[
            "-shared",
            "-fPIC",
            "-fcommon",
            "-o",
            library.to_str().unwrap(),
            "crafted.c",
            "-Wl,--version-script=crafted.map",
            &format!("-Wl,--hash-style={style}"),
        ],
    );
    cc(dir, &["probe.c", "-o", "probe"]);
    (library, dir.join("probe"))
}

/// What the real loader's dlsym says of each name of [`EXPECTED`], and whether each expected
/// version is the one dlsym returns.
fn loader_says(probe: &Path, library: &Path) -> Vec<String> {
    let mut command = Command::new(probe);
    command.arg(library);
    for (name, _, version) in EXPECTED {
        command.arg(name);
        if let Some(version) = version {
            command.arg(format!("{name}@{version}"));
        }
    }
    let out = command.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn check(library: &Path, probe: &Path) {
    let said = loader_says(probe, library);
    let data = std::fs::read(library).unwrap();
    let names: Vec<&str> = EXPECTED.iter().map(|(n, ..)| *n).collect();
    let (info, seen) = elf::read(&data[..], &names, Tables::WithSymtab).unwrap();
    assert!(!info.hashless, "{}", library.display());
    for ((name, expected, version), seen) in EXPECTED.iter().zip(&seen) {
        assert_eq!(seen.export(), *expected, "{name} in {}", library.display());
        let dlsym = said
            .iter()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap();
        let wanted = match expected {
            Export::Exported => "found",
            Export::Null(_) => "null",
            _ => "missing",
        };
        assert_eq!(dlsym, wanted, "dlsym({name}) in {}", library.display());
        if let Some(version) = version {
            assert_eq!(seen.version.as_deref(), Some(*version), "{name}");
            assert!(
                said.contains(&format!("{name}@{version} same")),
                "dlvsym({name}, {version}): {said:?}"
            );
        }
    }
    // The build's enumeration agrees with the lookups.
    let defined = elf::definitions(&data[..]).unwrap();
    for (name, expected, _) in EXPECTED {
        assert_eq!(
            defined.exports(name),
            matches!(expected, Export::Exported | Export::Null(_)),
            "{name}"
        );
    }
    assert!(defined.hidden.contains("old") && !defined.hidden.contains("foo"));
}

#[test]
fn each_hash_style_answers_as_dlsym_does() {
    for style in ["gnu", "sysv", "both"] {
        let dir = dir(style);
        let (library, probe) = build(&dir, style);
        check(&library, &probe);
    }
}

#[test]
fn a_library_without_a_hash_table_exports_nothing_the_loader_finds() {
    let dir = dir("no-hash");
    let (library, probe) = build(&dir, "gnu");
    let mut data = std::fs::read(&library).unwrap();
    // Its DT_GNU_HASH becomes DT_DEBUG, which the loader ignores in a library.
    let patched = retag(&mut data, &[0x6fff_fef5, 4], 21);
    assert!(patched > 0);
    std::fs::write(&library, &data).unwrap();
    let said = loader_says(&probe, &library);
    assert!(said.contains(&"plain missing".to_owned()), "{said:?}");
    let (info, seen) = elf::read(&data[..], &["plain", "foo"], Tables::WithSymtab).unwrap();
    assert!(info.hashless);
    assert_eq!(seen[0].export(), Export::NotExported);
    assert!(elf::definitions(&data[..]).unwrap().strong.is_empty());
    let (_, seen) = elf::read(&data[..], &["plain"], Tables::Dynamic).unwrap();
    assert_eq!(seen[0].export(), Export::Absent);
}

/// Rewrites the tag of each dynamic entry whose tag is one of `from` to `to` (64-bit
/// little-endian files): how many were.
fn retag(data: &mut [u8], from: &[u64], to: u64) -> usize {
    let word = |data: &[u8], at: usize, size: usize| {
        let mut bytes = [0u8; 8];
        bytes[..size].copy_from_slice(&data[at..at + size]);
        u64::from_le_bytes(bytes) as usize
    };
    let (phoff, phentsize, phnum) = (
        word(data, 0x20, 8),
        word(data, 0x36, 2),
        word(data, 0x38, 2),
    );
    let dynamic = (0..phnum)
        .map(|i| phoff + i * phentsize)
        .find(|&ph| word(data, ph, 4) == 2)
        .expect("a PT_DYNAMIC segment");
    let (offset, size) = (word(data, dynamic + 8, 8), word(data, dynamic + 32, 8));
    let mut patched = 0;
    for entry in (offset..offset + size).step_by(16) {
        if from.contains(&(word(data, entry, 8) as u64)) {
            data[entry..entry + 8].copy_from_slice(&to.to_le_bytes());
            patched += 1;
        }
    }
    patched
}

#[test]
fn the_systems_libc_exports_malloc_under_its_version_and_has_its_soname() {
    let data = std::fs::read("/lib/x86_64-linux-gnu/libc.so.6").expect("a glibc system");
    let names = ["malloc", "__ctype32_tolower", "GLIBC_2.2.5", "mallok"];
    let (info, seen) = elf::read(&data[..], &names, Tables::WithSymtab).unwrap();
    assert_eq!(info.soname, Some("libc.so.6"));
    assert_eq!(seen[0].export(), Export::Exported);
    assert_eq!(seen[0].version.as_deref(), Some("GLIBC_2.2.5"));
    // A compatibility symbol: only `__ctype32_tolower@GLIBC_2.2.5`, never returned by dlsym.
    assert_eq!(seen[1].export(), Export::HiddenVersion);
    assert_eq!(seen[2].export(), Export::Null(NullAddress::VersionName));
    assert_eq!(seen[3].export(), Export::Absent);
    let id = elf::build_id(&data[..])
        .unwrap()
        .expect("Debian's libc has a build ID");
    assert_eq!(id.len(), 20);
}
