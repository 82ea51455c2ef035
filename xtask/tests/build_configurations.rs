//! A generated project (the `mixed` template: one library linked statically, one dynamically)
//! built under each cargo set-up a user meets, and each result run directly, with an empty
//! environment (no `LD_LIBRARY_PATH`, which `cargo run` would add): the target directory
//! moved, a build directory set apart, `--target <triple>`, built from another directory,
//! release + LTO, stripped, linked by gold and by lld, shipped with `jit-dist`, and copied
//! alone (which cannot start, and verify-symbols says why and what fixes it).

mod common;

use std::path::Path;
use std::process::Command;

use common::{fresh_dir, llvm, project_cargo_ok, run_alone, shared_build};

const NAME: &str = "jit-config-app";

/// The binary starts without help, prints its result, carries its note, and verify-symbols
/// (the library the standalone command uses) finds every symbol the note lists.
fn check(what: &str, binary: &Path) {
    let out = run_alone(binary);
    assert!(out.status.success(), "{what}: {} {out:?}", binary.display());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "compute() = 42\n",
        "{what}"
    );
    let note = jit_linkage::read_note_file(binary)
        .unwrap()
        .unwrap_or_else(|| panic!("{what}: the note is gone from {}", binary.display()));
    let mut recorded: Vec<(String, String)> = note
        .symbols
        .into_iter()
        .map(|s| {
            // A placed library is recorded with its build ID, which changes with each build.
            let provider = match s.provider {
                jit_linkage::Provider::Archive { file } => format!("archive {file}"),
                jit_linkage::Provider::System { soname } => format!("system {soname}"),
                jit_linkage::Provider::Placed { soname, build_id } => {
                    assert!(build_id.is_some(), "{what}: {soname} without its build ID");
                    format!("placed {soname}")
                }
            };
            (s.symbol, provider)
        })
        .collect();
    recorded.sort();
    assert_eq!(
        recorded,
        [
            ("math_twice".to_owned(), "archive libmathlib.a".to_owned()),
            ("text_length".to_owned(), "placed libtextlib.so".to_owned()),
        ],
        "{what}"
    );
    // Each from the library meant to provide it, that very build of it.
    let report = verify_symbols::verify_recorded(binary).unwrap();
    assert!(report.all_found() && report.starts(), "{what}: {report:#?}");
}

/// Which linker wrote `binary`: gold leaves its `.note.gnu.gold-version` ("gold 1.16"), lld
/// its name in `.comment` ("Linker: ... LLD"); GNU ld leaves neither.
fn linker_of(binary: &Path) -> &'static str {
    let data = std::fs::read(binary).unwrap();
    let text = String::from_utf8_lossy(&data);
    if text.contains("Linker: ") && text.contains("LLD") {
        "LLD"
    } else if text.contains("gold 1.") {
        "GNU gold"
    } else {
        "GNU ld"
    }
}

#[test]
fn the_mixed_project_works_under_every_cargo_set_up() {
    let scratch = fresh_dir("xtask-build-configurations");
    let dir = scratch.join(NAME);
    let (llvm, _) = llvm();
    let out = common::xtask(&[
        "new",
        dir.to_str().unwrap(),
        "--linkage",
        "mixed",
        "--llvm",
        &llvm,
    ]);
    assert!(out.status.success(), "{out:?}");
    let shared = shared_build();
    let debug_bin = shared.join("debug").join(NAME);

    // 1. The target directory moved (CARGO_TARGET_DIR).
    project_cargo_ok(
        &dir,
        &["build", "--quiet"],
        &[("CARGO_TARGET_DIR", &shared)],
    );
    check("CARGO_TARGET_DIR", &debug_bin);

    // Freshness is cargo's: nothing changed, nothing runs; a header a source includes (found
    // through the compiler's -MMD output) changed, the build script runs again.
    let verbose = || {
        let out = project_cargo_ok(&dir, &["build", "-v"], &[("CARGO_TARGET_DIR", &shared)]);
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let script_ran = |log: &str| {
        log.lines()
            .any(|l| l.contains("build-script-build") && l.contains("Running"))
    };
    let log = verbose();
    assert!(
        !script_ran(&log),
        "a no-op build re-ran the build script:\n{log}"
    );
    let header = dir.join("c-libs/include/textlib.h");
    let text = std::fs::read_to_string(&header).unwrap();
    std::fs::write(&header, format!("{text}/* changed */\n")).unwrap();
    let log = verbose();
    assert!(
        script_ran(&log),
        "a changed header did not re-run the build script:\n{log}"
    );
    check("after a header changed", &debug_bin);

    // 2. A build directory set apart: intermediate files (and OUT_DIR) in one place, the
    //    binaries in another.
    let apart = scratch.join("target apart, 'too'");
    project_cargo_ok(
        &dir,
        &["build", "--quiet"],
        &[
            ("CARGO_BUILD_BUILD_DIR", &shared),
            ("CARGO_TARGET_DIR", &apart),
        ],
    );
    check("CARGO_BUILD_BUILD_DIR", &apart.join("debug").join(NAME));

    // 3. Built from another directory, through --manifest-path.
    let manifest = dir.join("Cargo.toml");
    let other = scratch.clone();
    project_cargo_ok(
        &other,
        &[
            "build",
            "--quiet",
            "--manifest-path",
            manifest.to_str().unwrap(),
        ],
        &[("CARGO_TARGET_DIR", &shared)],
    );
    check("--manifest-path from another directory", &debug_bin);

    // 4. An explicit --target: binaries in target/<triple>/debug.
    let triple = "x86_64-unknown-linux-gnu";
    project_cargo_ok(
        &dir,
        &["build", "--quiet", "--target", triple],
        &[("CARGO_TARGET_DIR", &shared)],
    );
    check("--target", &shared.join(triple).join("debug").join(NAME));

    // 5. Stripped: the note is in an allocated SHT_NOTE section, which strip keeps.
    let stripped = shared.join("debug").join(format!("{NAME}-stripped"));
    let status = Command::new("strip")
        .arg(&debug_bin)
        .arg("-o")
        .arg(&stripped)
        .status()
        .unwrap();
    assert!(status.success());
    check("strip", &stripped);

    // 6. Linked by gold, then by lld (only the binary is relinked: `cargo rustc`).
    let lld_dir = format!("-Clink-arg=-B/usr/lib/llvm-{llvm}/bin");
    for (linker, args) in [
        ("GNU gold", vec!["-Clink-arg=-fuse-ld=gold"]),
        ("LLD", vec!["-Clink-arg=-fuse-ld=lld", lld_dir.as_str()]),
    ] {
        let mut command = vec!["rustc", "--quiet", "--bin", NAME, "--"];
        command.extend(args);
        project_cargo_ok(&dir, &command, &[("CARGO_TARGET_DIR", &shared)]);
        assert_eq!(
            linker_of(&debug_bin),
            linker,
            "the link did not use {linker}"
        );
        check(linker, &debug_bin);
    }

    // 7. Release with LTO (the note is a linked object, not bitcode, so LTO keeps it).
    project_cargo_ok(
        &dir,
        &["build", "--quiet", "--release"],
        &[
            ("CARGO_TARGET_DIR", &shared),
            ("CARGO_PROFILE_RELEASE_LTO", Path::new("fat")),
        ],
    );
    let release_bin = shared.join("release").join(NAME);
    check("release + LTO", &release_bin);

    // 8. Copied alone: it cannot start, and verify-symbols says why and what fixes it.
    let alone_dir = scratch.join("alone");
    std::fs::create_dir_all(&alone_dir).unwrap();
    let alone = alone_dir.join(NAME);
    std::fs::copy(&release_bin, &alone).unwrap();
    assert_eq!(run_alone(&alone).status.code(), Some(127));
    let verified = common::project_cargo(
        &dir,
        &["verify-symbols", "--binary", alone.to_str().unwrap()],
        &[("CARGO_TARGET_DIR", &shared)],
    );
    let text = String::from_utf8_lossy(&verified.stdout);
    assert_eq!(verified.status.code(), Some(1), "{text}");
    assert!(
        text.contains("libtextlib.so → not found") && text.contains("jit-dist --out DIR"),
        "{text}"
    );

    // 9. Shipped: `jit-dist` (installed with verify-symbols, as the template's README says)
    //    writes bin/ and lib/; the layout works wherever it is moved.
    let dist = scratch.join("dist");
    let shipped = Command::new(common::packaged::packaged().tools.join("jit-dist"))
        .arg("--out")
        .arg(&dist)
        .arg(&release_bin)
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(shipped.status.success(), "jit-dist: {shipped:?}");
    assert!(dist.join("lib/libtextlib.so").is_file());
    let moved = scratch.join("moved, somewhere else");
    std::fs::rename(&dist, &moved).unwrap();
    check("dist, moved", &moved.join("bin").join(NAME));
    // The installed `cargo verify-symbols` reads the note of the shipped binary: exit 0.
    let verified = common::project_cargo(
        &dir,
        &[
            "verify-symbols",
            "--binary",
            moved.join("bin").join(NAME).to_str().unwrap(),
        ],
        &[("CARGO_TARGET_DIR", &shared)],
    );
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
}
