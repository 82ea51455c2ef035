//! The build-script front: compile, plan, write, print.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use jit_exports::note::{Linkage, LlvmLinkage};
use jit_exports::target::Target;

use crate::artifact::{Compiled, Needs, find_library, io_error};
use crate::directive::{Directive, emit};
use crate::manifest::{Library, Manifest, Origin};
use crate::note::note_object;
use crate::plan::{Built, Plan, Request, plan};
use crate::prebuilt::check_placed_name;
use crate::runtime_dir::{cargo_dirs, command_line_target_dir, disagreement, profile_dir};
use crate::symbols::{Provided, clashes, prove};
use crate::{Error, Result, compile, prebuilt, system_library};

/// The LLVM version bitcode is compiled for when neither [`Build::llvm_version`] nor a orc-jit
/// dependency says otherwise: orc-jit's default.
const DEFAULT_LLVM: u32 = 22;

/// Builds the manifest's C libraries and prints the link directives for the binaries of the
/// package whose `build.rs` calls it. Setters take `&mut self`, so it works chained and in loops.
#[derive(Debug, Clone, Default)]
pub struct Build {
    manifest: Option<PathBuf>,
    links: Vec<(String, Linkage)>,
    artifacts: Vec<String>,
    bitcode: Vec<String>,
    export_dynamic: bool,
    runtime_dir: Option<PathBuf>,
    llvm_version: Option<u32>,
    debugger: Option<bool>,
    llvm_static: Option<bool>,
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
        self.links.push((name.into(), Linkage::Static));
        self
    }

    /// Link the manifest library `name` dynamically: kept in `DT_NEEDED`, found at run time in
    /// the binary's directory or in `../lib` from it (RUNPATH `$ORIGIN:$ORIGIN/../lib`).
    pub fn link_dynamic(&mut self, name: impl Into<String>) -> &mut Build {
        self.links.push((name.into(), Linkage::Dynamic));
        self
    }

    /// Also build the manifest library `name` as files for code that loads them at run time
    /// (orc-jit's `.static_archive()` and `.shared_library()`), linking nothing: the package's
    /// code finds them through `env!("JIT_LINKAGE_STATIC_LIB_<NAME>")` and
    /// `env!("JIT_LINKAGE_SHARED_LIB_<NAME>")` (upper case, `-` as `_`).
    pub fn artifacts(&mut self, name: impl Into<String>) -> &mut Build {
        self.artifacts.push(name.into());
        self
    }

    /// Also compile the manifest library `name` to LLVM bitcode, through cc with clang-N (of
    /// the JIT's LLVM: see [`Build::llvm_version`]) and `-emit-llvm`, so `CFLAGS` and the include
    /// directories apply as for the native build; the package's code finds it through
    /// `env!("JIT_LINKAGE_BITCODE_<NAME>")`.
    pub fn bitcode(&mut self, name: impl Into<String>) -> &mut Build {
        self.bitcode.push(name.into());
        self
    }

    /// The LLVM version bitcode is compiled for. By default the version of the orc-jit the
    /// package depends on (orc-jit tells its dependents' build scripts through
    /// `DEP_ORC_JIT_LLVM_VERSION`), else 22.
    pub fn llvm_version(&mut self, version: u32) -> &mut Build {
        self.llvm_version = Some(version);
        self
    }

    /// Whether a debugger is to see the binaries' JIT code (orc-jit's `JitBuilder::debugger`):
    /// with LLVM linked statically, the build then exports exactly the symbols gdb and LLVM's
    /// registrar look up (see `debugger` of the manifest's `[jit]` table, on [`Manifest`],
    /// which this overrides).
    pub fn debugger(&mut self, yes: bool) -> &mut Build {
        self.debugger = Some(yes);
        self
    }

    /// Whether LLVM is linked into the binaries statically. By default what the orc-jit the
    /// package depends on directly says (`DEP_ORC_JIT_LLVM_STATIC`, from its `llvm<N>-static`
    /// features); set it when orc-jit comes through another crate of the package's.
    pub fn llvm_static(&mut self, yes: bool) -> &mut Build {
        self.llvm_static = Some(yes);
        self
    }

    /// Export every symbol of the binary (`--export-dynamic`) instead of exactly the manifest's.
    /// Off by default: it makes `.dynsym` some twenty times larger.
    pub fn export_dynamic(&mut self, yes: bool) -> &mut Build {
        self.export_dynamic = yes;
        self
    }

    /// The directory the binaries will be in, where shared libraries are copied so that the
    /// `$ORIGIN` RUNPATH finds them. By default the profile directory of cargo's target
    /// directory (`target/debug`, `target/<triple>/release`...), found from `OUT_DIR` and from
    /// `cargo metadata`, which knows `CARGO_TARGET_DIR`, `CARGO_BUILD_BUILD_DIR` and the config
    /// files. Set it when the target directory is given on the command line (`--target-dir`)
    /// and the build directory is set apart: neither the environment nor `cargo metadata` shows
    /// a command-line target directory to a build script (the build warns when it finds that
    /// case on the command line of the cargo running it).
    pub fn runtime_dir(&mut self, dir: impl AsRef<Path>) -> &mut Build {
        self.runtime_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Compiles, writes the generated files, copies the shared libraries next to the binaries
    /// and prints the directives.
    pub fn try_emit(&self) -> Result<()> {
        let manifest_path = self.manifest.as_ref().ok_or(Error::NoManifest)?;
        let out_dir = PathBuf::from(cargo_env("OUT_DIR")?);
        let target = build_target()?;
        let manifest = Manifest::load(manifest_path)?;
        let llvm = self
            .llvm_version
            .or_else(|| orc_jit_metadata("DEP_ORC_JIT_LLVM_VERSION"))
            .unwrap_or(DEFAULT_LLVM);
        let debugger = self.debugger.unwrap_or(manifest.debugger).then(|| {
            match self
                .llvm_static
                .or_else(|| orc_jit_metadata::<u8>("DEP_ORC_JIT_LLVM_STATIC").map(|v| v == 1))
            {
                Some(true) => LlvmLinkage::Static,
                Some(false) => LlvmLinkage::Shared,
                None => LlvmLinkage::Unknown,
            }
        });
        let selected = self.select(&manifest, llvm)?;
        let mut warnings = Vec::new();
        let libraries = self.obtain_all(selected, &out_dir.join("c-libs"), &mut warnings)?;
        prove_all(&libraries)?;
        let dynamic_list_path = out_dir.join("jit-exports.list");
        let note_path = out_dir.join("jit-linkage-note.o");
        let manifest_name = manifest_path.display().to_string();
        warnings.extend(self.unused_libraries(&manifest, &manifest_name));
        let plan = plan(&Request {
            manifest: &manifest.path,
            manifest_name: &manifest_name,
            declared: &manifest.libraries,
            debugger,
            libraries,
            dynamic_list_path: &dynamic_list_path,
            note_path: &note_path,
            export_dynamic: self.export_dynamic,
        });
        write_files(&plan, target, &dynamic_list_path, &note_path)?;
        if !plan.runtime_libraries.is_empty() {
            self.place_runtime_libraries(&plan, &out_dir, &mut warnings)?;
        }
        let mut directives = plan.directives;
        for variable in ["DEP_ORC_JIT_LLVM_VERSION", "DEP_ORC_JIT_LLVM_STATIC"] {
            directives.push(Directive::RerunIfEnvChanged(variable.to_owned()));
        }
        directives.extend(warnings.into_iter().map(Directive::Warning));
        emit(&directives);
        Ok(())
    }

    /// Obtains every selected library in `artifacts` (cleared first: only this run's files
    /// may reach the link, and a library since renamed or removed from the manifest, say one
    /// once called `c`, must not shadow anything), pkg-config libraries first: their include
    /// paths reach the compiled ones. What the compilers printed goes to `warnings`.
    fn obtain_all<'m>(
        &self,
        selected: Vec<(&'m Library, Option<Linkage>, Needs)>,
        artifacts: &Path,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<Built<'m>>> {
        match std::fs::remove_dir_all(artifacts) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io_error(artifacts, "clear the artifact directory")(e));
            }
            _ => {}
        }
        let mut order: Vec<usize> = (0..selected.len()).collect();
        order.sort_by_key(|i| !matches!(selected[*i].0.origin, Origin::PkgConfig(_)));
        let mut includes = Vec::new();
        let mut got: Vec<Option<Compiled>> = vec![None; selected.len()];
        for i in order {
            let (lib, _, needs) = &selected[i];
            let compiled = obtain(lib, artifacts, *needs, &includes)?;
            includes.extend(compiled.include_paths.iter().cloned());
            warnings.extend(compiled.warnings.iter().cloned());
            got[i] = Some(compiled);
        }
        Ok(selected
            .into_iter()
            .zip(got)
            .map(|((lib, linkage, needs), got)| Built {
                lib,
                linkage,
                artifacts: self.artifacts.contains(&lib.name),
                bitcode: needs.bitcode.is_some(),
                got: got.unwrap_or_default(),
            })
            .collect())
    }

    /// Copies the shared libraries the binaries load next to them, the examples (`examples/`)
    /// and the test and bench binaries (`deps/` of the build directory, where cargo runs them
    /// from), each found by its own `$ORIGIN`.
    fn place_runtime_libraries(
        &self,
        plan: &Plan,
        out_dir: &Path,
        warnings: &mut Vec<String>,
    ) -> Result<()> {
        let dir = self.binary_dir(out_dir)?;
        if self.runtime_dir.is_none()
            && let Some(command_line) = command_line_target_dir()
        {
            warnings.extend(disagreement(&dir, out_dir, &command_line));
        }
        let mut dirs = vec![dir.clone(), dir.join("examples")];
        if let Some(build_profile) = out_dir.ancestors().nth(3) {
            dirs.push(build_profile.join("deps"));
        }
        dirs.dedup();
        for dir in &dirs {
            for (library, soname) in &plan.runtime_libraries {
                place(library, &dir.join(soname))?;
            }
        }
        Ok(())
    }

    /// A warning for each library of the package's own manifest (one in the package's
    /// directory) that this build script neither links nor asks files of: JIT code cannot call
    /// it through the process, which is what the manifest says it is for. A manifest elsewhere
    /// (one the binaries of several packages share) declares libraries for others too.
    fn unused_libraries(&self, manifest: &Manifest, manifest_name: &str) -> Vec<String> {
        let package = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
        let own = package
            .and_then(|dir| dir.canonicalize().ok())
            .zip(manifest.path.canonicalize().ok())
            .is_some_and(|(dir, file)| file.starts_with(dir));
        if !own {
            return Vec::new();
        }
        let used = |name: &String| {
            self.links.iter().any(|(n, _)| n == name)
                || self.artifacts.contains(name)
                || self.bitcode.contains(name)
        };
        manifest
            .libraries
            .iter()
            .filter(|lib| !used(&lib.name))
            .map(|lib| {
                let symbols: Vec<String> = lib.symbols.iter().map(|s| format!("`{s}`")).collect();
                format!(
                    "jit-linkage: library `{lib}` of {manifest_name} is declared, but this build \
                     script does not link it: JIT code will not find {} in the process. Add \
                     `.link_static(\"{lib}\")` or `.link_dynamic(\"{lib}\")` to the \
                     jit_linkage::Build in build.rs, or remove the library from the manifest",
                    symbols.join(", "),
                    lib = lib.name,
                )
            })
            .collect()
    }

    /// Each library the build uses once, with how it is linked and what must be built of it.
    fn select<'m>(
        &self,
        manifest: &'m Manifest,
        llvm: u32,
    ) -> Result<Vec<(&'m Library, Option<Linkage>, Needs)>> {
        let mut selected: Vec<(&Library, Option<Linkage>, Needs)> = Vec::new();
        let mut entry = |name: &str| -> Result<usize> {
            let lib = manifest.library(name)?;
            Ok(
                match selected.iter().position(|(l, ..)| l.name == lib.name) {
                    Some(i) => i,
                    None => {
                        selected.push((lib, None, Needs::default()));
                        selected.len() - 1
                    }
                },
            )
        };
        let mut links = Vec::new();
        for (name, linkage) in &self.links {
            links.push((entry(name)?, *linkage));
        }
        let artifacts: Vec<usize> = self
            .artifacts
            .iter()
            .map(|n| entry(n))
            .collect::<Result<_>>()?;
        let bitcode: Vec<usize> = self
            .bitcode
            .iter()
            .map(|n| entry(n))
            .collect::<Result<_>>()?;
        for (i, linkage) in links {
            let (lib, chosen, needs) = &mut selected[i];
            if chosen.is_some_and(|c| c != linkage) {
                return Err(Error::ConflictingLinkage {
                    library: lib.name.clone(),
                });
            }
            *chosen = Some(linkage);
            match linkage {
                Linkage::Static => {
                    needs.link_static = true;
                    needs.archive = true;
                }
                Linkage::Dynamic => needs.shared = true,
            }
        }
        for i in artifacts {
            // A prebuilt library gives the files it has.
            let (archive, shared) = match &selected[i].0.origin {
                Origin::Prebuilt {
                    static_lib,
                    shared_lib,
                } => (static_lib.is_some(), shared_lib.is_some()),
                _ => (true, true),
            };
            selected[i].2.archive |= archive;
            selected[i].2.shared |= shared;
        }
        for i in bitcode {
            selected[i].2.bitcode = Some(llvm);
        }
        Ok(selected)
    }

    /// The directory the binaries will be in: `.runtime_dir()`, or the profile directory.
    fn binary_dir(&self, out_dir: &Path) -> Result<PathBuf> {
        match &self.runtime_dir {
            Some(dir) => Ok(dir.clone()),
            None => profile_dir(out_dir, cargo_dirs().as_ref()),
        }
    }

    /// [`Build::try_emit`] for build scripts: on error, prints it and stops the build script
    /// (exit status 1). Not a panic: cargo shows the message as the last thing, alone, with no
    /// panic location or backtrace note around it (cc does the same).
    pub fn emit(&self) {
        if let Err(e) = self.try_emit() {
            eprintln!("\nerror: jit-linkage: {e}\n");
            std::process::exit(1);
        }
    }
}

/// Before anything is linked: every listed symbol is defined by its library's file, no two
/// linked libraries define the same symbol, no compiled library takes the name of a library the
/// compiler would otherwise find, and no placed library the SONAME of a system or toolchain
/// library (either would shadow it).
fn prove_all(libraries: &[Built<'_>]) -> Result<()> {
    let mut linked: Vec<(&str, Provided)> = Vec::new();
    for built in libraries {
        let files = match built.linkage {
            Some(Linkage::Static) => vec![built.got.archive.as_ref()],
            Some(Linkage::Dynamic) => vec![built.got.shared.as_ref().map(|s| &s.file)],
            None if built.artifacts => vec![
                built.got.archive.as_ref(),
                built.got.shared.as_ref().map(|s| &s.file),
            ],
            None => Vec::new(),
        };
        for file in files.into_iter().flatten() {
            // A prebuilt or system file is proven (and named in errors) where the manifest or
            // pkg-config says it is, not as the copy in OUT_DIR.
            let is_archive = Some(file) == built.got.archive.as_ref();
            let file = match &built.lib.origin {
                Origin::Prebuilt {
                    static_lib,
                    shared_lib,
                } => {
                    let original = if is_archive { static_lib } else { shared_lib };
                    original.as_ref().unwrap_or(file)
                }
                Origin::PkgConfig(_) if is_archive => {
                    built.got.archive_source.as_ref().unwrap_or(file)
                }
                _ => file,
            };
            let provided = prove(&built.lib.name, &built.lib.symbols, file)?;
            if built.linkage.is_some() {
                linked.push((&built.lib.name, provided));
            }
        }
        // What is placed next to the binaries (a prebuilt library linked dynamically) is
        // placed under its SONAME, which must shadow nothing.
        if built.linkage == Some(Linkage::Dynamic)
            && let Origin::Prebuilt {
                shared_lib: Some(file),
                ..
            } = &built.lib.origin
            && let Some(shared) = &built.got.shared
        {
            check_placed_name(built.lib, file, &shared.soname)?;
        }
        if built.linkage.is_some() && matches!(built.lib.origin, Origin::Sources) {
            let file = match built.linkage {
                Some(Linkage::Static) => built.lib.static_file_name(),
                _ => built.lib.shared_file_name(),
            };
            if let Some(system) = find_library(&file, &[]) {
                return Err(Error::ShadowsSystemLibrary {
                    library: built.lib.name.clone(),
                    file,
                    system,
                });
            }
        }
    }
    for (i, (first, a)) in linked.iter().enumerate() {
        for (second, b) in &linked[i + 1..] {
            let both = clashes(a, b);
            if !both.is_empty() {
                return Err(Error::DuplicateSymbols {
                    first: (*first).to_owned(),
                    second: (*second).to_owned(),
                    symbols: both,
                });
            }
        }
    }
    Ok(())
}

fn cargo_env(variable: &'static str) -> Result<OsString> {
    std::env::var_os(variable).ok_or(Error::NotInBuildScript { variable })
}

/// The target cargo builds for (`TARGET`), if its link flags are known, and not with
/// `+crt-static` (`CARGO_CFG_TARGET_FEATURE`).
fn build_target() -> Result<&'static Target> {
    let triple = cargo_env("TARGET")?.to_string_lossy().into_owned();
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let crt_static = features.split(',').any(|f| f == "crt-static");
    jit_exports::target::target(&triple, crt_static).map_err(|e| Error::UnsupportedTarget {
        target: triple,
        reason: e.message().to_owned(),
    })
}

/// The dynamic list (when the plan exports through one) and the note object.
fn write_files(
    plan: &Plan,
    target: &Target,
    dynamic_list_path: &Path,
    note_path: &Path,
) -> Result<()> {
    if let Some(text) = &plan.dynamic_list {
        std::fs::write(dynamic_list_path, text)
            .map_err(io_error(dynamic_list_path, "write the dynamic list"))?;
    }
    let object = note_object(target, &plan.note)?;
    std::fs::write(note_path, object).map_err(io_error(note_path, "write the symbol note"))
}

/// Obtains what `needs` asks of `lib` in `<artifacts>/<name>/`: compiled from its sources,
/// copied from prebuilt files, or found by pkg-config.
fn obtain(lib: &Library, artifacts: &Path, needs: Needs, includes: &[PathBuf]) -> Result<Compiled> {
    let dir = artifacts.join(&lib.name);
    std::fs::create_dir_all(&dir).map_err(io_error(&dir, "create the artifact directory"))?;
    if needs.bitcode.is_some() && !matches!(lib.origin, Origin::Sources) {
        return Err(Error::NoBitcode {
            library: lib.name.clone(),
        });
    }
    match &lib.origin {
        Origin::Sources => compile::compile(lib, dir, needs, includes),
        Origin::Prebuilt {
            static_lib,
            shared_lib,
        } => prebuilt::prebuilt(
            lib,
            dir,
            needs,
            static_lib.as_deref(),
            shared_lib.as_deref(),
        ),
        Origin::PkgConfig(package) => system_library::obtain(lib, dir, needs, package),
    }
}

/// Copies `from` to `to` through a rename, so a process that has the old file mapped keeps a
/// valid mapping.
fn place(from: &Path, to: &Path) -> Result<()> {
    let mut tmp = to.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(io_error(dir, "create the runtime directory"))?;
    }
    std::fs::copy(from, &tmp).map_err(io_error(&tmp, "copy the shared library to"))?;
    std::fs::rename(&tmp, to).map_err(io_error(to, "move the shared library to"))?;
    Ok(())
}

/// What the orc-jit this package depends on directly tells its dependents' build scripts
/// (`cargo::metadata=...` in its build script), if it does.
fn orc_jit_metadata<T: std::str::FromStr>(variable: &str) -> Option<T> {
    std::env::var(variable).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A manifest in a temporary directory: a compiled library `cc1` and a prebuilt `p` with
    /// only a static archive.
    fn manifest(test: &str) -> Manifest {
        let dir = std::env::temp_dir().join(format!("jit-linkage-builder-{test}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("c.c"), "int c_fn(void) { return 1; }\n").unwrap();
        std::fs::write(dir.join("libp.a"), "!<arch>\n").unwrap();
        let text = "[[library]]\nname = \"cc1\"\nsources = [\"c.c\"]\nsymbols = [\"c_fn\"]\n\n\
                    [[library]]\nname = \"p\"\nstatic_lib = \"libp.a\"\nsymbols = [\"p_fn\"]\n";
        Manifest::parse(text, &dir.join("libraries.toml")).unwrap()
    }

    /// Each misuse is an error of its own kind, which a caller can match, with its message.
    #[test]
    fn each_misuse_is_an_error_of_its_own_kind() {
        let m = manifest("misuse");
        let err = Build::new()
            .link_static("cc1")
            .link_dynamic("cc1")
            .select(&m, 22)
            .unwrap_err();
        assert!(
            matches!(&err, Error::ConflictingLinkage { library } if library == "cc1"),
            "{err:?}"
        );
        let artifacts = std::env::temp_dir().join("jit-linkage-builder-misuse/out");
        let p = m.library("p").unwrap();
        let bitcode = Needs {
            bitcode: Some(22),
            ..Needs::default()
        };
        let err = obtain(p, &artifacts, bitcode, &[]).unwrap_err();
        assert!(
            matches!(&err, Error::NoBitcode { library } if library == "p"),
            "{err:?}"
        );
        let shared = Needs {
            shared: true,
            ..Needs::default()
        };
        let err = obtain(p, &artifacts, shared, &[]).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::PrebuiltFileMissing { library, key: "shared_lib", linkage: Linkage::Dynamic }
                    if library == "p"
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("cannot be linked dynamically"),
            "{err}"
        );
        // Unit tests run outside a build script: cargo sets no OUT_DIR for a package without
        // one.
        let err = Build::new().manifest(&m.path).try_emit().unwrap_err();
        assert!(
            matches!(
                err,
                Error::NotInBuildScript {
                    variable: "OUT_DIR"
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn emit_without_a_manifest_says_what_to_call() {
        let err = Build::new().link_static("x").try_emit().unwrap_err();
        assert!(matches!(err, Error::NoManifest), "{err:?}");
        assert!(err.to_string().contains(".manifest(PATH)"), "{err}");
    }
}
