//! `cargo xtask demo`: build the demo binaries, run each variant, one line per variant.

use std::path::PathBuf;
use std::process::Command;

use anyhow::bail;
use xshell::{Shell, cmd};

use verify_symbols::{Report, verify};

use crate::flags::{Demo, Deps, Variant};
use crate::verify::manifest_symbols;
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

    pub(crate) fn binary(self) -> PathBuf {
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

/// Builds the binaries of `variants`.
pub(crate) fn build(sh: &Shell, variants: &[Variant]) -> anyhow::Result<()> {
    let cargo = cargo();
    let mut names: Vec<&str> = variants.iter().map(|v| v.package()).collect();
    names.dedup();
    progress!("demo: building {}", names.join(", "));
    let packages = names.iter().flat_map(|p| ["--package", p]);
    cmd!(sh, "{cargo} build --quiet {packages...}").run()?;
    Ok(())
}

/// Builds the binaries the variants need, verifies their symbols, then runs each and prints
/// its line. A binary that fails verification is not run: its diagnosis is printed instead.
pub(crate) fn run_variants(sh: &Shell, variants: &[Variant]) -> anyhow::Result<()> {
    build(sh, variants)?;
    let symbols = manifest_symbols()?;

    let mut failed = Vec::new();
    for &variant in variants {
        let checked = verify(variant.binary().as_path(), &symbols).map_err(|e| e.to_string());
        let outcome = match checked {
            Ok(report) if report.all_found() => run_one(variant),
            Ok(report) => {
                let report = Report {
                    binaries: vec![report],
                };
                crate::verify::print(&report, false);
                Err(format!(
                    "{} does not export what its JIT code needs (see above)",
                    variant.package()
                ))
            }
            Err(e) => Err(e),
        };
        match outcome {
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
