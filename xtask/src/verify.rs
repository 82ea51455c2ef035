//! `cargo xtask verify-symbols`: a thin front over the verify-symbols library.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use jit_linkage::Manifest;
use verify_symbols::{Report, render_json, render_text, verify_all};
use xshell::Shell;

use crate::build_libs::{self, manifest_path};
use crate::demo;
use crate::flags::{Variant, VerifySymbols};

/// Every symbol the manifest says JIT code needs.
pub(crate) fn manifest_symbols() -> anyhow::Result<Vec<String>> {
    let manifest = Manifest::load(manifest_path())?;
    Ok(manifest
        .libraries
        .into_iter()
        .flat_map(|l| l.symbols)
        .collect())
}

impl VerifySymbols {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<ExitCode> {
        let symbols = if self.symbols.is_empty() {
            manifest_symbols()?
        } else {
            self.symbols
        };
        let binaries = if self.binaries.is_empty() {
            default_binaries(sh)?
        } else {
            self.binaries
        };
        let (report, errors) = verify_all(&binaries, &symbols);
        print(&report, self.json);
        for error in &errors {
            eprintln!("error: {error}");
        }
        Ok(ExitCode::from(if errors.is_empty() {
            report.exit_code()
        } else {
            2
        }))
    }
}

/// The manifest's shared libraries and the demo binaries, built first.
fn default_binaries(sh: &Shell) -> anyhow::Result<Vec<PathBuf>> {
    let mut binaries: Vec<PathBuf> = build_libs::build(false)?
        .into_iter()
        .map(|a| a.shared_lib)
        .collect();
    let linked: Vec<Variant> = Variant::ALL
        .into_iter()
        .filter(|v| v.links_c_library())
        .collect();
    demo::build(sh, &linked)?;
    binaries.extend(linked.iter().map(|v| v.binary()));
    Ok(binaries)
}

/// Prints a report: JSON, or tables coloured when stdout is a terminal (and NO_COLOR is unset).
pub(crate) fn print(report: &Report, json: bool) {
    if json {
        println!("{}", render_json(report));
    } else {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        print!("{}", render_text(report, color));
    }
}
