//! `cargo xtask demo`: build the demo binaries, run each variant, one line per variant.

use std::path::PathBuf;
use std::process::Command;

use anyhow::bail;
use verify_symbols::{Report, verify, verify_recorded};
use xshell::{Shell, cmd};

use crate::build_libs::{self, Built};
use crate::flags::{Demo, DemoRun, Variant};
use crate::llvm::Llvm;
use crate::{cargo, deps, progress, target_dir};

impl Variant {
    /// The default variants of `cargo xtask demo` (every one: `debug` is not a variant).
    pub(crate) const ALL: [Variant; 6] = [
        Variant::Static,
        Variant::Dynamic,
        Variant::Archive,
        Variant::Library,
        Variant::HostFunction,
        Variant::Ipo,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Variant::Static => "static",
            Variant::Dynamic => "dynamic",
            Variant::Archive => "archive",
            Variant::Library => "library",
            Variant::HostFunction => "host-function",
            Variant::Ipo => "ipo",
        }
    }

    /// The cargo package of the variant's binary (also the binary's name).
    pub(crate) fn package(self) -> &'static str {
        match self {
            Variant::Static => "demo-static",
            Variant::Dynamic => "demo-dynamic",
            Variant::Archive | Variant::Library | Variant::HostFunction => "demo-runner",
            Variant::Ipo => "demo-ipo",
        }
    }

    pub(crate) fn binary(self) -> PathBuf {
        self.binary_in(&target_dir().join("debug"))
    }

    /// The variant's binary in a profile directory.
    pub(crate) fn binary_in(self, profile: &std::path::Path) -> PathBuf {
        let name = match self.package() {
            "demo-runner" => "demo-sources",
            package => package,
        };
        profile.join(name)
    }

    /// Variants whose binary links the C library and must export its symbols.
    pub(crate) fn links_c_library(self) -> bool {
        matches!(self, Variant::Static | Variant::Dynamic | Variant::Ipo)
    }

    /// The command that runs the variant; `lib` is the manifest's first library, `bitcode`
    /// the first bitcode library's.
    pub(crate) fn command(self, lib: &Built, bitcode: Option<&PathBuf>) -> Command {
        self.command_in(&target_dir().join("debug"), lib, bitcode)
    }

    /// [`Variant::command`] for the binary in a profile directory.
    pub(crate) fn command_in(
        self,
        profile: &std::path::Path,
        lib: &Built,
        bitcode: Option<&PathBuf>,
    ) -> Command {
        let mut command = Command::new(self.binary_in(profile));
        match self {
            Variant::Static | Variant::Dynamic => {}
            Variant::Ipo => {
                command.args(bitcode);
            }
            Variant::Archive => {
                command.arg("archive").arg(&lib.static_lib);
            }
            Variant::Library => {
                command.arg("library").arg(&lib.shared_lib);
            }
            Variant::HostFunction => {
                command.arg("host-function");
            }
        }
        command
    }

    /// What the variant's output must contain.
    fn expected(self) -> &'static [&'static str] {
        match self {
            Variant::Ipo => &[
                "f_WRAPPED() = 23333",
                "helper call inlined: yes",
                "calls: 1",
                // The forum's C++ helpers: global objects constructed, and destroyed once.
                "global registry \"the forum's C++ helpers\" constructed",
                "registry: destroyed with 1 value",
            ],
            _ => &["f() = 42"],
        }
    }

    /// The file verify-symbols must pass before the variant runs, if any.
    fn verified_file(self, lib: &Built) -> Option<PathBuf> {
        match self {
            Variant::Static | Variant::Dynamic | Variant::Ipo => Some(self.binary()),
            Variant::Library => Some(lib.shared_lib.clone()),
            Variant::Archive | Variant::HostFunction => None,
        }
    }
}

impl Demo {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        deps::system_packages(sh, self.llvm, false)?;
        let variants: Vec<Variant> = if self.variants.is_empty() {
            Variant::ALL.to_vec()
        } else {
            self.variants
                .iter()
                .filter_map(|run| match run {
                    DemoRun::Variant(variant) => Some(*variant),
                    DemoRun::Debug => None,
                })
                .collect()
        };
        let variants_ok = if variants.is_empty() {
            Ok(())
        } else {
            run_variants(&variants, self.llvm)
        };
        let debug_ok = if self.variants.contains(&DemoRun::Debug) {
            debug(self.llvm)
        } else {
            Ok(())
        };
        variants_ok.and(debug_ok)
    }
}

/// `cargo xtask demo debug`: demo-static, built, under gdb and perf as a user types them (the
/// checks of the demo-debug package, which the demos' tests run too). Prints each command, the
/// key lines of the tool's output and one result line per check; fails if any check does.
pub(crate) fn debug(llvm: Llvm) -> anyhow::Result<()> {
    build_libs::build_with(llvm, &packages(&[Variant::Static]))?;
    let binary = Variant::Static.binary();
    let dir = target_dir().join("demo-debug");
    let perf = |profile| {
        let dir = dir.join(profile_name(profile));
        let checked =
            demo_debug::perf_attributes_the_loop(&binary, profile, demo_debug::PERF_CALLS, &dir);
        let _ = std::fs::remove_dir_all(&dir);
        checked
    };
    // gdb over a stripped copy too: it then finds the GDB JIT interface only through .dynsym.
    let stripped = demo_debug::strip_copy(&binary, &dir.join("stripped"));
    let checks = [
        ("debug gdb", demo_debug::gdb_stops_in_f(&binary)),
        (
            "debug gdb (stripped)",
            stripped.and_then(|copy| demo_debug::gdb_stops_in_f(&copy)),
        ),
        ("debug perf", perf(demo_debug::Profile::PerfMap)),
        ("debug jitdump", perf(demo_debug::Profile::JitDump)),
    ];
    let mut failed = Vec::new();
    for (name, checked) in checks {
        match checked {
            Ok(checked) => {
                for command in &checked.ran {
                    println!("$ {command}");
                }
                for line in &checked.lines {
                    println!("  {line}");
                }
                println!("{name:<20} ok    {}", checked.summary);
            }
            Err(problem) => {
                println!(
                    "{name:<20} FAIL  {}",
                    problem.lines().next().unwrap_or_default()
                );
                eprintln!("{problem}");
                failed.push(name);
            }
        }
    }
    if !failed.is_empty() {
        bail!("demo checks failed: {}", failed.join(", "));
    }
    Ok(())
}

fn profile_name(profile: demo_debug::Profile) -> &'static str {
    profile.flag().trim_start_matches('-')
}

/// The cargo packages of `variants`, each once.
pub(crate) fn packages(variants: &[Variant]) -> Vec<&'static str> {
    let mut names: Vec<&str> = variants.iter().map(|v| v.package()).collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Builds the binaries of `variants` with LLVM `llvm` linked statically (the `llvm<N>-static`
/// features), in a target directory of their own (`target/static-llvm`, so that the shared
/// builds are not rebuilt), and returns its profile directory (`debug`, or `release`).
pub(crate) fn build_static_llvm(
    sh: &Shell,
    variants: &[Variant],
    llvm: Llvm,
    release: bool,
) -> anyhow::Result<PathBuf> {
    let dir = target_dir().join("static-llvm");
    let _dir = sh.push_env("CARGO_TARGET_DIR", &dir);
    let profile: &[&str] = if release { &["--release"] } else { &[] };
    cargo_build(sh, variants, &llvm.static_cargo_args(), profile)?;
    Ok(dir.join(if release { "release" } else { "debug" }))
}

/// Builds the binaries of `variants` with LLVM `llvm`.
pub(crate) fn build(sh: &Shell, variants: &[Variant], llvm: Llvm) -> anyhow::Result<()> {
    build_with(sh, variants, llvm, &[])
}

/// [`build`] with more cargo arguments (`--release`).
pub(crate) fn build_with(
    sh: &Shell,
    variants: &[Variant],
    llvm: Llvm,
    extra: &[&str],
) -> anyhow::Result<()> {
    cargo_build(sh, variants, &llvm.cargo_args(), extra)
}

/// `cargo build` of the packages of `variants` with the LLVM `features` arguments and `extra`.
fn cargo_build(
    sh: &Shell,
    variants: &[Variant],
    features: &[String],
    extra: &[&str],
) -> anyhow::Result<()> {
    let cargo = cargo();
    let names = packages(variants);
    let target = sh
        .var_os("CARGO_TARGET_DIR")
        .map(|dir| crate::project_root().join(dir))
        .unwrap_or_else(target_dir);
    let profile = if extra.contains(&"--release") {
        "release"
    } else {
        "debug"
    };
    progress!(
        "demo: building {} ({}){}",
        names.join(", "),
        features
            .iter()
            .map(String::as_str)
            .chain(extra.iter().copied())
            .collect::<Vec<_>>()
            .join(" "),
        crate::first_build_note(&target.join(profile))
    );
    let packages = names.iter().flat_map(|p| ["--package", p]);
    cmd!(
        sh,
        "{cargo} build --quiet {packages...} {features...} {extra...}"
    )
    .run()?;
    Ok(())
}

/// Builds what the variants need, verifies the symbols of each binary that must export them,
/// then runs each variant and prints its line. A variant that fails verification is not run:
/// its diagnosis is printed instead.
pub(crate) fn run_variants(variants: &[Variant], llvm: Llvm) -> anyhow::Result<()> {
    // The archive and library variants load the manifest's first library by path.
    // The libraries and the demos in one cargo run.
    let libraries = build_libs::build_with(llvm, &packages(variants))?;
    let Some(lib) = libraries.first() else {
        bail!("the manifest declares no library");
    };
    let bitcode = libraries.iter().find_map(|b| b.bitcode.as_ref());

    let mut failed = Vec::new();
    for &variant in variants {
        let checked = match variant.verified_file(lib) {
            Some(file) => {
                // A demo binary must export what its build recorded in it, from the library
                // meant to provide it; a library its own symbols.
                let verified = if variant.links_c_library() {
                    verify_recorded(&file)
                } else {
                    verify(&file, &lib.lib.symbols)
                };
                verified.map(Some).map_err(|e| e.to_string())
            }
            None => Ok(None),
        };
        let outcome = match checked {
            Ok(Some(report)) if !report.all_found() => {
                let report = Report {
                    binaries: vec![report],
                };
                verify_symbols::cli::print(&report, false, false)?;
                Err("verify-symbols: the JIT would not find every symbol (see above)".to_owned())
            }
            Ok(_) => run_one(variant.command(lib, bitcode), variant.expected()),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(result) => println!("{:<14} ok    {result}", variant.name()),
            Err(err) => {
                println!(
                    "{:<14} FAIL  {}",
                    variant.name(),
                    err.lines().next().unwrap_or("")
                );
                eprintln!("{err}");
                failed.push(variant.name());
            }
        }
    }
    if !failed.is_empty() {
        bail!("demo variants failed: {}", failed.join(", "));
    }
    Ok(())
}

/// Runs one demo; Ok(its output line) when it printed what the variant must print.
fn run_one(mut command: Command, expected: &[&str]) -> Result<String, String> {
    let shown = format!("{command:?}");
    let out = command
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    if out.status.success() && expected.iter().all(|e| stdout.contains(e)) {
        // One line per variant (demo-ipo prints three).
        Ok(stdout.lines().collect::<Vec<_>>().join(" / "))
    } else {
        Err(format!(
            "{shown} exited with {}: {}",
            out.status,
            [stdout, stderr].join("\n").trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::*;

    /// `cargo xtask demo` accepts every variant by its name, and `debug`.
    #[test]
    fn every_variant_can_be_asked_for() {
        let runs = DemoRun::value_variants();
        for variant in Variant::ALL {
            assert!(runs.contains(&DemoRun::Variant(variant)), "{variant:?}");
            let value = DemoRun::Variant(variant).to_possible_value().unwrap();
            assert_eq!(value.get_name(), variant.name());
        }
        assert_eq!(runs.len(), Variant::ALL.len() + 1);
        assert!(runs.contains(&DemoRun::Debug));
    }
}
