//! `cargo xtask test`: everything CI checks, in the order a developer would run it.

use xshell::{Shell, cmd};

use crate::flags::{Deps, Test, Variant};
use crate::{cargo, demo, progress};

impl Test {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let cargo = cargo();
        progress!("test: [1/6] system packages");
        Deps { check: false }.run(sh)?;
        progress!("test: [2/6] cargo fmt --check");
        cmd!(sh, "{cargo} fmt --all -- --check").run()?;
        progress!("test: [3/6] cargo clippy");
        cmd!(
            sh,
            "{cargo} clippy --workspace --all-targets --quiet -- -D warnings"
        )
        .run()?;
        progress!("test: [4/6] cargo test");
        cmd!(sh, "{cargo} test --workspace").run()?;
        progress!("test: [5/6] cargo doc (warnings are errors)");
        {
            let _deny = sh.push_env("RUSTDOCFLAGS", "-D warnings");
            cmd!(sh, "{cargo} doc --workspace --no-deps --quiet").run()?;
        }
        progress!("test: [6/6] demos");
        demo::run_variants(sh, &Variant::ALL)?;
        progress!("test: all checks passed");
        Ok(())
    }
}
