//! `cargo xtask build-libs`: the manifest's C libraries into target/c-libs/.

use std::path::PathBuf;

use anyhow::Context;
use jit_linkage::{Artifacts, CompileOptions, Library, Manifest};
use xshell::Shell;

use crate::flags::BuildLibs;
use crate::llvm::Llvm;
use crate::{progress, project_root, target_dir};

/// The one manifest of the workspace's C libraries.
pub(crate) fn manifest_path() -> PathBuf {
    project_root().join("c-libs/libraries.toml")
}

/// Where `build-libs` writes the artifacts: target/c-libs/ for the default LLVM, and
/// target/c-libs/llvm-N/ for another (bitcode is per version).
pub(crate) fn c_libs_dir(llvm: Llvm) -> PathBuf {
    let dir = target_dir().join("c-libs");
    if llvm == Llvm::DEFAULT {
        dir
    } else {
        dir.join(format!("llvm-{llvm}"))
    }
}

impl BuildLibs {
    pub(crate) fn run(self, _sh: &Shell) -> anyhow::Result<()> {
        for (_, artifacts) in build(self.force, self.llvm)? {
            println!("{}", artifacts.static_lib.display());
            println!("{}", artifacts.shared_lib.display());
            if let Some(bitcode) = &artifacts.bitcode {
                println!("{}", bitcode.display());
            }
        }
        Ok(())
    }
}

/// Builds every library that is out of date; returns each manifest library with its artifacts.
pub(crate) fn build(force: bool, llvm: Llvm) -> anyhow::Result<Vec<(Library, Artifacts)>> {
    let manifest = Manifest::load(manifest_path())?;
    let out_dir = c_libs_dir(llvm);
    let options = CompileOptions::host(&out_dir);
    let mut all = Vec::new();
    for lib in &manifest.libraries {
        let artifacts = Artifacts::in_dir(lib, &out_dir);
        if !force && artifacts.is_fresh(lib, &manifest) {
            progress!("build-libs: {} is up to date", lib.name);
        } else {
            progress!("build-libs: compiling {}", lib.name);
            let compiled = jit_linkage::compile(lib, &options)
                .with_context(|| format!("building the C library `{}`", lib.name))?;
            for warning in compiled.warnings {
                eprintln!("{warning}");
            }
            if lib.bitcode {
                jit_linkage::compile_bitcode(lib, &out_dir, llvm.major())
                    .with_context(|| format!("building the bitcode of `{}`", lib.name))?;
            }
        }
        all.push((lib.clone(), artifacts));
    }
    Ok(all)
}
