//! A generated project with LLVM linked statically that asks for a debugger (`[jit] debugger =
//! true` in its manifest) exports exactly what gdb and LLVM's registrar look up, so gdb stops in
//! its JIT code after `strip`, linked by GNU ld, by gold and by lld, in release + LTO; and
//! verify-symbols says so. Without the request, the stripped binary hides its JIT code from gdb,
//! and verify-symbols says that and what to do. And `__emutls_get_address`, which orc-jit takes
//! the address of for emulated TLS, is provided by libgcc_s.so.1 (issue 20 point 2).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{fresh_dir, llvm, project_cargo_ok, run_alone, shared_build};

const NAME: &str = "jit-debugged";

/// The names the build exports for the debugger (jit-exports' list).
const DEBUGGER: [&str; 4] = jit_exports::note::DEBUGGER_SYMBOLS;

/// The generated static project, changed to link LLVM statically and to ask (or not) for a
/// debugger in its manifest.
fn project(scratch: &Path, debugger: bool) -> PathBuf {
    let dir = scratch
        .join(if debugger { "asked" } else { "not-asked" })
        .join(NAME);
    let (llvm, _) = llvm();
    let out = common::xtask(&[
        "new",
        dir.to_str().unwrap(),
        "--linkage",
        "static",
        "--llvm",
        &llvm,
    ]);
    assert!(out.status.success(), "{out:?}");
    let edit = |file: &str, from: &str, to: &str| {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has no `{from}`");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    };
    let feature = format!("\"llvm{llvm}\"");
    edit("Cargo.toml", &feature, &format!("\"llvm{llvm}-static\""));
    if debugger {
        let manifest = dir.join("c-libs/libraries.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        std::fs::write(&manifest, format!("[jit]\ndebugger = true\n\n{text}")).unwrap();
    }
    dir
}

/// The defined names of `binary`'s `.dynsym`, as nm lists them.
fn dynamic_definitions(binary: &Path) -> Vec<String> {
    definitions(binary, "-D")
}

/// The defined names of `binary`'s symbol tables (`.symtab` with `-a`, `.dynsym` with `-D`), as
/// nm lists them.
fn definitions(binary: &Path, table: &str) -> Vec<String> {
    let out = Command::new("nm")
        .args([table, "--defined-only"])
        .arg(binary)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .map(|s| s.split('@').next().unwrap_or(s).to_owned())
        .collect()
}

/// `binary` stripped, next to it.
fn stripped(binary: &Path, what: &str) -> PathBuf {
    let out = binary.with_file_name(format!("{NAME}-{what}-stripped"));
    let status = Command::new("strip")
        .arg(binary)
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    out
}

/// What gdb prints running `binary --debugger` (the template's switch for
/// `JitBuilder::debugger`) with a breakpoint on the JIT-compiled `compute`.
fn gdb(binary: &Path) -> String {
    let out = Command::new("gdb")
        .args([
            "-batch",
            "-nx",
            "-ex",
            "set breakpoint pending on",
            "-ex",
            "break compute",
            "-ex",
            "run",
            "-ex",
            "bt",
            "--args",
        ])
        .arg(binary)
        .arg("--debugger")
        .current_dir("/")
        .output()
        .expect("gdb runs (cargo xtask deps installs it)");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// The stripped `binary` runs, exports the manifest's symbol and what the debugger needs and no
/// other name of LLVM's, verify-symbols finds everything and says gdb sees its JIT code, and
/// gdb stops in it.
fn check(what: &str, binary: &Path) {
    // LLVM 22 has no `llvm_orc_registerJITLoaderGDBWrapper` any more: each name of the list the
    // binary defines is exported, and gdb's two and the allocation action are defined.
    let defined = definitions(binary, "-a");
    let wanted: Vec<&str> = DEBUGGER
        .into_iter()
        .filter(|name| defined.iter().any(|d| d == name))
        .collect();
    for name in [DEBUGGER[0], DEBUGGER[1], DEBUGGER[3]] {
        assert!(
            wanted.contains(&name),
            "{what}: {name} is not in the binary"
        );
    }
    let binary = stripped(binary, what);
    let out = run_alone(&binary);
    assert!(out.status.success(), "{what}: {out:?}");
    let exported = dynamic_definitions(&binary);
    for name in wanted.iter().chain(&["helper_add"]) {
        assert!(
            exported.iter().any(|e| e == name),
            "{what}: {name} not exported: {exported:?}"
        );
    }
    let llvm_names: Vec<&String> = exported
        .iter()
        .filter(|e| e.starts_with("LLVM") || e.starts_with("llvm_") || e.starts_with("__jit_"))
        .filter(|e| !DEBUGGER.contains(&e.as_str()))
        .collect();
    assert!(
        llvm_names.is_empty(),
        "{what}: exported besides: {llvm_names:?}"
    );
    let report = verify_symbols::verify_recorded(&binary).unwrap();
    assert!(report.all_found() && report.starts(), "{what}: {report:#?}");
    let debugger = report.debugger.expect("a debugger answer");
    assert!(debugger.sees_jit_code, "{what}: {}", debugger.why);
    let said = gdb(&binary);
    assert!(
        said.contains("Breakpoint 1, ") && said.contains("compute"),
        "{what}: gdb did not stop in the JIT code:\n{said}"
    );
    // Emulated TLS's helper, whose address orc-jit takes: the loader resolves it from libgcc_s.
    let emutls = verify_symbols::verify(&binary, &["__emutls_get_address"]).unwrap();
    let symbol = &emutls.symbols[0];
    assert_eq!(
        symbol.status,
        verify_symbols::Status::ProvidedByDependency,
        "{what}"
    );
    assert!(
        symbol
            .provider
            .as_deref()
            .and_then(Path::file_name)
            .is_some_and(|f| f == "libgcc_s.so.1"),
        "{what}: {symbol:?}"
    );
}

#[test]
fn a_statically_linked_llvm_asking_for_a_debugger_is_seen_by_gdb_stripped_with_every_linker() {
    let scratch = fresh_dir("xtask-debugger-linkage");
    let shared = shared_build();
    let target = [("CARGO_TARGET_DIR", shared.as_path())];
    let (llvm, _) = llvm();

    // Without the request: the stripped binary keeps its JIT code from gdb, and verify-symbols
    // says so, and what to export.
    let plain = project(&scratch, false);
    project_cargo_ok(&plain, &["build", "--quiet"], &target);
    let binary = stripped(&shared.join("debug").join(NAME), "not-asked");
    let report = verify_symbols::verify_recorded(&binary).unwrap();
    let debugger = report.debugger.expect("a debugger answer");
    assert!(!debugger.sees_jit_code, "{}", debugger.why);
    assert!(
        debugger.why.contains("gdb will not see JIT code")
            && debugger.why.contains("`__jit_debug_descriptor`"),
        "{}",
        debugger.why
    );
    let said = gdb(&binary);
    assert!(
        !said.contains("Breakpoint 1, "),
        "gdb saw JIT code:\n{said}"
    );
    let mut before = dynamic_definitions(&binary);

    // Asked for: GNU ld in debug, gold and lld in release + LTO.
    let dir = project(&scratch, true);
    project_cargo_ok(&dir, &["build", "--quiet"], &target);
    check("GNU ld", &shared.join("debug").join(NAME));
    // Exactly these are added, nothing else (the same build but for the request).
    let mut after = dynamic_definitions(&stripped(&shared.join("debug").join(NAME), "GNU ld"));
    after.retain(|name| !before.contains(name));
    after.sort();
    before = definitions(&shared.join("debug").join(NAME), "-a");
    let mut wanted: Vec<&str> = DEBUGGER
        .into_iter()
        .filter(|n| before.iter().any(|d| d == n))
        .collect();
    wanted.sort();
    assert_eq!(
        after, wanted,
        "GNU ld: exported besides the request's names"
    );
    let lld_dir = format!("-Clink-arg=-B/usr/lib/llvm-{llvm}/bin");
    for (linker, args) in [
        ("gold", vec!["-Clink-arg=-fuse-ld=gold"]),
        ("lld", vec!["-Clink-arg=-fuse-ld=lld", lld_dir.as_str()]),
    ] {
        let mut command = vec!["rustc", "--quiet", "--release", "--bin", NAME, "--"];
        command.extend(args);
        project_cargo_ok(
            &dir,
            &command,
            &[
                ("CARGO_TARGET_DIR", shared.as_path()),
                ("CARGO_PROFILE_RELEASE_LTO", Path::new("fat")),
            ],
        );
        check(
            &format!("{linker}, release + LTO"),
            &shared.join("release").join(NAME),
        );
    }
}
