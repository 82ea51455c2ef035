//! `cargo xtask test`: everything CI checks, in the order a developer would run it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::flags::{Bench, BenchTarget, Test, Variant};
use crate::llvm::{Llvm, LlvmChoice};
use crate::{cargo, demo, deps, docs_rs, llvm_tests, progress, target_dir};

/// Tests that read which LLVM the workspace is built with (the generated-project tests).
pub(crate) const LLVM_ENV: &str = "JIT_TOOLKIT_LLVM";

/// About what `cargo xtask test --llvm all` writes at its peak (target/, cargo's cache and the
/// system packages), measured on a fresh machine; one version needs about half.
const DISK_NEEDED_GB: f64 = 30.0;
/// Below this much free space, a failure is said to be what a full disk looks like.
const DISK_LOW_GB: f64 = 2.0;

/// The space free (GB) on the filesystem that holds `dir`, as `df` reports it, if it can tell.
fn free_gb(dir: &Path) -> Option<f64> {
    let existing = dir.ancestors().find(|d| d.exists())?;
    let out = std::process::Command::new("df")
        .args(["-Pk"])
        .arg(existing)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let available: f64 = text
        .lines()
        .nth(1)?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()?;
    Some(available / (1024.0 * 1024.0))
}

/// A failed run's error, told when the disk is (nearly) full that this is the likely cause: a
/// linker that runs out of space dies of SIGBUS ("ld terminated with signal 7 [Bus error]"),
/// a compiler with "No space left on device", neither of which says "disk".
fn with_disk_context(result: anyhow::Result<()>) -> anyhow::Result<()> {
    let target = target_dir();
    result.map_err(|err| match free_gb(&target) {
        Some(free) if free < DISK_LOW_GB => err.context(format!(
            "the disk that holds {} has only {free:.1} GB free: a full disk makes linkers die \
             of SIGBUS (`ld terminated with signal 7 [Bus error]`) and compilers fail with \
             `No space left on device`. Free space (cargo xtask test --llvm all needs about \
             {DISK_NEEDED_GB:.0} GB) and run it again",
            target.display()
        )),
        _ => err,
    })
}

impl Test {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let target = target_dir();
        if let Some(free) = free_gb(&target).filter(|free| *free < DISK_NEEDED_GB) {
            progress!(
                "test: warning: {free:.1} GB free where {} is; a full run (--llvm all) writes \
                 about {DISK_NEEDED_GB:.0} GB (one version about half): it may run out of space",
                target.display()
            );
        }
        with_disk_context(self.run_all(sh))
    }

    fn run_all(self, sh: &Shell) -> anyhow::Result<()> {
        let cargo = cargo();
        progress!("test: cargo fmt --check");
        cmd!(sh, "{cargo} fmt --all -- --check").run()?;
        match self.llvm {
            LlvmChoice::One(llvm) => everything(sh, llvm)?,
            LlvmChoice::All => {
                // The oldest and the newest get everything; the ones between are built whole
                // and run orc-jit's tests and the demos.
                for llvm in Llvm::ALL {
                    let start = Instant::now();
                    if llvm == Llvm::ALL[0] || llvm == Llvm::DEFAULT {
                        everything(sh, llvm)?;
                    } else {
                        core_and_demos(sh, llvm)?;
                    }
                    progress!(
                        "test: LLVM {llvm} passed in {:.0} s",
                        start.elapsed().as_secs_f64()
                    );
                }
            }
        }
        progress!("test: all checks passed");
        Ok(())
    }
}

/// `cargo xtask deps --llvm N`, and the conformance suite told where LLVM N's own tests are
/// (for as long as the returned guard lives).
fn deps_and_llvm_tests(sh: &Shell, llvm: Llvm) -> anyhow::Result<xshell::PushEnv<'_>> {
    deps::system_packages(sh, llvm, false)?;
    let dir = llvm_tests::ensure(sh, llvm, false)?;
    Ok(sh.push_env(llvm_tests::ENV, dir))
}

/// deps, clippy, every test, the docs and the demos, on LLVM `llvm`.
fn everything(sh: &Shell, llvm: Llvm) -> anyhow::Result<()> {
    let cargo = cargo();
    let version = &llvm.cargo_args();
    let _llvm = sh.push_env(LLVM_ENV, llvm.to_string());
    progress!("test: LLVM {llvm}: [1/8] system packages and LLVM's ExecutionEngine tests");
    let _tests = deps_and_llvm_tests(sh, llvm)?;
    progress!("test: LLVM {llvm}: [2/8] cargo clippy");
    cmd!(
        sh,
        "{cargo} clippy --workspace --all-targets --quiet {version...} -- -D warnings"
    )
    .run()?;
    // The benchmarks are compiled only with xtask's `bench` feature.
    cmd!(
        sh,
        "{cargo} clippy --package xtask --features bench --all-targets --quiet -- -D warnings"
    )
    .run()?;
    progress!("test: LLVM {llvm}: [3/8] cargo test");
    // --no-fail-fast: every test binary runs and reports (one failing binary would otherwise
    // hide the rest, the conformance suite's table among them); any failure still fails.
    cmd!(sh, "{cargo} test --workspace --no-fail-fast {version...}").run()?;
    // The benchmarks' own tests (what the generated modules hold) need the `bench` feature.
    cmd!(
        sh,
        "{cargo} test --package xtask --features bench --bin xtask --quiet -- bench::"
    )
    .run()?;
    progress!("test: LLVM {llvm}: [4/8] cargo doc (warnings are errors), and as docs.rs builds it");
    {
        let _deny = sh.push_env("RUSTDOCFLAGS", "-D warnings");
        cmd!(sh, "{cargo} doc --workspace --no-deps --quiet {version...}").run()?;
    }
    // The published crates' docs with no LLVM on the machine (whichever LLVM is under test:
    // docs.rs builds the features the manifests name).
    docs_rs::check(sh)?;
    progress!("test: LLVM {llvm}: [5/8] demos");
    demo::run_variants(&Variant::ALL, llvm)?;
    progress!("test: LLVM {llvm}: [6/8] the linked demos under other cargo settings");
    demos_under_cargo_settings(sh, llvm)?;
    progress!("test: LLVM {llvm}: [7/8] the linked demos with LLVM linked statically");
    static_llvm_demos(sh, llvm)?;
    progress!("test: LLVM {llvm}: [8/8] every benchmark once, at its smallest size");
    tiny_benchmarks(sh, llvm)
}

/// The demos that link the C libraries, built with the target directory moved (with the build
/// directory kept apart, so nothing is rebuilt but the demos) and from another directory, each
/// binary then run directly with an empty environment: its libraries must be where its RUNPATH
/// looks, with no help from `cargo run`'s LD_LIBRARY_PATH.
fn demos_under_cargo_settings(sh: &Shell, llvm: Llvm) -> anyhow::Result<()> {
    let cargo = cargo();
    let version = &llvm.cargo_args();
    let variants: Vec<Variant> = Variant::ALL
        .into_iter()
        .filter(|v| v.links_c_library() && *v != Variant::Ipo)
        .collect();
    let packages: Vec<&str> = variants
        .iter()
        .flat_map(|v| ["--package", v.package()])
        .collect();
    let root = crate::project_root();
    let manifest = root.join("Cargo.toml");
    let moved = target_dir().join("cargo-settings, moved");
    // What is tried, the environment it adds, and where the binaries land.
    type Setting<'a> = (&'a str, Vec<(&'a str, PathBuf)>, PathBuf);
    let settings: [Setting<'_>; 2] = [
        (
            "CARGO_BUILD_BUILD_DIR + CARGO_TARGET_DIR",
            vec![
                ("CARGO_BUILD_BUILD_DIR", target_dir()),
                ("CARGO_TARGET_DIR", moved.clone()),
            ],
            moved.join("debug"),
        ),
        (
            "--manifest-path from another directory",
            Vec::new(),
            target_dir().join("debug"),
        ),
    ];
    for (what, env, profile) in settings {
        let _dir = sh.push_dir(std::env::temp_dir());
        let mut pushed = Vec::new();
        for (var, value) in &env {
            pushed.push(sh.push_env(var, value));
        }
        let selected = &packages;
        cmd!(
            sh,
            "{cargo} build --quiet --manifest-path {manifest} {selected...} {version...}"
        )
        .run()?;
        drop(pushed);
        for variant in &variants {
            run_directly(&variant.binary_in(&profile), what)?;
        }
    }
    Ok(())
}

/// Runs a demo binary directly, with an empty environment from `/`: it must print `f() = 42`.
fn run_directly(binary: &Path, what: &str) -> anyhow::Result<()> {
    let out = std::process::Command::new(binary)
        .env_clear()
        .current_dir("/")
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || !stdout.contains("f() = 42") {
        bail!(
            "{what}: {} exited with {}: {stdout}{}",
            binary.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    progress!("test: {what}: {} ok", binary.display());
    Ok(())
}

/// demo-static and demo-dynamic with LLVM linked statically (`llvm<N>-static`): the same
/// guarantees as with the shared libLLVM (whose default builds must need libLLVM). Each runs
/// directly; its `.dynsym` exports the manifest's symbols and nothing of the program or of LLVM
/// (a handful of C++ standard-library template copies that libstdc++.so refers to are the
/// linker's doing and allowed); no `DT_NEEDED` names libLLVM; verify-symbols passes what its
/// build recorded; gdb and perf see the JIT's code, stripped and not ([`debugger_and_profiler`]).
fn static_llvm_demos(sh: &Shell, llvm: Llvm) -> anyhow::Result<()> {
    use object::{Object, ObjectSymbol};

    let variants = [Variant::Static, Variant::Dynamic];
    // The other way round first: llvm-sys's `prefer-dynamic` falls back to a static link when
    // it finds no libLLVM.so, so the default build is checked to need libLLVM.
    for variant in variants {
        let shared = variant.binary();
        let report = verify_symbols::verify_recorded(&shared)?;
        if !report.needed.iter().any(|n| n.name.contains("LLVM")) {
            bail!(
                "{}: built with the `llvm{llvm}` feature, it does not need libLLVM: LLVM was \
                 linked statically",
                shared.display()
            );
        }
    }
    let profile = demo::build_static_llvm(sh, &variants, llvm, false)?;
    let manifest = jit_linkage::Manifest::load(crate::build_libs::manifest_path())?;
    let external = manifest
        .libraries
        .iter()
        .find(|l| l.name == "external")
        .context("the manifest has no library `external`")?;
    for variant in variants {
        let binary = variant.binary_in(&profile);
        let what = format!("LLVM {llvm} linked statically");
        run_directly(&binary, &what)?;
        let data = std::fs::read(&binary)?;
        let file = object::File::parse(&*data)?;
        let needed = verify_symbols::verify_recorded(&binary)?;
        if !needed.all_found() || needed.needed.iter().any(|n| n.name.contains("LLVM")) {
            bail!(
                "{what}: {}: verify-symbols does not pass, or libLLVM is still needed:\n{}",
                binary.display(),
                verify_symbols::render_text(
                    &verify_symbols::Report {
                        binaries: vec![needed]
                    },
                    false
                )
            );
        }
        let exported: Vec<String> = file
            .dynamic_symbols()
            .filter(|s| s.is_definition())
            .filter_map(|s| s.name().ok().map(str::to_owned))
            .collect();
        let own_library = variant == Variant::Static;
        for symbol in &external.symbols {
            if own_library != exported.contains(symbol) {
                bail!(
                    "{what}: {}: {symbol} is {} .dynsym",
                    binary.display(),
                    if own_library { "missing from" } else { "in" }
                );
            }
        }
        let leaked: Vec<&String> = exported
            .iter()
            .filter(|s| {
                let rust = s.starts_with("_R") || (s.starts_with("_ZN") && s.contains("17h"));
                let llvm = s.starts_with("LLVM") || s.contains("4llvm");
                rust || llvm || *s == "external_unlisted"
            })
            .collect();
        if !leaked.is_empty() || exported.len() > 100 {
            bail!(
                "{what}: {} exports {} symbols, among them {leaked:?}: the program or LLVM \
                 leaked into .dynsym",
                binary.display(),
                exported.len()
            );
        }
        progress!(
            "test: {what}: {} exports {} symbols, verify-symbols passes",
            binary.display(),
            exported.len()
        );
    }
    debugger_and_profiler(&profile, &variants, llvm)
}

/// gdb and perf over the demos with LLVM linked statically, as built and stripped (`strip` of
/// a copy), as over the shared builds in the demos' tests (issue 24, point 4): gdb must stop in
/// the JIT-compiled `f` with the host's frames below it, and perf must put the `--bench-calls`
/// loop on its JIT function. gdb finds the GDB JIT interface of a stripped binary only if its
/// `.dynsym` exports it (and LLVM 19 on needs its registration functions exported even
/// unstripped): a failure names the symbols the binary lacks. Every check runs; the failures
/// are reported together.
fn debugger_and_profiler(profile: &Path, variants: &[Variant], llvm: Llvm) -> anyhow::Result<()> {
    let dir = profile.join("debugger-profiler");
    let mut failed = Vec::new();
    for variant in variants {
        let built = variant.binary_in(profile);
        let stripped =
            demo_debug::strip_copy(&built, &dir.join("stripped")).map_err(anyhow::Error::msg)?;
        for (how, binary) in [("as built", &built), ("stripped", &stripped)] {
            let what = format!(
                "LLVM {llvm} linked statically: {} ({how})",
                variant.package()
            );
            let perf_dir = dir.join(format!("perf-{}", variant.package()));
            let checks = [
                ("gdb", demo_debug::gdb_stops_in_f(binary)),
                (
                    "perf",
                    demo_debug::perf_attributes_the_loop(
                        binary,
                        demo_debug::Profile::PerfMap,
                        demo_debug::PERF_CALLS,
                        &perf_dir,
                    ),
                ),
            ];
            let _ = std::fs::remove_dir_all(&perf_dir);
            for (tool, checked) in checks {
                match checked {
                    Ok(checked) => progress!("test: {what}: {}", checked.summary),
                    Err(problem) => {
                        progress!(
                            "test: {what}: {tool} FAILED: {}",
                            problem.lines().next().unwrap_or_default()
                        );
                        failed.push(format!("{what}: {tool}: {problem}"));
                    }
                }
            }
        }
    }
    if !failed.is_empty() {
        bail!(
            "{} debugger and profiler checks failed on the demos with LLVM linked statically:\n\n{}",
            failed.len(),
            failed.join("\n\n")
        );
    }
    Ok(())
}

/// Every benchmark once, at its smallest size: the report and each plot must be written.
fn tiny_benchmarks(sh: &Shell, llvm: Llvm) -> anyhow::Result<()> {
    Bench {
        targets: Vec::new(),
        rounds: 1,
        tiny: true,
        llvm,
    }
    .run(sh)?;
    let dir = target_dir().join("bench/tiny");
    let report = std::fs::read_to_string(dir.join("report.md"))
        .with_context(|| format!("no report in {}", dir.display()))?;
    for target in BenchTarget::ALL {
        let plot = format!("{}.svg", target.name());
        let svg = std::fs::read_to_string(dir.join(&plot)).unwrap_or_default();
        if !report.contains(&format!("]({plot})")) || !svg.starts_with("<svg") {
            bail!("the tiny benchmark report lacks {plot} or its plot");
        }
    }
    Ok(())
}

/// orc-jit's memory suites (tests/valgrind.rs, tests/leak.rs), by test name: on the versions
/// between the oldest and the newest, `cargo test` skips them.
const SLOWEST_SUITES: [&str; 2] = [
    "a_thousand_cycles_lose_no_memory_under_valgrind",
    "a_hundred_thousand_cycles_grow_resident_memory_by_less_than_1_mib",
];

/// deps, a build of everything (tests included), orc-jit's tests, the conformance suite
/// (orc-jit against this version's lli) and the demos, on `llvm`.
fn core_and_demos(sh: &Shell, llvm: Llvm) -> anyhow::Result<()> {
    let cargo = cargo();
    let version = &llvm.cargo_args();
    let _llvm = sh.push_env(LLVM_ENV, llvm.to_string());
    progress!("test: LLVM {llvm}: [1/4] system packages and LLVM's ExecutionEngine tests");
    let _tests = deps_and_llvm_tests(sh, llvm)?;
    progress!("test: LLVM {llvm}: [2/4] build everything");
    cmd!(
        sh,
        "{cargo} build --workspace --all-targets --quiet {version...}"
    )
    .run()?;
    progress!("test: LLVM {llvm}: [3/4] orc-jit's tests and the conformance suite");
    // The two slowest suites (valgrind's 1,000 cycles, 100,000 cycles for resident memory:
    // some 9 minutes a version in a debug build) run on the oldest and the newest only.
    let slowest = SLOWEST_SUITES.iter().flat_map(|test| ["--skip", test]);
    cmd!(
        sh,
        "{cargo} test --package orc-jit --package conformance --no-fail-fast {version...} -- {slowest...}"
    )
    .run()?;
    progress!("test: LLVM {llvm}: [4/4] demos, and demo-static under gdb and perf");
    demo::run_variants(&Variant::ALL, llvm)?;
    // The shared build under the real tools (on 14 and 22 the demos' own tests do this).
    demo::debug(llvm)
}

#[cfg(test)]
mod disk_tests {
    use super::*;

    #[test]
    fn free_space_is_read_for_a_directory_not_made_yet() {
        let here = free_gb(Path::new("/")).expect("df reads /");
        assert!(here > 0.0, "{here}");
        // A target directory not made yet is on the filesystem of its nearest ancestor.
        let later = free_gb(Path::new("/no/such/dir/yet")).expect("df reads its ancestor");
        assert!((later - here).abs() < 1.0, "{later} against {here}");
    }

    #[test]
    fn a_failure_with_space_to_spare_is_left_as_it_is() {
        let err = with_disk_context(Err(anyhow::anyhow!("a test failed"))).unwrap_err();
        match free_gb(&target_dir()) {
            Some(free) if free >= DISK_LOW_GB => assert_eq!(format!("{err:#}"), "a test failed"),
            _ => assert!(format!("{err:#}").contains("GB free"), "{err:#}"),
        }
    }
}
