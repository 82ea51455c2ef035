//! `cargo xtask verify-symbols`: a thin front over the verify-symbols library.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use verify_symbols::{Report, render_json, render_text, verify_all};
use xshell::Shell;

use crate::build_libs;
use crate::demo;
use crate::flags::{Variant, VerifySymbols};

impl VerifySymbols {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<ExitCode> {
        // Each binary with its symbols: given with --symbol, else what its build recorded in it
        // (each against the library meant to provide it); with no --binary, the demos and the
        // manifest's libraries.
        let given = (!self.symbols.is_empty()).then(|| self.symbols.clone());
        let checks: Vec<(PathBuf, Option<Vec<String>>)> = if self.binaries.is_empty() {
            default_binaries(sh)?
                .into_iter()
                .map(|(binary, own)| (binary, given.clone().or(own)))
                .collect()
        } else {
            self.binaries
                .iter()
                .map(|binary| (binary.clone(), given.clone()))
                .collect()
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
/// C libraries (`None`: the symbols their build recorded in them), built first.
fn default_binaries(sh: &Shell) -> anyhow::Result<Vec<(PathBuf, Option<Vec<String>>)>> {
    let mut binaries: Vec<(PathBuf, Option<Vec<String>>)> =
        build_libs::build(crate::llvm::Llvm::DEFAULT)?
            .into_iter()
            .map(|b| (b.shared_lib, Some(b.lib.symbols)))
            .collect();
    let linked: Vec<Variant> = Variant::ALL
        .into_iter()
        .filter(|v| v.links_c_library())
        .collect();
    demo::build(sh, &linked, crate::llvm::Llvm::DEFAULT)?;
    binaries.extend(linked.into_iter().map(|v| (v.binary(), None)));
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
