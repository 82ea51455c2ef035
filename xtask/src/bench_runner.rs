//! `cargo xtask bench`, one command still: the everyday xtask is built without the benchmarks
//! (no plotters, no optimisation, so that the first `cargo xtask demo` starts in seconds), and
//! this builds xtask with its `bench` feature in the release profile and runs the benchmarks
//! there. The benchmarks time some peers in-process (nm's output read into a hash set), which
//! must be optimised as the peer is.

use xshell::Shell;
#[cfg(not(feature = "bench"))]
use xshell::cmd;

use crate::flags::Bench;
#[cfg(not(feature = "bench"))]
use crate::{cargo, progress};

impl Bench {
    /// In the benchmark runner (the build with the `bench` feature): the benchmarks.
    #[cfg(feature = "bench")]
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        self.run_here(sh)
    }

    /// In the everyday xtask: builds the benchmark runner and runs this command there.
    #[cfg(not(feature = "bench"))]
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let cargo = cargo();
        let args = self.args();
        progress!(
            "bench: building the benchmark runner first (xtask with its `bench` feature, \
             release profile; the first build takes a few minutes), then running it"
        );
        cmd!(
            sh,
            "{cargo} run --release --package xtask --features bench -- bench {args...}"
        )
        .run()?;
        Ok(())
    }

    /// This command's arguments, for the benchmark runner.
    #[cfg(not(feature = "bench"))]
    fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = self.targets.iter().map(|t| t.name().to_owned()).collect();
        args.extend(["--rounds".to_owned(), self.rounds.to_string()]);
        args.extend(self.tiny.then(|| "--tiny".to_owned()));
        args.extend(["--llvm".to_owned(), self.llvm.to_string()]);
        args
    }
}
