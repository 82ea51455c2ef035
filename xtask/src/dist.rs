//! `cargo xtask dist`: the demos shipped into a relocatable bin/ + lib/ layout.

use xshell::{Shell, cmd};

use crate::flags::{Dist, Variant};
use crate::{cargo, progress, target_dir};

impl Dist {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let llvm = self.llvm;
        crate::deps::system_packages(sh, llvm, false)?;
        let cargo = cargo();
        let version = llvm.cargo_args();
        let variants: Vec<Variant> = Variant::ALL
            .into_iter()
            .filter(|v| v.links_c_library())
            .collect();
        let packages = variants.iter().flat_map(|v| ["--package", v.package()]);
        progress!(
            "dist: building the demos (release, LLVM {llvm}){}",
            crate::first_build_note(&target_dir().join("release"))
        );
        cmd!(
            sh,
            "{cargo} build --release --quiet {packages...} {version...}"
        )
        .run()?;
        let binaries: Vec<_> = variants
            .iter()
            .map(|v| v.binary_in(&target_dir().join("release")))
            .collect();
        let out = self.out.unwrap_or_else(|| target_dir().join("dist"));
        let shipped = verify_symbols::dist::dist(&binaries, &out)?;
        for path in shipped.binaries.iter().chain(&shipped.libraries) {
            println!("{}", path.display());
        }
        progress!(
            "dist: {} binaries and {} libraries in {}; each starts from there and finds its symbols",
            shipped.binaries.len(),
            shipped.libraries.len(),
            out.display()
        );
        Ok(())
    }
}
