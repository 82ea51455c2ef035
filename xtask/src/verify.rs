//! `cargo xtask verify-symbols`: the verify-symbols command, plus the demos as default binaries.

use std::path::PathBuf;
use std::process::ExitCode;

use verify_symbols::verify_all;
use xshell::Shell;

use crate::build_libs;
use crate::demo;
use crate::flags::{Variant, VerifySymbols};

impl VerifySymbols {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<ExitCode> {
        if !self.binaries.is_empty() {
            // Exactly the standalone command.
            let mut args: Vec<std::ffi::OsString> = vec!["verify-symbols".into()];
            for binary in &self.binaries {
                args.extend(["--binary".into(), binary.clone().into_os_string()]);
            }
            for symbol in &self.symbols {
                args.extend(["--symbol".into(), symbol.into()]);
            }
            if let Some(file) = &self.symbols_file {
                args.extend(["--symbols-file".into(), file.clone().into_os_string()]);
            }
            args.extend(self.explain.then(|| "--explain".into()));
            args.extend(self.json.then(|| "--json".into()));
            return Ok(verify_symbols::cli::main(args));
        }
        // The demos and the manifest's libraries: each demo against what its build recorded
        // (each symbol from the library meant to provide it), each library its own symbols.
        let given = (!self.symbols.is_empty()).then(|| self.symbols.clone());
        let checks: Vec<(PathBuf, Option<Vec<String>>)> = default_binaries(sh)?
            .into_iter()
            .map(|(binary, own)| (binary, given.clone().or(own)))
            .collect();
        let (report, errors) = verify_all(&checks);
        verify_symbols::cli::print(&report, self.json, false)?;
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
