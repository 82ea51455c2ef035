//! `cargo xtask build-libs`: the manifest's C libraries into target/c-libs/.
//!
//! The compile is the c-artifacts package's build script, which builds every manifest library
//! through jit-linkage exactly as a binary's build script does; cargo decides whether it is
//! stale. This command builds that package, reads where the files are from cargo's
//! `build-script-executed` message, and copies them to one documented place.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use jit_linkage::{Library, Manifest};
use xshell::{Shell, cmd};

use crate::flags::BuildLibs;
use crate::llvm::Llvm;
use crate::{cargo, progress, project_root, target_dir};

/// The one manifest of the workspace's C libraries.
pub(crate) fn manifest_path() -> PathBuf {
    project_root().join("c-libs/libraries.toml")
}

/// Where `build-libs` writes the artifacts: target/c-libs/ for the default LLVM, and
/// target/c-libs/llvm-N/ for another (bitcode is per version).
pub(crate) fn c_libs_dir(llvm: Llvm) -> PathBuf {
    let dir = target_dir().join("c-libs");
    if llvm == Llvm::DEFAULT {
        dir
    } else {
        dir.join(format!("llvm-{llvm}"))
    }
}

/// One manifest library's files in target/c-libs/.
#[derive(Debug, Clone)]
pub(crate) struct Built {
    pub(crate) lib: Library,
    pub(crate) static_lib: PathBuf,
    pub(crate) shared_lib: PathBuf,
    pub(crate) bitcode: Option<PathBuf>,
}

impl BuildLibs {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        if self.force {
            let cargo = cargo();
            cmd!(sh, "{cargo} clean --quiet --package c-artifacts").run()?;
        }
        for built in build(self.llvm)? {
            println!("{}", built.static_lib.display());
            println!("{}", built.shared_lib.display());
            if let Some(bitcode) = &built.bitcode {
                println!("{}", bitcode.display());
            }
        }
        Ok(())
    }
}

/// Builds the c-artifacts package for LLVM `llvm` and copies every manifest library's files to
/// [`c_libs_dir`].
pub(crate) fn build(llvm: Llvm) -> anyhow::Result<Vec<Built>> {
    build_with(llvm, &[])
}

/// [`build`], and the packages `also` in the same cargo run (one cargo start, one lock, one
/// freshness check instead of two).
pub(crate) fn build_with(llvm: Llvm, also: &[&str]) -> anyhow::Result<Vec<Built>> {
    build_profile(llvm, also, false)
}

/// [`build`] with cargo's release profile (the C compiled at `-O3`), into a `release`
/// directory below [`c_libs_dir`]: what a benchmark against release binaries calls.
#[cfg(feature = "bench")]
pub(crate) fn build_release(llvm: Llvm) -> anyhow::Result<Vec<Built>> {
    build_profile(llvm, &[], true)
}

fn build_profile(llvm: Llvm, also: &[&str], release: bool) -> anyhow::Result<Vec<Built>> {
    let manifest = Manifest::load(manifest_path())?;
    if also.is_empty() {
        progress!(
            "build-libs: building the manifest's libraries (package c-artifacts, LLVM {llvm})"
        );
    } else {
        let profile = target_dir().join(if release { "release" } else { "debug" });
        progress!(
            "build-libs: building the manifest's libraries (package c-artifacts) and {} with \
             LLVM {llvm}{}",
            also.join(", "),
            crate::first_build_note(&profile)
        );
    }
    let mut command = Command::new(cargo());
    command
        .current_dir(project_root())
        .args(["build", "--quiet", "--package", "c-artifacts"])
        .args(also.iter().flat_map(|p| ["--package", p]))
        .args(release.then_some("--release"))
        .args(["--message-format", "json-render-diagnostics"])
        .args(llvm.cargo_args())
        .stderr(Stdio::inherit());
    let out = command.output().context("running cargo build")?;
    if !out.status.success() {
        bail!("building the C libraries failed (cargo's messages are above)");
    }
    let env = build_script_env(&String::from_utf8_lossy(&out.stdout))?;
    let dir = if release {
        c_libs_dir(llvm).join("release")
    } else {
        c_libs_dir(llvm)
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let var = |kind: &str, lib: &Library| {
        format!(
            "JIT_LINKAGE_{kind}_{}",
            lib.name.to_uppercase().replace('-', "_")
        )
    };
    let mut all = Vec::new();
    for lib in manifest.libraries {
        let copy = |kind: &str| -> anyhow::Result<Option<PathBuf>> {
            let Some((_, from)) = env.iter().find(|(k, _)| *k == var(kind, &lib)) else {
                return Ok(None);
            };
            let from = Path::new(from);
            let to = dir.join(from.file_name().unwrap_or_default());
            place(from, &to)?;
            Ok(Some(to))
        };
        let (Some(static_lib), Some(shared_lib)) = (copy("STATIC_LIB")?, copy("SHARED_LIB")?)
        else {
            bail!(
                "the c-artifacts build did not report the files of library `{}`",
                lib.name
            );
        };
        let bitcode = copy("BITCODE")?;
        all.push(Built {
            lib,
            static_lib,
            shared_lib,
            bitcode,
        });
    }
    Ok(all)
}

/// The `rustc-env` pairs of c-artifacts' build script, from cargo's JSON messages.
fn build_script_env(messages: &str) -> anyhow::Result<Vec<(String, String)>> {
    for line in messages.lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let is_ours = message["reason"] == "build-script-executed"
            && message["package_id"]
                .as_str()
                .is_some_and(|id| id.contains("/c-artifacts#"));
        if !is_ours {
            continue;
        }
        let pairs = message["env"].as_array().cloned().unwrap_or_default();
        return Ok(pairs
            .iter()
            .filter_map(|pair| {
                Some((
                    pair.get(0)?.as_str()?.to_owned(),
                    pair.get(1)?.as_str()?.to_owned(),
                ))
            })
            .collect());
    }
    bail!("cargo did not report the build script of c-artifacts")
}

/// Copies `from` to `to` through a rename, so a running process that maps the old file keeps
/// a valid mapping.
pub(crate) fn place(from: &Path, to: &Path) -> anyhow::Result<()> {
    let mut tmp = to.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::copy(from, &tmp).with_context(|| format!("copying {}", from.display()))?;
    std::fs::rename(&tmp, to).with_context(|| format!("writing {}", to.display()))?;
    Ok(())
}
