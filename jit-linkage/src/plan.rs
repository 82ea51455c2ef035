//! Manifest + chosen linkages → the directives a JIT host binary's build script prints.
//!
//! Pure: it reads no environment and touches no file, so every rule is unit-tested here.

use std::path::{Path, PathBuf};

use crate::directive::Directive;
use crate::manifest::{Library, Manifest};
use crate::target::Platform;

/// How a library reaches the final binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linkage {
    /// The archive is linked whole into the binary and its JIT symbols exported.
    Static,
    /// The shared library is kept in `DT_NEEDED` and found next to the binary through `$ORIGIN`.
    Dynamic,
}

/// What to plan for.
#[derive(Debug, Clone)]
pub struct PlanRequest<'a> {
    /// The manifest the libraries come from.
    pub manifest: &'a Manifest,
    /// The libraries the binary links, each with its linkage.
    pub selections: Vec<(&'a Library, Linkage)>,
    /// The libraries also compiled to bitcode for the package's code (`<name>.bc` in
    /// `artifact_dir`, its path in [`bitcode_env_var`]).
    pub bitcode: Vec<&'a Library>,
    /// The platform the binary is linked for.
    pub platform: Platform,
    /// The target triple (for the C compiler's environment variables).
    pub target: &'a str,
    /// The directory holding the built `lib*.a`, `lib*.so` and `*.bc`.
    pub artifact_dir: &'a Path,
    /// Where the generated dynamic-list file will be written.
    pub dynamic_list_path: &'a Path,
    /// Export every symbol of the binary (`--export-dynamic`) instead of exactly the listed ones.
    pub export_dynamic: bool,
}

/// The result: directives, and the files the build script must write or place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkPlan {
    /// The cargo directives, in the order they must be printed.
    pub directives: Vec<Directive>,
    /// The content of the dynamic-list file, when one is used.
    pub dynamic_list: Option<String>,
    /// File names of the shared libraries that must sit next to the binary at run time.
    pub runtime_libraries: Vec<String>,
    /// Every symbol of the linked libraries: what the binary must give its JIT code.
    pub jit_symbols: Vec<String>,
}

/// The runtime search path given to binaries that link a library dynamically: the directory
/// of the binary itself, expanded by the dynamic loader. No build-directory path is embedded.
pub const RUNPATH: &str = "$ORIGIN";

/// Computes the link plan.
pub fn plan(request: &PlanRequest<'_>) -> LinkPlan {
    let PlanRequest {
        manifest,
        platform: Platform::LinuxGnu,
        ..
    } = request;
    let mut directives = Vec::new();

    directives.push(Directive::RerunIfChanged(manifest.path.clone()));
    // Each library once, whether it is linked, compiled to bitcode, or both.
    let mut inputs_of: Vec<&Library> = Vec::new();
    for lib in request
        .selections
        .iter()
        .map(|(lib, _)| *lib)
        .chain(request.bitcode.iter().copied())
    {
        if !inputs_of.iter().any(|l| l.name == lib.name) {
            inputs_of.push(lib);
        }
    }
    for lib in inputs_of {
        for path in lib.sources.iter().chain(&lib.include_dirs) {
            directives.push(Directive::RerunIfChanged(path.clone()));
        }
    }
    for var in compiler_env_vars(request.target) {
        directives.push(Directive::RerunIfEnvChanged(var));
    }
    for lib in &request.bitcode {
        let path = request.artifact_dir.join(lib.bitcode_file_name());
        directives.push(Directive::RustcEnv(
            bitcode_env_var(&lib.name),
            path.display().to_string(),
        ));
    }

    let jit_symbols: Vec<String> = request
        .selections
        .iter()
        .flat_map(|(lib, _)| lib.symbols.iter().cloned())
        .collect();
    if request.selections.is_empty() {
        return LinkPlan {
            directives,
            dynamic_list: None,
            runtime_libraries: Vec::new(),
            jit_symbols,
        };
    }
    directives.push(Directive::LinkSearch(request.artifact_dir.to_path_buf()));

    let statics: Vec<&Library> = selected(request, Linkage::Static);
    let dynamics: Vec<&Library> = selected(request, Linkage::Dynamic);

    // Static: whole-archive pulls in members nothing references; the export keeps rustc's
    // --gc-sections from dropping them and puts them in .dynsym, where the JIT looks.
    for lib in &statics {
        directives.push(Directive::LinkStaticWholeArchive(lib.static_name.clone()));
    }
    let mut dynamic_list = None;
    if request.export_dynamic {
        directives.push(Directive::LinkArgBins("-Wl,--export-dynamic".into()));
    } else if !statics.is_empty() {
        let symbols: Vec<&str> = statics
            .iter()
            .flat_map(|lib| lib.symbols.iter().map(String::as_str))
            .collect();
        dynamic_list = Some(dynamic_list_text(&manifest.path, &symbols));
        // `-Xlinker` passes the next argument as it is: `-Wl,` would split a path with commas.
        directives.push(Directive::LinkArgBins("-Xlinker".into()));
        directives.push(Directive::LinkArgBins(format!(
            "--dynamic-list={}",
            request.dynamic_list_path.display()
        )));
    }

    // Dynamic: rustc puts --as-needed before every -l, and link-arg-bins lands at the end of the
    // line, so a plain -l of a library nothing references is dropped from DT_NEEDED. The
    // push-state group keeps it; the RUNPATH finds it without LD_LIBRARY_PATH.
    for lib in &dynamics {
        directives.push(Directive::LinkArgBins(format!(
            "-Wl,--push-state,--no-as-needed,-l{},--pop-state",
            lib.shared_name
        )));
    }
    if !dynamics.is_empty() {
        directives.push(Directive::LinkArgBins("-Wl,--enable-new-dtags".into()));
        directives.push(Directive::LinkArgBins(format!("-Wl,-rpath,{RUNPATH}")));
    }

    LinkPlan {
        directives,
        dynamic_list,
        runtime_libraries: dynamics.iter().map(|lib| lib.shared_file_name()).collect(),
        jit_symbols,
    }
}

/// The environment variable through which a package's code finds library `name`'s bitcode:
/// `JIT_LINKAGE_BITCODE_<NAME>`, upper case, `-` as `_`.
pub fn bitcode_env_var(name: &str) -> String {
    format!(
        "JIT_LINKAGE_BITCODE_{}",
        name.to_uppercase().replace('-', "_")
    )
}

fn selected<'a>(request: &PlanRequest<'a>, linkage: Linkage) -> Vec<&'a Library> {
    request
        .selections
        .iter()
        .filter(|(_, l)| *l == linkage)
        .map(|(lib, _)| *lib)
        .collect()
}

/// A GNU ld dynamic list exporting exactly `symbols`.
fn dynamic_list_text(manifest: &Path, symbols: &[&str]) -> String {
    let mut text = format!(
        "/* Generated by jit-linkage from {}: the symbols JIT code needs. */\n{{\n",
        manifest.display()
    );
    for symbol in symbols {
        text.push_str("  ");
        text.push_str(symbol);
        text.push_str(";\n");
    }
    text.push_str("};\n");
    text
}

/// The variables through which the `cc` crate picks the C compiler, archiver and flags.
fn compiler_env_vars(target: &str) -> Vec<String> {
    let underscored = target.replace('-', "_");
    let mut vars = Vec::new();
    for tool in ["CC", "CFLAGS", "AR", "ARFLAGS"] {
        vars.push(tool.to_owned());
        vars.push(format!("TARGET_{tool}"));
        vars.push(format!("{tool}_{target}"));
        vars.push(format!("{tool}_{underscored}"));
    }
    vars.push("CRATE_CC_NO_DEFAULTS".to_owned());
    vars
}

/// Where a build script's artifact directory is: `$OUT_DIR/c-libs`.
pub fn artifact_dir(out_dir: &Path) -> PathBuf {
    out_dir.join("c-libs")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        let dir = std::env::temp_dir().join("jit-linkage-plan");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("s.c"), "").unwrap();
        std::fs::write(dir.join("d.c"), "").unwrap();
        let text = r#"
[[library]]
name = "s"
sources = ["s.c"]
static_name = "sstatic"
symbols = ["s_one", "s_two"]

[[library]]
name = "d"
sources = ["d.c"]
shared_name = "ddynamic"
symbols = ["d_one"]
"#;
        Manifest::parse(text, &dir.join("libraries.toml")).unwrap()
    }

    fn run(manifest: &Manifest, picks: &[(&str, Linkage)], export_dynamic: bool) -> LinkPlan {
        plan(&PlanRequest {
            manifest,
            selections: picks
                .iter()
                .map(|(name, linkage)| (manifest.library(name).unwrap(), *linkage))
                .collect(),
            platform: Platform::LinuxGnu,
            target: "x86_64-unknown-linux-gnu",
            bitcode: Vec::new(),
            artifact_dir: Path::new("/out/c-libs"),
            dynamic_list_path: Path::new("/out/jit-exports.list"),
            export_dynamic,
        })
    }

    fn lines(plan: &LinkPlan) -> Vec<String> {
        plan.directives.iter().map(|d| d.to_string()).collect()
    }

    fn link_lines(plan: &LinkPlan) -> Vec<String> {
        lines(plan)
            .into_iter()
            .filter(|l| l.starts_with("cargo:rustc-"))
            .collect()
    }

    #[test]
    fn static_links_whole_archive_and_exports_exactly_the_manifest_symbols() {
        let m = manifest();
        let plan = run(&m, &[("s", Linkage::Static)], false);
        assert_eq!(
            link_lines(&plan),
            [
                "cargo:rustc-link-search=native=/out/c-libs",
                "cargo:rustc-link-lib=static:+whole-archive=sstatic",
                "cargo:rustc-link-arg-bins=-Xlinker",
                "cargo:rustc-link-arg-bins=--dynamic-list=/out/jit-exports.list",
            ]
        );
        let list = plan.dynamic_list.unwrap();
        assert!(list.contains("{\n  s_one;\n  s_two;\n};\n"), "{list}");
        assert!(!list.contains("d_one"));
        assert!(plan.runtime_libraries.is_empty());
        assert!(
            !lines(&run(&m, &[("s", Linkage::Static)], false))
                .iter()
                .any(|l| l.contains("export-dynamic"))
        );
    }

    #[test]
    fn export_dynamic_is_an_explicit_opt_in() {
        let m = manifest();
        let plan = run(&m, &[("s", Linkage::Static)], true);
        assert_eq!(
            link_lines(&plan)[2..],
            ["cargo:rustc-link-arg-bins=-Wl,--export-dynamic"]
        );
        assert_eq!(plan.dynamic_list, None);
    }

    #[test]
    fn dynamic_keeps_the_library_needed_and_uses_an_origin_runpath() {
        let m = manifest();
        let plan = run(&m, &[("d", Linkage::Dynamic)], false);
        assert_eq!(
            link_lines(&plan),
            [
                "cargo:rustc-link-search=native=/out/c-libs",
                "cargo:rustc-link-arg-bins=-Wl,--push-state,--no-as-needed,-lddynamic,--pop-state",
                "cargo:rustc-link-arg-bins=-Wl,--enable-new-dtags",
                "cargo:rustc-link-arg-bins=-Wl,-rpath,$ORIGIN",
            ]
        );
        assert_eq!(plan.dynamic_list, None);
        assert_eq!(plan.runtime_libraries, ["libddynamic.so"]);
    }

    #[test]
    fn one_static_and_one_dynamic_library_in_one_binary() {
        let m = manifest();
        let plan = run(
            &m,
            &[("s", Linkage::Static), ("d", Linkage::Dynamic)],
            false,
        );
        let link = link_lines(&plan);
        assert_eq!(link.len(), 7, "{link:#?}");
        assert!(link.contains(&"cargo:rustc-link-lib=static:+whole-archive=sstatic".to_owned()));
        assert!(link.iter().any(|l| l.contains("-lddynamic")));
        let list = plan.dynamic_list.unwrap();
        assert!(list.contains("s_one;") && !list.contains("d_one;"));
    }

    #[test]
    fn reruns_on_the_manifest_every_source_and_the_compiler_environment() {
        let m = manifest();
        let all = lines(&run(&m, &[("s", Linkage::Static)], false));
        let rerun_file = |p: &Path| format!("cargo:rerun-if-changed={}", p.display());
        assert!(all.contains(&rerun_file(&m.path)));
        assert!(all.contains(&rerun_file(&m.library("s").unwrap().sources[0])));
        for var in [
            "CC",
            "CFLAGS",
            "CC_x86_64-unknown-linux-gnu",
            "CFLAGS_x86_64_unknown_linux_gnu",
        ] {
            assert!(
                all.contains(&format!("cargo:rerun-if-env-changed={var}")),
                "{var}"
            );
        }
        // Nothing is printed twice.
        let mut sorted = all.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), all.len());
    }

    #[test]
    fn bitcode_sets_an_env_var_and_reruns_on_each_source_once() {
        let m = manifest();
        let lib = m.library("s").unwrap();
        let plan = plan(&PlanRequest {
            manifest: &m,
            selections: vec![(lib, Linkage::Static)],
            bitcode: vec![lib],
            platform: Platform::LinuxGnu,
            target: "x86_64-unknown-linux-gnu",
            artifact_dir: Path::new("/out/c-libs"),
            dynamic_list_path: Path::new("/out/jit-exports.list"),
            export_dynamic: false,
        });
        let all = lines(&plan);
        assert!(all.contains(&"cargo:rustc-env=JIT_LINKAGE_BITCODE_S=/out/c-libs/s.bc".to_owned()));
        let source = format!("cargo:rerun-if-changed={}", lib.sources[0].display());
        assert_eq!(all.iter().filter(|l| **l == source).count(), 1);
        assert_eq!(plan.jit_symbols, ["s_one", "s_two"]);
    }
}
