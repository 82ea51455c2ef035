//! `cargo xtask new`: a standalone project from `templates/<linkage>/`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use xshell::Shell;

use crate::flags::{Linkage, New};
use crate::{progress, project_root};

/// cargo-generate's own file, not part of the generated project.
const TEMPLATE_CONFIG: &str = "cargo-generate.toml";

impl New {
    pub(crate) fn run(self, _sh: &Shell) -> anyhow::Result<()> {
        let name = match &self.name {
            Some(name) => name.clone(),
            None => self
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .context("PATH has no last component to name the crate after; pass --name NAME")?,
        };
        check_crate_name(&name)?;
        let toolkit = self.toolkit.clone().unwrap_or_else(project_root);
        let toolkit = toolkit.canonicalize().with_context(|| {
            format!("the toolkit checkout {} does not exist", toolkit.display())
        })?;
        if !toolkit.join("jit-core/Cargo.toml").is_file() {
            bail!(
                "{} is not a checkout of this toolkit (no jit-core/Cargo.toml); pass --toolkit DIR",
                toolkit.display()
            );
        }
        let target = resolved(&self.path)?;
        for (place, what) in [
            (project_root().canonicalize()?, "this toolkit checkout"),
            (
                toolkit.clone(),
                "the toolkit checkout the project depends on",
            ),
        ] {
            if target.starts_with(&place) {
                bail!(
                    "{} is inside {what} ({}): a project must live outside it; choose a \
                     directory elsewhere",
                    self.path.display(),
                    place.display()
                );
            }
        }
        if let Some(workspace) = other_workspace(&target) {
            bail!(
                "{} holds another cargo workspace or package ({}, not written by `new`), \
                 which the project's files would overwrite; choose a new directory",
                self.path.display(),
                workspace.display()
            );
        }
        if self.path.exists() && !self.force {
            let non_empty = std::fs::read_dir(&self.path)
                .with_context(|| format!("{} is not a directory", self.path.display()))?
                .next()
                .is_some();
            if non_empty {
                bail!(
                    "{} is not empty; choose a new directory, or pass --force to write into it",
                    self.path.display()
                );
            }
        }
        let template = project_root().join("templates").join(self.linkage.dir());
        let values = [
            ("{{project-name}}", name.clone()),
            ("{{crate_name}}", name.replace('-', "_")),
            ("{{toolkit_path}}", toolkit.display().to_string()),
            ("{{llvm_version}}", self.llvm.to_string()),
        ];
        copy_template(&template, &self.path, &values)?;
        // The versions this toolkit was tested with.
        refuse_symlink(&self.path.join("Cargo.lock"))?;
        std::fs::copy(toolkit.join("Cargo.lock"), self.path.join("Cargo.lock"))
            .context("copying Cargo.lock")?;
        progress!(
            "new: wrote {} ({} linkage); next: cd {} && cargo run",
            self.path.display(),
            self.linkage.dir(),
            self.path.display()
        );
        Ok(())
    }
}

impl Linkage {
    fn dir(self) -> &'static str {
        match self {
            Linkage::Static => "static",
            Linkage::Dynamic => "dynamic",
            Linkage::Ipo => "ipo",
            Linkage::Mixed => "mixed",
        }
    }
}

/// Cargo's rules for a package name, with what to do instead.
fn check_crate_name(name: &str) -> anyhow::Result<()> {
    const RESERVED: &[&str] = &[
        "test",
        "core",
        "std",
        "alloc",
        "proc_macro",
        "proc-macro",
        "self",
        "super",
        "crate",
        "Self",
        "build",
        "deps",
        "examples",
        "incremental",
        "fn",
        "mod",
        "use",
        "let",
        "struct",
        "enum",
        "impl",
        "trait",
        "type",
        "match",
        "loop",
        "while",
        "for",
        "if",
        "else",
        "return",
    ];
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !first_ok || !rest_ok {
        bail!(
            "`{name}` is not a valid crate name: start with a letter or `_`, then use letters, \
             digits, `_` and `-` (pass --name NAME to choose one)"
        );
    }
    if RESERVED.contains(&name) {
        bail!(
            "`{name}` is a Rust keyword or a name cargo reserves; pass --name NAME to choose another"
        );
    }
    Ok(())
}

/// `path` made absolute with every existing part's symlinks resolved (the rest may not exist).
fn resolved(path: &Path) -> anyhow::Result<PathBuf> {
    let absolute = std::path::absolute(path)
        .with_context(|| format!("{} cannot be made absolute", path.display()))?;
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        rest.push(
            existing
                .file_name()
                .context("no existing parent directory")?,
        );
        existing = existing.parent().context("no existing parent directory")?;
    }
    let mut out = existing.canonicalize()?;
    out.extend(rest.into_iter().rev());
    Ok(out)
}

/// The manifest of a cargo project in `dir` that `new` did not write, if there is one: another
/// workspace, or a package of someone's (every project `new` writes carries the template's
/// marker line, and only such a project may be written over with --force).
fn other_workspace(dir: &Path) -> Option<PathBuf> {
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).ok()?;
    (!text.contains(TEMPLATE_MARKER)).then_some(manifest)
}

/// The line every template's Cargo.toml has, by which `new --force` knows its own projects.
const TEMPLATE_MARKER: &str =
    "# A project of its own, even when generated inside another workspace's directory.";

/// Copies `from` into `to`, replacing the placeholders in every file. Writes only the files the
/// template has, and never through a symbolic link.
fn copy_template(from: &Path, to: &Path, values: &[(&str, String)]) -> anyhow::Result<()> {
    refuse_symlink(to)?;
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let entries = std::fs::read_dir(from)
        .with_context(|| format!("reading the template {}", from.display()))?;
    for entry in entries {
        let entry = entry?;
        let source: PathBuf = entry.path();
        let target = to.join(entry.file_name());
        if entry.file_name() == TEMPLATE_CONFIG {
            continue;
        }
        if entry.file_type()?.is_dir() {
            copy_template(&source, &target, values)?;
            continue;
        }
        let mut text = std::fs::read_to_string(&source)
            .with_context(|| format!("reading {}", source.display()))?;
        for (placeholder, value) in values {
            text = text.replace(placeholder, value);
        }
        refuse_symlink(&target)?;
        std::fs::write(&target, text).with_context(|| format!("writing {}", target.display()))?;
    }
    Ok(())
}

fn refuse_symlink(path: &Path) -> anyhow::Result<()> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        bail!(
            "{} is a symbolic link: `new` does not write through links; remove it or choose \
             another directory",
            path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_crate_name;

    #[test]
    fn crate_names() {
        for good in ["my-jit", "jit_app", "a1", "_x"] {
            check_crate_name(good).unwrap();
        }
        for bad in ["", "1jit", "my jit", "jit/app", "test", "fn", "über"] {
            let err = check_crate_name(bad).unwrap_err().to_string();
            assert!(err.contains("--name"), "{bad}: {err}");
        }
    }
}
