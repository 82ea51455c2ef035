//! The `verify-symbols` command (also run as `cargo verify-symbols`).

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::{Report, check, render_explain, render_text, write_json};

/// Proves that each BINARY gives its JIT code every needed symbol, as glibc's dynamic loader and
/// `dlsym` would find it: for each symbol one status (exported, provided-by-dependency,
/// not-exported, hidden, missing, wrong-provider) with a hint for each failure; where each
/// DT_NEEDED library resolves, by the loader's rules (RPATH, RUNPATH, ld.so.cache, the system
/// search path, glibc-hwcaps; LD_LIBRARY_PATH is ignored: the binary must work without it);
/// RUNPATH warnings, PIE, BIND_NOW and RELRO.
///
/// The symbols come from --symbol and --symbols-file, else from the note the binary's build
/// (jit-linkage) linked into it, which also names the library meant to provide each; with none
/// of these it is a usage error.
///
/// Exit status: 0 when every symbol is found and the binary can start (every DT_NEEDED, its
/// libraries' too, resolves, and the loader stops at none of them); 1 otherwise; 2 on a usage
/// error, a file that cannot be read (only regular files are opened: a FIFO, a device or a
/// directory is refused at once) or one that changed while it was read.
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
    /// Also print, per DT_NEEDED, each place the loader tries, in order, and why it was skipped.
    #[arg(long)]
    explain: bool,
    /// Print one JSON object (`"schema": 1`) instead of tables.
    #[arg(long)]
    json: bool,
}

/// Runs the command with `args` (the program name first). `cargo verify-symbols ARGS` runs
/// `cargo-verify-symbols verify-symbols ARGS`: the subcommand's own name is skipped.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    ExitCode::from(exit_code(args))
}

/// [`main`], giving the exit status as a number.
pub fn exit_code(args: impl IntoIterator<Item = OsString>) -> u8 {
    let mut args: Vec<OsString> = args.into_iter().collect();
    if args.get(1).is_some_and(|a| a == "verify-symbols") {
        args.remove(1);
    }
    let args = match Args::try_parse_from(args) {
        Ok(args) => args,
        Err(e) => {
            // --help and --version are successes; anything else is a usage error (exit 2).
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match run(&args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("verify-symbols: {message}");
            2
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
    let names: Vec<&str> = given.iter().map(String::as_str).collect();
    let mut report = Report::default();
    let mut files = Vec::new();
    for binary in &args.binaries {
        let names = (!names.is_empty()).then_some(names.as_slice());
        let checked = check(binary, names).map_err(|e| e.to_string())?;
        report.binaries.push(checked.report);
        files.push(checked.files);
    }
    // The process ends once the report is printed: the kernel frees the files' memory at
    // once, where dropping it would unmap each library's one by one.
    std::mem::forget(files);
    match print(&report, args.json, args.explain) {
        // A reader that left early (`verify-symbols ... | head`) does not change the answer.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write the report to stdout: {e}"))
        }
        _ => Ok(report.exit_code()),
    }
}

/// Prints a report to stdout: JSON, or tables coloured when stdout is a terminal (and NO_COLOR
/// is unset), then, with `explain`, where the loader looks. A write error (a full disk, a
/// closed pipe) is returned, so that the output is never silently cut short.
pub fn print(report: &Report, json: bool, explain: bool) -> std::io::Result<()> {
    use std::io::Write as _;

    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    if json {
        write_json(report, &mut out)?;
        out.write_all(b"\n")?;
    } else {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        out.write_all(render_text(report, color).as_bytes())?;
        if explain {
            out.write_all(render_explain(report).as_bytes())?;
        }
    }
    out.flush()
}
