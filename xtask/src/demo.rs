//! `cargo xtask demo`: build the demo binaries, run each variant, one line per variant.

use std::path::PathBuf;
use std::process::Command;

use anyhow::bail;
use xshell::{Shell, cmd};

use crate::flags::{Demo, Deps, Variant};
use crate::{cargo, progress, target_dir};

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Static => "static",
            Variant::Dynamic => "dynamic",
        }
    }

    fn package(self) -> &'static str {
        match self {
            Variant::Static => "demo-static",
            Variant::Dynamic => "demo-dynamic",
        }
    }

    fn binary(self) -> PathBuf {
        target_dir().join("debug").join(self.package())
    }

    pub(crate) const ALL: [Variant; 2] = [Variant::Static, Variant::Dynamic];
}

impl Demo {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        Deps { check: false }.run(sh)?;
        let variants = if self.variants.is_empty() {
            Variant::ALL.to_vec()
        } else {
            self.variants
        };
        run_variants(sh, &variants)
    }
}

/// Builds the binaries the variants need, then runs each and prints its line.
pub(crate) fn run_variants(sh: &Shell, variants: &[Variant]) -> anyhow::Result<()> {
    let cargo = cargo();
    let mut names: Vec<&str> = variants.iter().map(|v| v.package()).collect();
    names.dedup();
    progress!("demo: building {}", names.join(", "));
    let packages = names.iter().flat_map(|p| ["--package", p]);
    cmd!(sh, "{cargo} build --quiet {packages...}").run()?;

    let mut failed = Vec::new();
    for &variant in variants {
        match run_one(variant) {
            Ok(result) => println!("{:<8} ok    {result}", variant.name()),
            Err(err) => {
                println!(
                    "{:<8} FAIL  {}",
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

/// Runs one demo binary; Ok(its output line) when it printed `f() = 42`.
fn run_one(variant: Variant) -> Result<String, String> {
    let binary = variant.binary();
    let out = Command::new(&binary)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    if out.status.success() && stdout == "f() = 42" {
        Ok(stdout)
    } else {
        Err(format!(
            "{} exited with {}: {}{}",
            binary.display(),
            out.status,
            if stdout.is_empty() { "" } else { "printed " },
            [stdout, stderr].join("\n").trim()
        ))
    }
}
