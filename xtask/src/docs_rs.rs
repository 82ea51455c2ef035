//! The published crates' docs, built as docs.rs builds them: on a machine without LLVM.
//!
//! docs.rs runs `cargo doc` with `DOCS_RS=1`, the features of the crate's
//! `[package.metadata.docs.rs]` and no LLVM installed. llvm-sys then finds no llvm-config and
//! gates its missing-LLVM error on `not(doc)`; orc-jit's build script lets `DOCS_RS` through.
//! Here LLVM is hidden: `PATH` is a directory of links to every program on `PATH` except
//! `llvm-config*`, every `LLVM_SYS_<line>_PREFIX` points nowhere (cargo's `[env]` would set
//! them otherwise), and the build has its own target directory (llvm-sys's build script gives
//! another answer here, which would rebuild it in the everyday one). The crates and their
//! features are read from the manifests, so this checks the metadata docs.rs will read.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::llvm::Llvm;
use crate::{cargo, progress, target_dir};

/// A published crate and the docs.rs settings of its manifest.
struct Published {
    name: String,
    no_default_features: bool,
    features: Vec<String>,
}

/// Builds every published crate's docs with LLVM hidden; fails if one fails, warns, or if
/// llvm-sys found an LLVM after all.
pub(crate) fn check(sh: &Shell) -> anyhow::Result<()> {
    let cargo = cargo();
    let dir = target_dir().join("docs-rs");
    let path = path_without_llvm_config(&dir.join("bin"))?;
    let target = dir.join("target");
    let mut env = vec![
        ("DOCS_RS".to_owned(), "1".to_owned()),
        ("PATH".to_owned(), path.display().to_string()),
        (
            "RUSTDOCFLAGS".to_owned(),
            "-D warnings --cfg docsrs".to_owned(),
        ),
        ("CARGO_TARGET_DIR".to_owned(), target.display().to_string()),
    ];
    for llvm in Llvm::ALL {
        env.push((
            format!("LLVM_SYS_{}_PREFIX", llvm.sys_line()),
            dir.join("no-llvm-here").display().to_string(),
        ));
    }
    let crates = published(sh)?;
    if crates.is_empty() {
        bail!("no workspace package is published: the manifests say `publish = false`");
    }
    for krate in &crates {
        let name = &krate.name;
        let no_default = krate.no_default_features.then_some("--no-default-features");
        let features = (!krate.features.is_empty())
            .then(|| format!("--features={}", krate.features.join(",")));
        progress!(
            "test: docs of {name} as docs.rs builds them (no LLVM) {}",
            krate.features.join(" ")
        );
        let mut command = cmd!(
            sh,
            "{cargo} doc --quiet --no-deps --package {name} {no_default...} {features...}"
        );
        for (var, value) in &env {
            command = command.env(var, value);
        }
        command
            .run()
            .with_context(|| format!("the docs of {name} do not build without LLVM"))?;
        let index = target
            .join("doc")
            .join(name.replace('-', "_"))
            .join("index.html");
        if !index.is_file() {
            bail!("cargo doc of {name} wrote no {}", index.display());
        }
    }
    llvm_was_hidden(&target)
}

/// The workspace's published packages (`publish` not `false`), with their docs.rs metadata.
fn published(sh: &Shell) -> anyhow::Result<Vec<Published>> {
    let cargo = cargo();
    let json = cmd!(sh, "{cargo} metadata --no-deps --format-version 1 --quiet").read()?;
    let metadata: serde_json::Value = serde_json::from_str(&json)?;
    let mut crates = Vec::new();
    for package in metadata["packages"]
        .as_array()
        .context("cargo metadata: no packages")?
    {
        // `null`: any registry; `[]`: `publish = false`.
        if package["publish"].as_array().is_some_and(Vec::is_empty) {
            continue;
        }
        let docs = &package["metadata"]["docs"]["rs"];
        crates.push(Published {
            name: package["name"]
                .as_str()
                .context("a package without a name")?
                .to_owned(),
            no_default_features: docs["no-default-features"].as_bool().unwrap_or(false),
            features: docs["features"]
                .as_array()
                .map(|f| {
                    f.iter()
                        .filter_map(|f| f.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        });
    }
    Ok(crates)
}

/// A directory of links to every program on `PATH` but `llvm-config*` (Debian puts
/// `llvm-config-N` in /usr/bin, beside the C compiler that links the build scripts).
fn path_without_llvm_config(bin: &Path) -> anyhow::Result<PathBuf> {
    let _ = std::fs::remove_dir_all(bin);
    std::fs::create_dir_all(bin).with_context(|| format!("creating {}", bin.display()))?;
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with("llvm-config") {
                continue;
            }
            let link = bin.join(&name);
            // The first on PATH wins, as for the shell.
            if std::fs::symlink_metadata(&link).is_err() {
                std::os::unix::fs::symlink(entry.path(), &link)
                    .with_context(|| format!("linking {}", link.display()))?;
            }
        }
    }
    Ok(bin.to_path_buf())
}

/// llvm-sys's build script must have found no LLVM (its `LLVM_SYS_NOT_FOUND` cfg), or the
/// check above proved nothing.
fn llvm_was_hidden(target: &Path) -> anyhow::Result<()> {
    let build = target.join("debug/build");
    let mut outputs = Vec::new();
    for entry in std::fs::read_dir(&build)
        .with_context(|| format!("reading {}", build.display()))?
        .flatten()
    {
        if entry.file_name().to_string_lossy().starts_with("llvm-sys-")
            && let Ok(text) = std::fs::read_to_string(entry.path().join("output"))
        {
            outputs.push((entry.path(), text));
        }
    }
    if outputs.is_empty() {
        bail!(
            "no output of llvm-sys's build script below {}",
            build.display()
        );
    }
    for (dir, text) in outputs {
        if !text.contains("rustc-cfg=LLVM_SYS_NOT_FOUND") || text.contains("config_path=") {
            bail!(
                "llvm-sys found an LLVM although it was hidden ({}):\n{text}",
                dir.display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// `cargo xtask test`'s docs.rs step, reachable from `cargo test`.
    #[test]
    fn published_docs_build_without_llvm() {
        let sh = xshell::Shell::new().unwrap();
        sh.change_dir(crate::project_root());
        super::check(&sh).unwrap();
    }
}
