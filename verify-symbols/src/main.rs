//! `verify-symbols`: proves that ELF binaries give their JIT code every symbol it needs, the way
//! the dynamic loader and `dlsym` would find them, or says why not and what to do.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use verify_symbols::{Report, render_json, render_text, verify, verify_recorded};

/// Proves that each BINARY gives its JIT code every needed symbol: for each symbol, one status
/// (exported, provided-by-dependency, not-exported, hidden, missing) with a hint for each
/// failure, plus where each DT_NEEDED library resolves (LD_LIBRARY_PATH is ignored: the binary
/// must work without it), RUNPATH warnings, PIE, BIND_NOW and RELRO.
///
/// The symbols come from --symbol and --symbols-file, else from the note the binary's build
/// (jit-linkage) linked into it. Exit status: 0 when every symbol is found and every DT_NEEDED
/// resolves, 1 otherwise, 2 on a usage error or a file that cannot be read.
#[derive(Debug, Parser)]
#[command(name = "verify-symbols", version)]
struct Args {
    /// An ELF executable or shared library to check (repeatable).
    #[arg(long = "binary", value_name = "PATH", required = true)]
    binaries: Vec<PathBuf>,
    /// A symbol the JIT code needs (repeatable).
    #[arg(long = "symbol", value_name = "NAME")]
    symbols: Vec<String>,
    /// A file of needed symbols, one per line (`#` starts a comment).
    #[arg(long, value_name = "FILE")]
    symbols_file: Option<PathBuf>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("verify-symbols: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> Result<u8, String> {
    let mut given = args.symbols.clone();
    if let Some(file) = &args.symbols_file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read --symbols-file {}: {e}", file.display()))?;
        given.extend(
            text.lines()
                .map(|l| l.split('#').next().unwrap_or("").trim())
                .filter(|l| !l.is_empty())
                .map(str::to_owned),
        );
    }
    let mut report = Report::default();
    for binary in &args.binaries {
        let verified = if given.is_empty() {
            verify_recorded(binary)
        } else {
            verify(binary, &given)
        };
        report.binaries.push(verified.map_err(|e| e.to_string())?);
    }
    if args.json {
        println!("{}", render_json(&report));
    } else {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        print!("{}", render_text(&report, color));
    }
    Ok(report.exit_code())
}
