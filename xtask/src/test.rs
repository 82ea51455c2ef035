//! `cargo xtask test`: everything CI checks, in the order a developer would run it.

use std::time::Instant;

use xshell::{Shell, cmd};

use crate::flags::{Deps, Test, Variant};
use crate::llvm::{Llvm, LlvmChoice};
use crate::{cargo, demo, progress};

/// Tests that read which LLVM the workspace is built with (the generated-project tests).
pub(crate) const LLVM_ENV: &str = "JIT_TOOLKIT_LLVM";

impl Test {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let cargo = cargo();
        progress!("test: cargo fmt --check");
        cmd!(sh, "{cargo} fmt --all -- --check").run()?;
        match self.llvm {
            LlvmChoice::One(llvm) => everything(sh, llvm)?,
            LlvmChoice::All => {
                // The oldest and the newest get everything; the ones between are built whole
                // and run jit-core's tests and the demos.
                for llvm in Llvm::ALL {
                    let start = Instant::now();
                    if llvm == Llvm::ALL[0] || llvm == Llvm::DEFAULT {
                        everything(sh, llvm)?;
                    } else {
                        core_and_demos(sh, llvm)?;
                    }
                    progress!(
                        "test: LLVM {llvm} passed in {:.0} s",
                        start.elapsed().as_secs_f64()
                    );
                }
            }
        }
        progress!("test: all checks passed");
        Ok(())
    }
}

/// deps, clippy, every test, the docs and the demos, on LLVM `llvm`.
fn everything(sh: &Shell, llvm: Llvm) -> anyhow::Result<()> {
    let cargo = cargo();
    let version = &llvm.cargo_args();
    let _llvm = sh.push_env(LLVM_ENV, llvm.to_string());
    progress!("test: LLVM {llvm}: [1/5] system packages");
    Deps { check: false, llvm }.run(sh)?;
    progress!("test: LLVM {llvm}: [2/5] cargo clippy");
    cmd!(
        sh,
        "{cargo} clippy --workspace --all-targets --quiet {version...} -- -D warnings"
    )
    .run()?;
    progress!("test: LLVM {llvm}: [3/5] cargo test");
    cmd!(sh, "{cargo} test --workspace {version...}").run()?;
    progress!("test: LLVM {llvm}: [4/5] cargo doc (warnings are errors)");
    {
        let _deny = sh.push_env("RUSTDOCFLAGS", "-D warnings");
        cmd!(sh, "{cargo} doc --workspace --no-deps --quiet {version...}").run()?;
    }
    progress!("test: LLVM {llvm}: [5/5] demos");
    demo::run_variants(sh, &Variant::ALL, llvm)
}

/// deps, a build of everything (tests included), jit-core's tests and the demos, on `llvm`.
fn core_and_demos(sh: &Shell, llvm: Llvm) -> anyhow::Result<()> {
    let cargo = cargo();
    let version = &llvm.cargo_args();
    let _llvm = sh.push_env(LLVM_ENV, llvm.to_string());
    progress!("test: LLVM {llvm}: [1/4] system packages");
    Deps { check: false, llvm }.run(sh)?;
    progress!("test: LLVM {llvm}: [2/4] build everything");
    cmd!(
        sh,
        "{cargo} build --workspace --all-targets --quiet {version...}"
    )
    .run()?;
    progress!("test: LLVM {llvm}: [3/4] jit-core's tests");
    cmd!(sh, "{cargo} test --package jit-core {version...}").run()?;
    progress!("test: LLVM {llvm}: [4/4] demos");
    demo::run_variants(sh, &Variant::ALL, llvm)
}
