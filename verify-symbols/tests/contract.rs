//! The build and the run time give the same answers: jit-linkage's proof (what a build script
//! checks of a library before linking it, `jit_linkage::prove`) and verify-symbols' verdict
//! (what it says of the same file) on a corpus of real libraries: a sample of the system's
//! (`/lib/x86_64-linux-gnu`), libLLVM, and libraries made with `cc` for the cases that matter
//! (symbol versions, a hidden version `foo@V1` beside the default `foo@@V2`, weak, common,
//! hidden, protected and local definitions, no hash table, `DT_HASH` only, `DT_GNU_HASH` only).
//! Both are also held to an outside answer: `nm -D --with-symbol-versions` for the system's
//! libraries (each exported name under its default version, a name with only a hidden version
//! not exported), and the crafted libraries' own sources.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use verify_symbols::Status;

/// One answer to "does this file export this name", in terms both sides can give.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    /// Exported (dlsym returns it).
    Exported,
    /// Found by dlsym, as the address 0 (an absolute zero, a version's name).
    Null,
    /// Defined but never visible: hidden visibility, local, or only a non-default version.
    Hidden,
    /// In the file, but not where the loader looks (no hash table).
    NoHashTable,
    /// Not defined.
    Absent,
}

/// The build's answer for each name. The proof stops at the first name a library does not
/// export, as a build does: each such name is taken out and the rest proven again.
fn build_says(library: &Path, names: &[&str]) -> Vec<Answer> {
    let mut answers = vec![Answer::Exported; names.len()];
    let mut pending: Vec<usize> = (0..names.len()).collect();
    loop {
        let asked: Vec<String> = pending.iter().map(|&i| names[i].to_owned()).collect();
        let (symbol, answer) = match jit_linkage::prove("corpus", &asked, library) {
            Ok(()) => return answers,
            Err(jit_linkage::Error::SymbolHidden { symbol, .. }) => (symbol, Answer::Hidden),
            Err(jit_linkage::Error::SymbolIsNull { symbol, .. }) => (symbol, Answer::Null),
            Err(jit_linkage::Error::SymbolNotDefined { symbol, .. }) => (symbol, Answer::Absent),
            // No hash table: the loader finds none of its names.
            Err(jit_linkage::Error::NoHashTable { .. }) => {
                return vec![Answer::NoHashTable; names.len()];
            }
            Err(other) => panic!("{}: {other}", library.display()),
        };
        let at = pending
            .iter()
            .position(|&i| names[i] == symbol)
            .expect("the proof names a symbol asked for");
        answers[pending.remove(at)] = answer;
    }
}

/// The run time's answer for each name, with the version of an exported one. A name the file
/// does not export may be provided by one of its dependencies: then what the file itself has
/// is told by the hint on the binary's own definition, or by nothing (absent).
fn run_says(library: &Path, names: &[&str]) -> Vec<(Answer, Option<String>)> {
    let report = verify_symbols::verify(library, names).unwrap();
    report
        .symbols
        .iter()
        .map(|s| {
            let hint = s.hint.as_deref().unwrap_or("");
            let answer = match s.status {
                Status::Exported => Answer::Exported,
                Status::Missing if hint.contains("absolute symbol of value 0") => Answer::Null,
                Status::Missing if hint.contains("name of a version") => Answer::Null,
                Status::Missing if hint.contains("only a non-default version") => Answer::Hidden,
                Status::Hidden => Answer::Hidden,
                Status::NotExported if hint.contains("no hash table") => Answer::NoHashTable,
                Status::ProvidedByDependency
                    if hint.contains("own definition is hidden")
                        || hint.contains("own definition is only a non-default version") =>
                {
                    Answer::Hidden
                }
                Status::Missing | Status::ProvidedByDependency => Answer::Absent,
                other => panic!("{}: {}: {other:?} {hint}", library.display(), s.name),
            };
            let version = (s.status == Status::Exported)
                .then(|| s.version.clone())
                .flatten();
            (answer, version)
        })
        .collect()
}

/// Both sides on `names` of `library`: they agree, name by name; the run time's answers (with
/// versions) are returned.
fn both_agree(library: &Path, names: &[&str]) -> Vec<(Answer, Option<String>)> {
    let run = run_says(library, names);
    let build = build_says(library, names);
    for ((name, (answer, _)), built) in names.iter().zip(&run).zip(&build) {
        assert_eq!(
            built,
            answer,
            "{}: `{name}`: the build (left) and the run time (right) disagree",
            library.display()
        );
    }
    run
}

/// What `nm -D --defined-only --with-symbol-versions` lists: each name with its default
/// version (`name@@V`, or no version) if it has one, whether it has hidden ones (`name@V`),
/// and nm's type letter.
#[derive(Debug, Default)]
struct Listed {
    default: Option<Option<String>>,
    hidden: bool,
    kind: char,
}

fn nm(library: &Path) -> HashMap<String, Listed> {
    let out = Command::new("nm")
        .args(["-D", "--defined-only", "--with-symbol-versions"])
        .arg(library)
        .output()
        .expect("nm runs");
    assert!(out.status.success(), "nm {}: {out:?}", library.display());
    let mut listed: HashMap<String, Listed> = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_, kind, symbol] = fields[..] else {
            continue;
        };
        let kind = kind.chars().next().unwrap();
        let (name, default) = match symbol.split_once("@@") {
            Some((name, version)) => (name, Some(Some(version.to_owned()))),
            None => match symbol.split_once('@') {
                Some((name, _)) => (name, None),
                None => (symbol, Some(None)),
            },
        };
        let entry = listed.entry(name.to_owned()).or_default();
        entry.kind = kind;
        match default {
            Some(version) => entry.default = Some(version),
            None => entry.hidden = true,
        }
    }
    listed
}

/// Every `step`-th shared library of the system's library directory, at most `limit`.
fn system_sample(step: usize, limit: usize) -> Vec<PathBuf> {
    let mut libraries: Vec<PathBuf> = std::fs::read_dir("/lib/x86_64-linux-gnu")
        .expect("a Debian x86-64 system")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            // libLLVM is checked once, its own way (below).
            name.starts_with("lib")
                && !name.starts_with("libLLVM")
                && name.contains(".so.")
                && p.is_file()
        })
        .filter(|p| {
            std::fs::read(p).is_ok_and(|d| d.len() > 64 && d.starts_with(b"\x7fELF") && d[16] == 3)
        })
        .collect();
    libraries.sort();
    libraries.dedup_by_key(|p| p.canonicalize().unwrap());
    libraries.into_iter().step_by(step).take(limit).collect()
}

/// Up to `count` names spread over what nm lists as defined (with a default version), all
/// names it lists with hidden versions only (up to 10), and two that are not there.
fn names_of(listed: &HashMap<String, Listed>, count: usize) -> Vec<String> {
    let mut defined: Vec<&String> = listed
        .iter()
        .filter(|(_, l)| l.default.is_some())
        .map(|(n, _)| n)
        .collect();
    defined.sort();
    let step = (defined.len() / count).max(1);
    let mut names: Vec<String> = defined.into_iter().step_by(step).cloned().collect();
    let mut hidden: Vec<&String> = listed
        .iter()
        .filter(|(_, l)| l.default.is_none() && l.hidden)
        .map(|(n, _)| n)
        .collect();
    hidden.sort();
    names.extend(hidden.into_iter().take(10).cloned());
    names.extend([
        "corpus_not_defined_anywhere".to_owned(),
        "zz_absent_9".to_owned(),
    ]);
    names
}

/// The answer nm gives, and the version of an exported name.
fn nm_says(listed: &HashMap<String, Listed>, name: &str) -> (Answer, Option<String>) {
    match listed.get(name) {
        None => (Answer::Absent, None),
        Some(Listed {
            default: Some(_),
            kind: 'A',
            ..
        }) => (Answer::Null, None),
        Some(Listed {
            default: Some(version),
            ..
        }) => (Answer::Exported, version.clone()),
        Some(_) => (Answer::Hidden, None),
    }
}

fn check_against_nm(library: &Path, names_per_library: usize) -> usize {
    let listed = nm(library);
    let names = names_of(&listed, names_per_library);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let run = both_agree(library, &names);
    for (name, said) in names.iter().zip(run) {
        let (answer, version) = nm_says(&listed, name);
        // An absolute zero is an `A` to nm whether or not it is a version's name.
        if said.0 == Answer::Null {
            assert_eq!(answer, Answer::Null, "{}: {name}", library.display());
            continue;
        }
        assert_eq!(
            said,
            (answer, version),
            "{}: `{name}` against nm",
            library.display()
        );
    }
    names.len()
}

#[test]
fn the_systems_libraries_and_libllvm_get_the_same_answers_on_both_sides() {
    let mut libraries = system_sample(15, 20);
    // libLLVM of the LLVM under test (`cargo xtask test --llvm N`, which installs it):
    // libLLVM-14.so up to 16, libLLVM.so.19.1 and on.
    let version = std::env::var("JIT_TOOLKIT_LLVM").unwrap_or_else(|_| "22".into());
    let lib = PathBuf::from(format!("/usr/lib/llvm-{version}/lib"));
    let llvm = std::fs::read_dir(&lib)
        .unwrap_or_else(|e| panic!("{}: {e} (cargo xtask deps --llvm {version})", lib.display()))
        .filter_map(|e| e.ok()?.path().canonicalize().ok())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("libLLVM") && name.contains(".so") && p.is_file()
        })
        .unwrap_or_else(|| panic!("no libLLVM in {} (cargo xtask deps)", lib.display()));
    libraries.push(llvm);
    assert!(libraries.len() >= 15, "{libraries:?}");
    let mut asked = 0;
    for library in &libraries {
        asked += check_against_nm(library, 40);
    }
    eprintln!("{asked} names of {} libraries agree", libraries.len());
}

const CRAFTED: &str = r#"
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

/// Each crafted name, and what its source makes of it.
const CRAFTED_NAMES: &[(&str, Answer, Option<&str>)] = &[
    ("foo", Answer::Exported, Some("V2")),
    ("old", Answer::Hidden, None),
    ("plain", Answer::Exported, Some("V2")),
    ("weak_fn", Answer::Exported, Some("V2")),
    ("common_var", Answer::Exported, Some("V2")),
    ("protected_fn", Answer::Exported, Some("V2")),
    ("hidden_fn", Answer::Hidden, None),
    ("static_fn", Answer::Hidden, None),
    ("zero_abs", Answer::Null, None),
    ("V1", Answer::Null, None),
    ("crafted_absent", Answer::Absent, None),
];

fn crafted(dir: &Path, style: &str) -> PathBuf {
    std::fs::write(dir.join("crafted.c"), CRAFTED).unwrap();
    std::fs::write(
        dir.join("crafted.map"),
        "V1 { };\nV2 { global: *; local: foo_v1; foo_v2; old_v1; } V1;\n",
    )
    .unwrap();
    let library = dir.join(format!("libcrafted-{style}.so"));
    let out = Command::new("cc")
        .current_dir(dir)
        .args(["-shared", "-fPIC", "-fcommon", "-o"])
        .arg(&library)
        .args([
            "crafted.c",
            "-Wl,--version-script=crafted.map",
            &format!("-Wl,--hash-style={style}"),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    library
}

#[test]
fn crafted_libraries_get_the_answers_their_sources_give_on_both_sides() {
    let dir = std::env::temp_dir().join("verify-symbols-contract");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let names: Vec<&str> = CRAFTED_NAMES.iter().map(|(n, ..)| *n).collect();
    for style in ["gnu", "sysv", "both"] {
        let library = crafted(&dir, style);
        let run = both_agree(&library, &names);
        for ((name, answer, version), said) in CRAFTED_NAMES.iter().zip(run) {
            assert_eq!(
                said,
                (answer.clone(), version.map(str::to_owned)),
                "{style}: `{name}`"
            );
        }
        // And nm agrees with both.
        check_against_nm(&library, 20);
    }

    // No hash table: its DT_GNU_HASH retagged DT_DEBUG, which a library's loader ignores.
    let library = crafted(&dir, "gnu");
    let mut data = std::fs::read(&library).unwrap();
    assert!(retag_gnu_hash(&mut data) > 0);
    let hashless = dir.join("libcrafted-none.so");
    std::fs::write(&hashless, &data).unwrap();
    let run = both_agree(&hashless, &["plain", "foo"]);
    assert!(
        run.iter().all(|(a, _)| *a == Answer::NoHashTable),
        "{run:?}"
    );
}

/// Turns the DT_GNU_HASH entries of a 64-bit little-endian file into DT_DEBUG.
fn retag_gnu_hash(data: &mut [u8]) -> usize {
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
        if word(data, entry, 8) == 0x6fff_fef5 {
            data[entry..entry + 8].copy_from_slice(&21u64.to_le_bytes());
            patched += 1;
        }
    }
    patched
}
