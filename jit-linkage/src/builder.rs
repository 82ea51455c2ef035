//! The build-script front: compile, plan, write, print.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::compile::{CompileOptions, DEFAULT_LLVM, compile, compile_bitcode};
use crate::directive::{Directive, emit};
use crate::manifest::Manifest;
use crate::plan::{LinkPlan, Linkage, PlanRequest, artifact_dir, plan};
use crate::target::Platform;
use crate::{Error, Result};

/// The suffix of the file, next to a package's binaries, that lists the symbols they must
/// export: `target/debug/<package>.jit-symbols`.
pub const SYMBOLS_SUFFIX: &str = ".jit-symbols";

/// The symbols [`Build`] recorded for `binary` (read from `<binary>.jit-symbols` next to it):
/// what the binary must export for its JIT code.
pub fn recorded_symbols(binary: &Path) -> Result<Vec<String>> {
    let mut path = binary.as_os_str().to_owned();
    path.push(SYMBOLS_SUFFIX);
    let path = PathBuf::from(path);
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
        path,
        action: "read the symbol list",
        source,
    })?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

/// Builds the manifest's C libraries and prints the link directives for the binary whose
/// `build.rs` calls it. Setters take `&mut self`, so it works chained and in loops.
#[derive(Debug, Clone, Default)]
pub struct Build {
    manifest: Option<PathBuf>,
    selections: Vec<(String, Linkage)>,
    export_dynamic: bool,
    runtime_dir: Option<PathBuf>,
    bitcode: Vec<String>,
    llvm_version: Option<u32>,
}

impl Build {
    /// A build with nothing selected.
    pub fn new() -> Build {
        Build::default()
    }

    /// The manifest to read (relative paths are relative to the package, the build script's
    /// working directory).
    pub fn manifest(&mut self, path: impl AsRef<Path>) -> &mut Build {
        self.manifest = Some(path.as_ref().to_path_buf());
        self
    }

    /// Link the manifest library `name` statically: whole archive, its symbols exported.
    pub fn link_static(&mut self, name: impl Into<String>) -> &mut Build {
        self.selections.push((name.into(), Linkage::Static));
        self
    }

    /// Link the manifest library `name` dynamically: kept in `DT_NEEDED`, found via `$ORIGIN`.
    pub fn link_dynamic(&mut self, name: impl Into<String>) -> &mut Build {
        self.selections.push((name.into(), Linkage::Dynamic));
        self
    }

    /// Also compile the manifest library `name` to LLVM bitcode (clang-N, llvm-link-N of the
    /// JIT's LLVM version: see [`Build::llvm_version`]) in
    /// `OUT_DIR`, and set `JIT_LINKAGE_BITCODE_<NAME>` (upper case, `-` as `_`) to its path for
    /// the package's code: `include_bytes!(env!("JIT_LINKAGE_BITCODE_HELPERS"))`.
    pub fn bitcode(&mut self, name: impl Into<String>) -> &mut Build {
        self.bitcode.push(name.into());
        self
    }

    /// The LLVM version bitcode is compiled for. By default the version of the jit-core the
    /// package depends on (jit-core tells its dependents' build scripts through
    /// `DEP_JIT_CORE_LLVM_VERSION`), else [`DEFAULT_LLVM`].
    pub fn llvm_version(&mut self, version: u32) -> &mut Build {
        self.llvm_version = Some(version);
        self
    }

    /// Export every symbol of the binary (`--export-dynamic`) instead of exactly the manifest's.
    /// Off by default: it makes `.dynsym` some twenty times larger.
    pub fn export_dynamic(&mut self, yes: bool) -> &mut Build {
        self.export_dynamic = yes;
        self
    }

    /// The directory the binary will be in, where shared libraries are copied so the `$ORIGIN`
    /// RUNPATH finds them. Default: the profile directory (`target/debug`), found from `OUT_DIR`.
    pub fn runtime_dir(&mut self, dir: impl AsRef<Path>) -> &mut Build {
        self.runtime_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Compiles, writes the generated files, copies the shared libraries next to the binary and
    /// prints the directives. Returns the plan that was printed.
    pub fn try_emit(&self) -> Result<LinkPlan> {
        let manifest_path = self.manifest.as_ref().ok_or_else(|| {
            Error::Usage("jit_linkage::Build: call .manifest(PATH) before .emit()".into())
        })?;
        let out_dir = PathBuf::from(cargo_env("OUT_DIR")?);
        let target = cargo_env("TARGET")?.to_string_lossy().into_owned();
        let host = cargo_env("HOST")?.to_string_lossy().into_owned();
        let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
        let crt_static = features.split(',').any(|f| f == "crt-static");
        let platform = Platform::for_target(&target, crt_static)?;

        let manifest = Manifest::load(manifest_path)?;
        let mut selections = Vec::with_capacity(self.selections.len());
        for (name, linkage) in &self.selections {
            selections.push((manifest.library(name)?, *linkage));
        }
        let mut bitcode = Vec::with_capacity(self.bitcode.len());
        for name in &self.bitcode {
            bitcode.push(manifest.library(name)?);
        }

        let artifacts = artifact_dir(&out_dir);
        // Only this run's artifacts may reach the link: a library since renamed or removed
        // from the manifest (say one once called `c`) must not shadow anything.
        match std::fs::remove_dir_all(&artifacts) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::Io {
                    path: artifacts,
                    action: "clear the artifact directory",
                    source: e,
                });
            }
            _ => {}
        }
        let options = CompileOptions {
            target: target.clone(),
            host,
            out_dir: artifacts.clone(),
            opt_level: std::env::var("OPT_LEVEL").unwrap_or_else(|_| "2".into()),
            debug: std::env::var("DEBUG").is_ok_and(|d| d == "true"),
        };
        let mut warnings = Vec::new();
        for (lib, _) in &selections {
            warnings.extend(compile(lib, &options)?.warnings);
        }
        let llvm = self
            .llvm_version
            .or_else(jit_core_llvm)
            .unwrap_or(DEFAULT_LLVM);
        for lib in &bitcode {
            compile_bitcode(lib, &artifacts, llvm)?;
        }

        let dynamic_list_path = out_dir.join("jit-exports.list");
        let plan = plan(&PlanRequest {
            manifest: &manifest,
            selections,
            bitcode,
            platform,
            target: &target,
            artifact_dir: &artifacts,
            dynamic_list_path: &dynamic_list_path,
            export_dynamic: self.export_dynamic,
        });
        if let Some(text) = &plan.dynamic_list {
            std::fs::write(&dynamic_list_path, text).map_err(|source| Error::Io {
                path: dynamic_list_path.clone(),
                action: "write the dynamic list",
                source,
            })?;
        }
        match self.binary_dir(&out_dir) {
            Ok(dir) => {
                for file in &plan.runtime_libraries {
                    place(&artifacts.join(file), &dir.join(file))?;
                }
                record_symbols(&dir, &plan.jit_symbols, &mut warnings);
            }
            Err(e) if !plan.runtime_libraries.is_empty() => return Err(e),
            // Only the symbol record needs the directory, and the link does not need the record.
            Err(_) => {}
        }

        let mut directives = plan.directives.clone();
        directives.extend(warnings.into_iter().map(Directive::Warning));
        emit(&directives);
        Ok(plan)
    }

    /// The directory the binaries will be in: `.runtime_dir()`, or the profile directory.
    fn binary_dir(&self, out_dir: &Path) -> Result<PathBuf> {
        match &self.runtime_dir {
            Some(dir) => Ok(dir.clone()),
            None => profile_dir(out_dir),
        }
    }

    /// [`Build::try_emit`] for build scripts: on error, stops the build with a readable message.
    pub fn emit(&self) -> LinkPlan {
        match self.try_emit() {
            Ok(plan) => plan,
            Err(e) => panic!("\n\njit-linkage: {e}\n\n"),
        }
    }
}

/// Writes `<binary dir>/<package>.jit-symbols`, the symbols this package's binaries must
/// export, one per line, for `verify-symbols` to check without repeating them by hand.
fn record_symbols(dir: &Path, symbols: &[String], warnings: &mut Vec<String>) {
    let package = std::env::var("CARGO_PKG_NAME").unwrap_or_default();
    let path = dir.join(format!("{package}{SYMBOLS_SUFFIX}"));
    let mut text =
        String::from("# Written by jit-linkage: symbols JIT code needs from this binary.\n");
    for symbol in symbols {
        text.push_str(symbol);
        text.push('\n');
    }
    if let Err(e) = std::fs::write(&path, text) {
        warnings.push(format!("could not write {}: {e}", path.display()));
    }
}

fn cargo_env(var: &str) -> Result<OsString> {
    std::env::var_os(var).ok_or_else(|| {
        Error::Usage(format!(
            "environment variable {var} is not set: jit_linkage::Build runs inside a build \
             script (build.rs), where cargo sets it"
        ))
    })
}

/// `target/<profile>` from `target/<profile>/build/<pkg>-<hash>/out`.
fn profile_dir(out_dir: &Path) -> Result<PathBuf> {
    let build = out_dir.ancestors().nth(2);
    match (build, out_dir.ancestors().nth(3)) {
        (Some(build), Some(profile)) if build.file_name() == Some("build".as_ref()) => {
            Ok(profile.to_path_buf())
        }
        _ => Err(Error::Usage(format!(
            "cannot find the binary's directory from OUT_DIR={}; tell the build where the binary \
             will be with .runtime_dir(DIR)",
            out_dir.display()
        ))),
    }
}

/// Copies `from` to `to` through a rename, so a process that has the old file mapped keeps a
/// valid mapping.
fn place(from: &Path, to: &Path) -> Result<()> {
    let tmp = to.with_extension("so.tmp");
    let io = |path: &Path, action| {
        let path = path.to_path_buf();
        move |source| Error::Io {
            path,
            action,
            source,
        }
    };
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir, "create the runtime directory"))?;
    }
    std::fs::copy(from, &tmp).map_err(io(&tmp, "copy the shared library to"))?;
    std::fs::rename(&tmp, to).map_err(io(to, "move the shared library to"))?;
    Ok(())
}

/// The LLVM version of the jit-core this package depends on directly, if any.
fn jit_core_llvm() -> Option<u32> {
    std::env::var("DEP_JIT_CORE_LLVM_VERSION")
        .ok()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_dir_is_found_from_out_dir() {
        let out = Path::new("/w/target/debug/build/demo-0123/out");
        assert_eq!(profile_dir(out).unwrap(), Path::new("/w/target/debug"));
        let err = profile_dir(Path::new("/tmp/out")).unwrap_err().to_string();
        assert!(err.contains(".runtime_dir"), "{err}");
    }

    #[test]
    fn emit_without_a_manifest_says_what_to_call() {
        let err = Build::new()
            .link_static("x")
            .try_emit()
            .unwrap_err()
            .to_string();
        assert!(err.contains(".manifest(PATH)"), "{err}");
    }
}
