//! Every command and flag, declared once.

use clap::{Parser, Subcommand, ValueEnum};

use crate::llvm::{Llvm, LlvmChoice};

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
    /// Check the system packages (LLVM N dev files, clang-N...), install them if missing, and
    /// fetch LLVM N's ExecutionEngine tests from its Debian source package.
    Deps(Deps),
    /// Compile the manifest's C libraries into target/c-libs/ (.a and .so) and print the paths.
    BuildLibs(BuildLibs),
    /// Build and run the demos, one line of result per variant.
    Demo(Demo),
    /// Write a standalone cargo project from a template (static, dynamic, ipo, mixed).
    ///
    /// The project depends on orc-jit, jit-linkage and verify-symbols by version (this
    /// checkout's), from crates.io, like any other project. To develop against a checkout
    /// instead, pass --toolkit DIR: the project's Cargo.toml then also has a [patch.crates-io]
    /// section building those crates from DIR by path (delete it to go back to crates.io).
    /// Until the crates are published, only a project with --toolkit builds. Its tools:
    /// `cargo install verify-symbols` (or `--path DIR/verify-symbols`) gives `cargo
    /// verify-symbols` and `jit-dist`.
    New(New),
    /// Ship the demos: release binaries in DIR/bin, their shared libraries in DIR/lib.
    Dist(Dist),
    /// Prove that binaries export every symbol their JIT code needs (exit 0 yes, 1 no, 2 unreadable).
    VerifySymbols(VerifySymbols),
    /// Everything CI checks: deps, fmt, clippy, the tests, the demos (shared and static LLVM),
    /// every benchmark once.
    Test(Test),
    /// Every benchmark against its peer, a summary, and target/bench/report.md with plots.
    Bench(Bench),
    /// The benchmark runner's own: verify-symbols' work on PROGRAM and NAMEs, timed inside this
    /// (fresh) process, printed in ms.
    #[cfg(feature = "bench")]
    #[command(name = "bench-verify-once", hide = true)]
    BenchVerifyOnce {
        program: std::path::PathBuf,
        names: Vec<String>,
    },
}

/// Builds the demo binaries that link the C libraries (release profile) and copies them to
/// OUT/bin/, with the shared libraries they find through `$ORIGIN` in OUT/lib/ (their RUNPATH is
/// `$ORIGIN:$ORIGIN/../lib`, so OUT can move anywhere), then checks each shipped binary with
/// verify-symbols. Downstream projects get the same from the `jit-dist` command of the
/// verify-symbols package.
#[derive(Debug, clap::Args)]
pub(crate) struct Dist {
    /// The directory to write bin/ and lib/ into (default: target/dist).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<std::path::PathBuf>,
    /// The LLVM version the demos are built with (14, 15, 16, 19, 22).
    #[arg(long, value_name = "N", default_value_t = Llvm::DEFAULT)]
    pub(crate) llvm: Llvm,
}

/// Checks for the system packages this workspace needs. When some are missing and this runs as
/// root on Debian or Ubuntu, installs them with apt-get (saying what it runs); otherwise prints
/// the command to run and fails. Then makes sure LLVM N's own ExecutionEngine tests, which the
/// conformance suite runs, are in target/llvm-tests/llvm-N/: taken from the Debian source
/// package of the installed llvm-N (its upstream tarball, found in the source index of apt's
/// repositories, checked against the index's SHA-256 and the index against Debian's signed
/// InRelease), with LICENSE.TXT and a record of where they came from (debian-source.txt).
#[derive(Debug, clap::Args)]
pub(crate) struct Deps {
    /// Only check; never install or download.
    #[arg(long)]
    pub(crate) check: bool,
    /// The LLVM version (14, 15, 16, 19, 22).
    #[arg(long, value_name = "N", default_value_t = Llvm::DEFAULT)]
    pub(crate) llvm: Llvm,
}

/// Compiles every library of c-libs/libraries.toml (through the c-artifacts package's build
/// script, so cargo decides what is stale) and copies `lib<static>.a`, `lib<shared>.so` and the
/// bitcode to target/c-libs/.
#[derive(Debug, clap::Args)]
pub(crate) struct BuildLibs {
    /// Rebuild even if cargo finds the artifacts up to date (`cargo clean -p c-artifacts`).
    #[arg(long)]
    pub(crate) force: bool,
    /// The LLVM version whose clang-N writes the bitcode (the default version's artifacts go
    /// to target/c-libs/, another's to target/c-libs/llvm-N/).
    #[arg(long, value_name = "N", default_value_t = Llvm::DEFAULT)]
    pub(crate) llvm: Llvm,
}

/// Builds the demo binaries and runs each variant; exits non-zero if any fails.
///
/// `debug` (not among the default variants) runs demo-static under gdb and perf as a user
/// would, printing what it ran and the key lines of their output: gdb must stop in the
/// JIT-compiled f with the host's frames below it (`--debugger`), and perf must put at least
/// 90% of the samples of `--bench-calls` on call_loop, its JIT function, through the perf map
/// (`--perf`) and the jitdump (`--jitdump`).
#[derive(Debug, clap::Args)]
pub(crate) struct Demo {
    /// The variants to run (default: all but debug).
    #[arg(value_enum)]
    pub(crate) variants: Vec<DemoRun>,
    /// The LLVM version the demos are built with (14, 15, 16, 19, 22).
    #[arg(long, value_name = "N", default_value_t = Llvm::DEFAULT)]
    pub(crate) llvm: Llvm,
}

/// The verify-symbols command (the verify-symbols package's binary, which works on any binary
/// anywhere: `cargo install --path verify-symbols`) run from this checkout. With --binary it is
/// exactly that command; with no --binary it checks the demo binaries (against the symbols their
/// build recorded in them, each from the library meant to provide it) and the manifest's shared
/// libraries (against the manifest's symbols), building them first.
///
/// Exit status: 0 when every symbol is found and every binary can start, 1 otherwise, 2 on a
/// usage error or a file that cannot be read.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifySymbols {
    /// An ELF executable or shared library to check (repeatable).
    #[arg(long = "binary", value_name = "PATH")]
    pub(crate) binaries: Vec<std::path::PathBuf>,
    /// A symbol the JIT code needs (repeatable; default: the symbols the binary's build
    /// recorded in it, jit-linkage's note).
    #[arg(long = "symbol", value_name = "NAME")]
    pub(crate) symbols: Vec<String>,
    /// A file of needed symbols, one per line (with --binary).
    #[arg(long, value_name = "FILE")]
    pub(crate) symbols_file: Option<std::path::PathBuf>,
    /// Also print where the loader looks for each DT_NEEDED (with --binary).
    #[arg(long)]
    pub(crate) explain: bool,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Writes a standalone cargo project at PATH, outside this workspace, from templates/LINKAGE:
/// Cargo.toml depending on this toolkit's crates, a build.rs calling the generator, a C helper
/// and its manifest, module.ll, src/main.rs, a test and a README explaining each link setting.
/// Then: `cd PATH && cargo run`.
/// (`cargo xtask new --help` says how it depends on them: by version, or with --toolkit DIR.)
#[derive(Debug, clap::Args)]
pub(crate) struct New {
    /// Where to write the project (must be empty or absent, unless --force).
    pub(crate) path: std::path::PathBuf,
    /// How the project links its C library.
    #[arg(long, value_enum)]
    pub(crate) linkage: Linkage,
    /// The crate name (default: the last component of PATH).
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Build the toolkit's crates from the checkout DIR (path dependencies through
    /// [patch.crates-io]) instead of the published versions; DIR's crates must have the
    /// version this checkout's templates ask for.
    #[arg(long, value_name = "DIR")]
    pub(crate) toolkit: Option<std::path::PathBuf>,
    /// Write into a non-empty directory, replacing only files `new` wrote there and nobody
    /// changed since (recorded in .jit-toolkit-new.sums); any other file is refused, by name.
    #[arg(long)]
    pub(crate) force: bool,
    /// The LLVM version the project's orc-jit uses (14, 15, 16, 19, 22).
    #[arg(long, value_name = "N", default_value_t = Llvm::DEFAULT)]
    pub(crate) llvm: Llvm,
}

/// A template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Linkage {
    /// The C library linked whole into the binary, its symbols exported.
    Static,
    /// The C library as a .so kept in DT_NEEDED, found through RUNPATH $ORIGIN.
    Dynamic,
    /// The C helpers precompiled to bitcode and inlined into JIT code.
    Ipo,
    /// Two C libraries in one binary: one static, one dynamic.
    Mixed,
}

/// A demo variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Variant {
    /// demo-static: the C library linked whole into the binary, its symbols exported.
    Static,
    /// demo-dynamic: the C library as a .so in DT_NEEDED, found through RUNPATH $ORIGIN.
    Dynamic,
    /// demo-sources: the .a linked into the JIT on demand; no host linkage at all.
    Archive,
    /// demo-sources: the .so loaded by path at run time; no link-time dependency.
    Library,
    /// demo-sources: a Rust `extern "C" fn` of the host called from JIT code.
    HostFunction,
    /// demo-ipo: the forum's f_WRAPPED with its C helper inlined from precompiled bitcode, and
    /// its C++ helpers with global objects.
    Ipo,
}

/// What `cargo xtask demo` can run: a variant, or demo-static under gdb and perf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DemoRun {
    Variant(Variant),
    /// demo-static under gdb (--debugger) and perf (--perf, --jitdump): they see the JIT's code.
    Debug,
}

impl ValueEnum for DemoRun {
    fn value_variants<'a>() -> &'a [Self] {
        const ALL: [DemoRun; 7] = [
            DemoRun::Variant(Variant::Static),
            DemoRun::Variant(Variant::Dynamic),
            DemoRun::Variant(Variant::Archive),
            DemoRun::Variant(Variant::Library),
            DemoRun::Variant(Variant::HostFunction),
            DemoRun::Variant(Variant::Ipo),
            DemoRun::Debug,
        ];
        &ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        match self {
            DemoRun::Variant(variant) => variant.to_possible_value(),
            DemoRun::Debug => Some(clap::builder::PossibleValue::new("debug").help(
                "demo-static under gdb (--debugger) and perf (--perf, --jitdump): they see the \
                 JIT's code",
            )),
        }
    }
}

/// Runs, in order: deps, cargo fmt --check, cargo clippy -D warnings, cargo test, cargo doc
/// (warnings denied), the demos, for one LLVM version. With `--llvm all`: all of it on LLVM 14
/// and 22, and on 15, 16 and 19 a build of everything, orc-jit's tests, the conformance suite
/// (orc-jit against that version's lli), the demos and `demo debug` (gdb and perf).
#[derive(Debug, clap::Args)]
pub(crate) struct Test {
    /// The LLVM version (14, 15, 16, 19, 22) or `all`.
    #[arg(long, value_name = "N|all", default_value_t = LlvmChoice::One(Llvm::DEFAULT))]
    pub(crate) llvm: LlvmChoice,
}

/// Benchmarks, each side by side with its peer in one run (alternating rounds), a summary
/// table, and target/bench/report.md with one SVG plot per benchmark, the machine, medians with
/// min-max spreads and each goal (reported, never asserted: a goal that does not hold is
/// printed, and the command still succeeds):
///
/// - verify-symbols: the release verify-symbols process against `nm -D --defined-only` read
///   into a hash set, on 10, 1,000 and 100,000 names of libLLVM (capped at what it defines) and
///   1,000 of a generated library of 200,000 functions; goal: nm / verify-symbols ≥ 50x at
///   1,000 names;
/// - ipo: 10^8 calls of a C helper inlined into JIT code from bitcode against the same loop
///   by clang-N -O3 (goal ≤ 1.05x), and the plain call;
/// - calls: a call that is not inlined into a C helper through each symbol source (static and
///   dynamic process symbol, `.static_archive`, `.shared_library`, a Rust host function)
///   against an ahead-of-time call through the PLT and a direct one (goal ≤ 1.1x PLT);
/// - startup: each demo's whole process, cold, against `lli-N` on the same module (goal ≤ 0.5x
///   lli), with the breakdown of the demo's time, and the LLVM-statically-linked demo;
/// - compile: one small module and 200 independent ones, in-process against the isolated
///   worker pool; the 200 with the debugger's registration on against off (goal ≤ 1.1x) and
///   with the perf map, and a program's whole run on one module with each;
/// - cache: the object cache, each start a new process: 200 small modules with a cold cache
///   against a warm one, end to end (goal ≥ 5x), a module of over 10,000 lines likewise
///   (goal ≥ 10x), and a cold cache (all misses) against none (goal ≤ 1.05x);
/// - build-loop: a warm `cargo xtask demo` against `cargo build` (no-op) plus running the demos
///   (goal ≤ 1.5x);
/// - llvm-versions: start-up and compile time of each installed LLVM version.
///
/// The benchmarks run in a release build of xtask with its `bench` feature, which this command
/// builds first (the everyday xtask is built without them).
#[derive(Debug, clap::Args)]
pub(crate) struct Bench {
    /// What to benchmark (default: everything).
    #[arg(value_enum)]
    pub(crate) targets: Vec<BenchTarget>,
    /// Timed rounds of each side.
    #[arg(long, default_value_t = 11)]
    pub(crate) rounds: usize,
    /// One round of each benchmark at its smallest size, written to target/bench/tiny/: checks
    /// that every benchmark runs; the numbers mean nothing.
    #[arg(long)]
    pub(crate) tiny: bool,
    /// The LLVM version the JIT side is built with (14, 15, 16, 19, 22).
    #[arg(long, value_name = "N", default_value_t = Llvm::DEFAULT)]
    pub(crate) llvm: Llvm,
}

/// A benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum BenchTarget {
    /// verify-symbols against nm, process against process.
    VerifySymbols,
    /// A C helper inlined into JIT code from bitcode against clang -O3.
    Ipo,
    /// A call into C through each symbol source against AOT calls (PLT, direct).
    Calls,
    /// Cold start of each demo against lli, with a breakdown.
    Startup,
    /// 200 small modules: in-process against the isolated worker pool; the debugger's price.
    Compile,
    /// The object cache: cold against warm starts, and a miss against no cache.
    Cache,
    /// A warm `cargo xtask demo` against `cargo build` plus running the demos.
    BuildLoop,
    /// Start-up and compile time of each installed LLVM version.
    LlvmVersions,
}

impl BenchTarget {
    pub(crate) const ALL: [BenchTarget; 8] = [
        BenchTarget::VerifySymbols,
        BenchTarget::Ipo,
        BenchTarget::Calls,
        BenchTarget::Startup,
        BenchTarget::Compile,
        BenchTarget::Cache,
        BenchTarget::BuildLoop,
        BenchTarget::LlvmVersions,
    ];

    /// The name on the command line and of the plot file.
    pub(crate) fn name(self) -> &'static str {
        match self {
            BenchTarget::VerifySymbols => "verify-symbols",
            BenchTarget::Ipo => "ipo",
            BenchTarget::Calls => "calls",
            BenchTarget::Startup => "startup",
            BenchTarget::Compile => "compile",
            BenchTarget::Cache => "cache",
            BenchTarget::BuildLoop => "build-loop",
            BenchTarget::LlvmVersions => "llvm-versions",
        }
    }
}
