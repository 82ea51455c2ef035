//! Every command and flag, declared once.

use clap::{Parser, Subcommand, ValueEnum};

/// Developer commands of the Rust/LLVM JIT linkage toolkit.
#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    arg_required_else_help = true
)]
pub(crate) struct Xtask {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check the system packages (LLVM 14 dev files, clang-14...); install them if missing.
    Deps(Deps),
    /// Compile the manifest's C libraries into target/c-libs/ (.a and .so) and print the paths.
    BuildLibs(BuildLibs),
    /// Build and run the demos, one line of result per variant.
    Demo(Demo),
    /// Everything CI checks: deps, fmt, clippy, the tests, the demos.
    Test(Test),
}

/// Checks for the system packages this workspace needs. When some are missing and this runs as
/// root on Debian or Ubuntu, installs them with apt-get (saying what it runs); otherwise prints
/// the command to run and fails.
#[derive(Debug, clap::Args)]
pub(crate) struct Deps {
    /// Only check; never install.
    #[arg(long)]
    pub(crate) check: bool,
}

/// Compiles every library of c-libs/libraries.toml into target/c-libs/ as `lib<static>.a` and
/// `lib<shared>.so`; skips a library whose sources and manifest have not changed.
#[derive(Debug, clap::Args)]
pub(crate) struct BuildLibs {
    /// Rebuild even if the artifacts are up to date.
    #[arg(long)]
    pub(crate) force: bool,
}

/// Builds the demo binaries and runs each variant; exits non-zero if any fails.
#[derive(Debug, clap::Args)]
pub(crate) struct Demo {
    /// The variants to run (default: all).
    #[arg(value_enum)]
    pub(crate) variants: Vec<Variant>,
}

/// A demo variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Variant {
    /// demo-static: the C library linked whole into the binary, its symbols exported.
    Static,
    /// demo-dynamic: the C library as a .so in DT_NEEDED, found through RUNPATH $ORIGIN.
    Dynamic,
}

/// Runs, in order: deps, cargo fmt --check, cargo clippy -D warnings, cargo test, the demos.
#[derive(Debug, clap::Args)]
pub(crate) struct Test {}
