//! `jit-dist`: ships binaries with the shared libraries they find through `$ORIGIN`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Copies each BINARY to OUT/bin/ and the shared libraries it finds through an `$ORIGIN`
/// RUNPATH entry (the ones jit-linkage's link_dynamic put next to it) to OUT/lib/, then checks
/// each shipped binary with verify-symbols: it must start from there and find every symbol its
/// build recorded. Binaries linked by jit-linkage have RUNPATH `$ORIGIN:$ORIGIN/../lib`, so
/// OUT can be moved anywhere. A binary copied alone, without its libraries, does not start.
///
/// Exit status: 0 when shipped and verified, 1 otherwise.
#[derive(Debug, Parser)]
#[command(name = "jit-dist", version)]
struct Args {
    /// The directory to write bin/ and lib/ into.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The binaries to ship (e.g. target/release/my-app).
    #[arg(required = true, value_name = "BINARY")]
    binaries: Vec<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match verify_symbols::dist::dist(&args.binaries, &args.out) {
        Ok(shipped) => {
            for path in shipped.binaries.iter().chain(&shipped.libraries) {
                println!("{}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("jit-dist: {e}");
            ExitCode::FAILURE
        }
    }
}
