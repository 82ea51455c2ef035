//! `cargo xtask verify-symbols`: a thin front over the verify-symbols library.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use verify_symbols::{Report, recorded_symbols, render_json, render_text, verify_all};
use xshell::Shell;

use crate::build_libs;
use crate::demo;
use crate::flags::{Variant, VerifySymbols};

impl VerifySymbols {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<ExitCode> {
        // Each binary with its symbols: given on the command line, or each default binary
        // with the symbols it must export.
        let checks: Vec<(PathBuf, Vec<String>)> = if self.binaries.is_empty() {
            default_binaries(sh)?
                .into_iter()
                .map(|(binary, own)| {
                    let symbols = if self.symbols.is_empty() {
                        own
                    } else {
                        self.symbols.clone()
                    };
                    (binary, symbols)
                })
                .collect()
        } else {
            let mut checks = Vec::new();
            for binary in &self.binaries {
                // Without --symbol: what the binary's build recorded in it.
                let symbols = if !self.symbols.is_empty() {
                    self.symbols.clone()
                } else {
                    match recorded_symbols(binary) {
                        Ok(symbols) => symbols,
                        Err(e) => {
                            // A usage error: nothing says what to check.
                            eprintln!("error: {e}");
                            return Ok(ExitCode::from(2));
                        }
                    }
                };
                checks.push((binary.clone(), symbols));
            }
            checks
        };
        let (report, errors) = verify_all(&checks);
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

/// The manifest's shared libraries (each with its own symbols) and the demo binaries that link
/// C libraries (each with the symbols its build script recorded), built first.
fn default_binaries(sh: &Shell) -> anyhow::Result<Vec<(PathBuf, Vec<String>)>> {
    let mut binaries: Vec<(PathBuf, Vec<String>)> = build_libs::build(crate::llvm::Llvm::DEFAULT)?
        .into_iter()
        .map(|b| (b.shared_lib, b.lib.symbols))
        .collect();
    let linked: Vec<Variant> = Variant::ALL
        .into_iter()
        .filter(|v| v.links_c_library())
        .collect();
    demo::build(sh, &linked, crate::llvm::Llvm::DEFAULT)?;
    for variant in linked {
        let binary = variant.binary();
        let symbols = recorded_symbols(&binary)?;
        binaries.push((binary, symbols));
    }
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
