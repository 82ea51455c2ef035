//! What a build script prints, from the libraries it selected and what compiling them produced.
//!
//! Pure: it reads no environment and touches no file, so every rule is unit-tested here. cc
//! prints its own lines (the static library's `rustc-link-lib` with `+whole-archive`, the
//! variables it read); the plan adds the rest.

use std::path::{Path, PathBuf};

use jit_exports::note::{
    DEBUGGER_SYMBOLS, Linkage, LlvmLinkage, Note, Provider, RequiredSymbol, UnlinkedLibrary,
};

use crate::artifact::Compiled;
use crate::directive::Directive;
use crate::manifest::Library;

/// One library of the build, with what obtaining it produced.
#[derive(Debug, Clone)]
pub(crate) struct Built<'a> {
    pub lib: &'a Library,
    /// How the binaries link it, if they do.
    pub linkage: Option<Linkage>,
    /// Its `.a` and `.so` are also given to the package's code (`JIT_LINKAGE_*_<NAME>`).
    pub artifacts: bool,
    /// Its bitcode is given to the package's code.
    pub bitcode: bool,
    /// Its files.
    pub got: Compiled,
}

/// What to plan for.
#[derive(Debug, Clone)]
pub(crate) struct Request<'a> {
    /// The manifest file.
    pub manifest: &'a Path,
    /// The manifest as the build script names it, for the note.
    pub manifest_name: &'a str,
    /// Every library the manifest declares: those the build does not link are recorded in the
    /// note too, so that a symbol missing at run time can be traced to them.
    pub declared: &'a [Library],
    /// Set when a debugger is to see the JIT code: how LLVM is linked into the binaries.
    pub debugger: Option<LlvmLinkage>,
    pub libraries: Vec<Built<'a>>,
    /// Where the generated dynamic-list file will be written.
    pub dynamic_list_path: &'a Path,
    /// Where the note object will be written.
    pub note_path: &'a Path,
    /// Export every symbol of the binary (`--export-dynamic`) instead of exactly the listed ones.
    pub export_dynamic: bool,
}

/// The result: directives, and the files the build script must write or place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The cargo directives, in the order they must be printed.
    pub directives: Vec<Directive>,
    /// The content of the dynamic-list file, when one is used.
    pub dynamic_list: Option<String>,
    /// The shared libraries that must be next to the binary at run time, each with the name
    /// the loader looks for (its `SONAME`).
    pub runtime_libraries: Vec<(PathBuf, String)>,
    /// The note: the symbols the binaries' JIT code needs (none when nothing is linked), each
    /// with its provider.
    pub note: Note,
}

/// The runtime search path of binaries that link a library dynamically: the binary's own
/// directory (where the build puts the libraries), then `../lib` (the `dist` layout, `bin/` and
/// `lib/`). Both are expanded by the loader; no build-directory path is embedded.
pub(crate) const RUNPATH: &str = "$ORIGIN:$ORIGIN/../lib";

/// The variables that move the binaries' directory.
const RUNTIME_DIR_VARS: &[&str] = &[
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_BUILD_DIR",
];

/// Computes the plan.
pub(crate) fn plan(request: &Request<'_>) -> Plan {
    let mut directives = reruns(request);
    directives.extend(artifact_variables(request));
    // Every binary of a jit-linkage build carries the note, even one that links no library
    // (its JIT code gets the libraries from bitcode, IPO, or loads them at run time): it then
    // records that the process must provide nothing, and verify-symbols checks that the binary
    // can start, instead of taking it for a binary built without jit-linkage. The note object
    // is an argument of its own: a path with commas or spaces stays whole. `rustc-link-arg`
    // reaches every linked target: binaries, tests, examples and benches.
    directives.push(Directive::LinkArg(request.note_path.display().to_string()));
    let own = own_link_names(request);
    let (static_lines, dynamic_list) = static_linkage(request, &own);
    directives.extend(static_lines);
    let (dynamic_lines, runtime_libraries) = dynamic_linkage(request, &own);
    directives.extend(dynamic_lines);
    Plan {
        directives,
        dynamic_list,
        runtime_libraries,
        note: note(request),
    }
}

/// The libraries of `request` linked with `linkage`.
fn linked<'r, 'a>(
    request: &'r Request<'a>,
    linkage: Linkage,
) -> impl Iterator<Item = &'r Built<'a>> {
    request
        .libraries
        .iter()
        .filter(move |b| b.linkage == Some(linkage))
}

/// Re-run when the manifest, a source, an included header or a watched directory changes, or
/// a variable obtaining a library read (each once).
fn reruns(request: &Request<'_>) -> Vec<Directive> {
    let mut directives = vec![Directive::RerunIfChanged(request.manifest.to_path_buf())];
    for built in &request.libraries {
        for input in built.got.inputs.iter().chain(&built.lib.source_dirs) {
            directives.push(Directive::RerunIfChanged(input.clone()));
        }
    }
    let mut env_vars: Vec<&String> = Vec::new();
    for var in request.libraries.iter().flat_map(|b| &b.got.env_vars) {
        if !env_vars.contains(&var) {
            env_vars.push(var);
        }
    }
    directives.extend(
        env_vars
            .into_iter()
            .map(|var| Directive::RerunIfEnvChanged(var.clone())),
    );
    directives
}

/// The package's code finds the files it asked for (`.artifacts`, `.bitcode`) through
/// `JIT_LINKAGE_<KIND>_<NAME>`.
fn artifact_variables(request: &Request<'_>) -> Vec<Directive> {
    let mut directives = Vec::new();
    for built in &request.libraries {
        let lib = built.lib;
        let bitcode = built.got.dir.join(lib.bitcode_file_name());
        let files = [
            (built.artifacts, "STATIC_LIB", built.got.archive.as_ref()),
            (
                built.artifacts,
                "SHARED_LIB",
                built.got.shared.as_ref().map(|s| &s.file),
            ),
            (built.bitcode, "BITCODE", Some(&bitcode)),
        ];
        for (_, kind, file) in files.into_iter().filter(|(wanted, ..)| *wanted) {
            if let Some(file) = file {
                let path = file.display().to_string();
                directives.push(Directive::RustcEnv(artifact_env_var(kind, &lib.name), path));
            }
        }
    }
    directives
}

/// The note: the manifest, each symbol the binaries' JIT code needs with its provider, and the
/// manifest's libraries this build does not link.
fn note(request: &Request<'_>) -> Note {
    let mut note = Note::new();
    note.manifest = Some(request.manifest_name.to_owned());
    note.debugger = request.debugger;
    let linked = |lib: &Library| {
        request
            .libraries
            .iter()
            .any(|b| b.lib.name == lib.name && b.linkage.is_some())
    };
    note.unlinked = request
        .declared
        .iter()
        .filter(|lib| !linked(lib))
        .map(|lib| UnlinkedLibrary {
            library: lib.name.clone(),
            symbols: lib.symbols.clone(),
        })
        .collect();
    for built in &request.libraries {
        let Some(provider) = provider(built) else {
            continue;
        };
        note.symbols
            .extend(built.lib.symbols.iter().map(|symbol| RequiredSymbol {
                symbol: symbol.clone(),
                library: built.lib.name.clone(),
                provider: provider.clone(),
            }));
    }
    note
}

/// What provides a linked library's symbols; `None` when it is not linked.
fn provider(built: &Built<'_>) -> Option<Provider> {
    Some(match built.linkage? {
        Linkage::Static => Provider::Archive {
            file: built
                .got
                .archive
                .as_ref()
                .and_then(|a| a.file_name())
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| built.lib.static_file_name()),
        },
        // A library the build places next to the binary is that copy, of that build: the
        // system's library of the same name is not it.
        Linkage::Dynamic => match &built.got.shared {
            Some(shared) if shared.bundled => Provider::Placed {
                soname: shared.soname.clone(),
                build_id: shared.build_id.clone(),
            },
            Some(shared) => Provider::System {
                soname: shared.soname.clone(),
            },
            None => Provider::System {
                soname: built.lib.shared_file_name(),
            },
        },
    })
}

/// The `-l` names the build links itself. A dependency (pkg-config's other `-l`) that is one
/// of them is linked once, the build's way: rustc refuses one library with two sets of
/// modifiers.
fn own_link_names<'r>(request: &'r Request<'_>) -> Vec<&'r str> {
    request
        .libraries
        .iter()
        .filter(|b| b.linkage.is_some())
        .flat_map(|b| {
            let shared = b.got.shared.as_ref().map(|s| s.link_name.as_str());
            let compiled_static = (b.linkage == Some(Linkage::Static)
                && b.got.static_link.is_none())
            .then_some(b.lib.static_name.as_str());
            [b.got.static_link.as_deref(), shared, compiled_static]
        })
        .flatten()
        .collect()
}

/// The libraries `built` needs, linked normally, except those the build links itself.
fn dependencies(built: &Built<'_>, own: &[&str]) -> Vec<Directive> {
    built
        .got
        .dependencies
        .iter()
        .filter(|name| !own.contains(&name.as_str()))
        .map(|name| Directive::LinkLib(name.clone()))
        .collect()
}

/// Static: the whole-archive link line (cc printed it for a compiled library) pulls in members
/// nothing references; the export keeps rustc's --gc-sections from dropping them and puts them
/// in .dynsym: exactly the listed symbols through a dynamic list, or everything with
/// `--export-dynamic`.
fn static_linkage(request: &Request<'_>, own: &[&str]) -> (Vec<Directive>, Option<String>) {
    let mut directives = Vec::new();
    for built in linked(request, Linkage::Static) {
        if let Some(name) = &built.got.static_link {
            directives.push(Directive::LinkSearch(built.got.dir.clone()));
            directives.push(Directive::LinkStaticWholeArchive(name.clone()));
        }
        for path in &built.got.link_paths {
            directives.push(Directive::LinkSearch(path.clone()));
        }
        directives.extend(dependencies(built, own));
    }
    let mut exported: Vec<&str> = linked(request, Linkage::Static)
        .flat_map(|b| b.lib.symbols.iter().map(String::as_str))
        .collect();
    // A debugger and LLVM's registrar find these only when exported, unless the shared
    // libLLVM, which exports them, is the one linked (a name the binary does not define is
    // not exported: the list may name one an older LLVM lacks).
    if request
        .debugger
        .is_some_and(|llvm| llvm != LlvmLinkage::Shared)
    {
        exported.extend(DEBUGGER_SYMBOLS);
    }
    if request.export_dynamic {
        directives.push(Directive::LinkArg("-Wl,--export-dynamic".into()));
        return (directives, None);
    }
    if exported.is_empty() {
        return (directives, None);
    }
    // `-Xlinker` passes the next argument as it is: `-Wl,` would split a path with commas.
    directives.push(Directive::LinkArg("-Xlinker".into()));
    directives.push(Directive::LinkArg(format!(
        "--dynamic-list={}",
        request.dynamic_list_path.display()
    )));
    (directives, Some(dynamic_list_text(&exported)))
}

/// Dynamic: rustc puts --as-needed before every -l, and link args land at the end of the line,
/// so a plain -l of a library nothing references is dropped from DT_NEEDED. The push-state
/// group keeps it; the RUNPATH finds it without LD_LIBRARY_PATH. Also the libraries to place
/// next to the binaries, each under its `SONAME`.
fn dynamic_linkage(
    request: &Request<'_>,
    own: &[&str],
) -> (Vec<Directive>, Vec<(PathBuf, String)>) {
    let mut directives = Vec::new();
    let mut runtime_libraries = Vec::new();
    for built in linked(request, Linkage::Dynamic) {
        let Some(shared) = &built.got.shared else {
            continue;
        };
        for dir in shared.link_dir.iter().chain(&built.got.link_paths) {
            directives.push(Directive::LinkSearch(dir.clone()));
        }
        directives.push(Directive::LinkArg(format!(
            "-Wl,--push-state,--no-as-needed,-l{},--pop-state",
            shared.link_name
        )));
        directives.extend(dependencies(built, own));
        if shared.bundled {
            runtime_libraries.push((shared.file.clone(), shared.soname.clone()));
        }
    }
    if !runtime_libraries.is_empty() {
        // The libraries are copied into the binaries' directory, which these move without
        // moving OUT_DIR (a build directory set apart keeps it): copy again when they change.
        for var in RUNTIME_DIR_VARS {
            directives.push(Directive::RerunIfEnvChanged((*var).to_owned()));
        }
        directives.push(Directive::LinkArg("-Wl,--enable-new-dtags".into()));
        directives.push(Directive::LinkArg(format!("-Wl,-rpath,{RUNPATH}")));
    }
    (directives, runtime_libraries)
}

/// The environment variable through which a package's code finds an artifact of library
/// `name`: `JIT_LINKAGE_<KIND>_<NAME>`, upper case, `-` as `_`.
pub(crate) fn artifact_env_var(kind: &str, name: &str) -> String {
    format!(
        "JIT_LINKAGE_{kind}_{}",
        name.to_uppercase().replace('-', "_")
    )
}

/// A GNU ld dynamic list exporting exactly `symbols`.
fn dynamic_list_text(symbols: &[&str]) -> String {
    // No path in the comment: a directory name holding `*/` would end it.
    let mut text = String::from(
        "/* Generated by jit-linkage from the manifest: the symbols JIT code needs. */\n{\n",
    );
    for symbol in symbols {
        text.push_str("  ");
        text.push_str(symbol);
        text.push_str(";\n");
    }
    text.push_str("};\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::Shared;
    use crate::manifest::Manifest;

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

    fn built<'a>(m: &'a Manifest, name: &str, linkage: Option<Linkage>) -> Built<'a> {
        let lib = m.library(name).unwrap();
        let dir = Path::new("/out/c-libs").join(name);
        let shared = Shared {
            file: dir.join(lib.shared_file_name()),
            link_name: lib.shared_name.clone(),
            link_dir: Some(dir.clone()),
            soname: lib.shared_file_name(),
            bundled: true,
            build_id: None,
        };
        Built {
            lib,
            linkage,
            artifacts: false,
            bitcode: false,
            got: Compiled {
                archive: Some(dir.join(lib.static_file_name())),
                shared: Some(shared),
                dir,
                inputs: lib.sources.clone(),
                ..Compiled::default()
            },
        }
    }

    fn run(m: &Manifest, libraries: Vec<Built<'_>>, export_dynamic: bool) -> Plan {
        run_debugged(m, libraries, export_dynamic, None)
    }

    fn run_debugged(
        m: &Manifest,
        libraries: Vec<Built<'_>>,
        export_dynamic: bool,
        debugger: Option<LlvmLinkage>,
    ) -> Plan {
        plan(&Request {
            manifest: &m.path,
            manifest_name: "libraries.toml",
            declared: &m.libraries,
            debugger,
            libraries,
            dynamic_list_path: Path::new("/out/jit-exports.list"),
            note_path: Path::new("/out/a, b/jit-linkage-note.o"),
            export_dynamic,
        })
    }

    fn link_lines(plan: &Plan) -> Vec<String> {
        plan.directives
            .iter()
            .map(|d| d.to_string())
            .filter(|l| l.starts_with("cargo:rustc-"))
            .collect()
    }

    #[test]
    fn static_exports_exactly_the_manifest_symbols_and_links_the_note() {
        let m = manifest();
        let plan = run(&m, vec![built(&m, "s", Some(Linkage::Static))], false);
        // cc printed the whole-archive line of a compiled library.
        assert_eq!(
            link_lines(&plan),
            [
                "cargo:rustc-link-arg=/out/a, b/jit-linkage-note.o",
                "cargo:rustc-link-arg=-Xlinker",
                "cargo:rustc-link-arg=--dynamic-list=/out/jit-exports.list",
            ]
        );
        let list = plan.dynamic_list.unwrap();
        assert!(list.contains("{\n  s_one;\n  s_two;\n};\n"), "{list}");
        assert!(plan.runtime_libraries.is_empty());
        let files: Vec<&Provider> = plan.note.symbols.iter().map(|s| &s.provider).collect();
        let archive = Provider::Archive {
            file: "libsstatic.a".into(),
        };
        assert_eq!(files, [&archive, &archive]);
        assert_eq!(plan.note.manifest.as_deref(), Some("libraries.toml"));
        // `d` is declared, not linked: its symbols are recorded for the run time's advice.
        assert_eq!(
            plan.note.unlinked,
            [UnlinkedLibrary {
                library: "d".into(),
                symbols: vec!["d_one".into()]
            }]
        );
    }

    /// With LLVM linked statically (or, unknown, perhaps), a debugged binary exports exactly
    /// the manifest's symbols and the four gdb and LLVM's registrar look up; with the shared
    /// libLLVM, which exports them, only the manifest's.
    #[test]
    fn a_debugged_binary_with_static_llvm_exports_what_the_debugger_looks_up() {
        let m = manifest();
        let list = |debugger, libraries| {
            run_debugged(&m, libraries, false, debugger)
                .dynamic_list
                .unwrap_or_default()
        };
        let static_s = || vec![built(&m, "s", Some(Linkage::Static))];
        let debugged = list(Some(LlvmLinkage::Static), static_s());
        assert!(
            debugged.contains(
                "{\n  s_one;\n  s_two;\n  __jit_debug_register_code;\n  __jit_debug_descriptor;\n  \
                 llvm_orc_registerJITLoaderGDBWrapper;\n  llvm_orc_registerJITLoaderGDBAllocAction;\n};\n"
            ),
            "{debugged}"
        );
        assert_eq!(list(Some(LlvmLinkage::Unknown), static_s()), debugged);
        assert!(!list(Some(LlvmLinkage::Shared), static_s()).contains("__jit_debug"));
        assert!(!list(None, static_s()).contains("__jit_debug"));
        // No library linked statically: the list holds the four alone, and is linked.
        let dynamic = run_debugged(
            &m,
            vec![built(&m, "d", Some(Linkage::Dynamic))],
            false,
            Some(LlvmLinkage::Static),
        );
        assert_eq!(
            dynamic
                .dynamic_list
                .as_deref()
                .map(|l| l.lines().filter(|l| l.starts_with("  ")).count()),
            Some(4)
        );
        assert!(
            link_lines(&dynamic)
                .contains(&"cargo:rustc-link-arg=--dynamic-list=/out/jit-exports.list".to_owned())
        );
        assert_eq!(dynamic.note.debugger, Some(LlvmLinkage::Static));
    }

    #[test]
    fn export_dynamic_is_an_explicit_opt_in() {
        let m = manifest();
        let plan = run(&m, vec![built(&m, "s", Some(Linkage::Static))], true);
        assert_eq!(
            link_lines(&plan)[1..],
            ["cargo:rustc-link-arg=-Wl,--export-dynamic"]
        );
        assert_eq!(plan.dynamic_list, None);
    }

    #[test]
    fn dynamic_keeps_the_library_needed_and_uses_an_origin_runpath() {
        let m = manifest();
        let plan = run(&m, vec![built(&m, "d", Some(Linkage::Dynamic))], false);
        let lines: Vec<String> = plan.directives.iter().map(|d| d.to_string()).collect();
        assert!(lines.contains(&"cargo:rerun-if-env-changed=CARGO_BUILD_BUILD_DIR".to_owned()));
        assert_eq!(
            link_lines(&plan)[1..],
            [
                "cargo:rustc-link-search=native=/out/c-libs/d",
                "cargo:rustc-link-arg=-Wl,--push-state,--no-as-needed,-lddynamic,--pop-state",
                "cargo:rustc-link-arg=-Wl,--enable-new-dtags",
                "cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN:$ORIGIN/../lib",
            ]
        );
        assert_eq!(plan.dynamic_list, None);
        assert_eq!(
            plan.runtime_libraries,
            [(
                PathBuf::from("/out/c-libs/d/libddynamic.so"),
                "libddynamic.so".to_owned()
            )]
        );
        assert_eq!(
            plan.note.symbols[0].provider,
            Provider::Placed {
                soname: "libddynamic.so".into(),
                build_id: None
            }
        );
    }

    #[test]
    fn artifacts_and_bitcode_only_set_env_vars_and_link_only_the_empty_note() {
        let m = manifest();
        let mut s = built(&m, "s", None);
        s.artifacts = true;
        s.bitcode = true;
        let plan = run(&m, vec![s], false);
        let (env, linked): (Vec<String>, Vec<String>) = link_lines(&plan)
            .into_iter()
            .partition(|l| l.starts_with("cargo:rustc-env="));
        assert_eq!(env.len(), 3, "{env:?}");
        assert_eq!(
            linked,
            ["cargo:rustc-link-arg=/out/a, b/jit-linkage-note.o"]
        );
        let lines: Vec<String> = plan.directives.iter().map(|d| d.to_string()).collect();
        for expected in [
            "cargo:rustc-env=JIT_LINKAGE_STATIC_LIB_S=/out/c-libs/s/libsstatic.a",
            "cargo:rustc-env=JIT_LINKAGE_SHARED_LIB_S=/out/c-libs/s/libs.so",
            "cargo:rustc-env=JIT_LINKAGE_BITCODE_S=/out/c-libs/s/s.bc",
        ] {
            assert!(lines.contains(&expected.to_owned()), "{lines:#?}");
        }
        assert!(plan.note.symbols.is_empty());
    }

    #[test]
    fn each_variable_read_is_a_rerun_line_once() {
        let m = manifest();
        let mut s = built(&m, "s", Some(Linkage::Static));
        let mut d = built(&m, "d", Some(Linkage::Dynamic));
        s.got.env_vars = vec!["PKG_CONFIG_PATH".into(), "S_NO_PKG_CONFIG".into()];
        d.got.env_vars = vec!["PKG_CONFIG_PATH".into(), "D_NO_PKG_CONFIG".into()];
        let plan = run(&m, vec![s, d], false);
        let lines: Vec<String> = plan.directives.iter().map(|d| d.to_string()).collect();
        for var in ["PKG_CONFIG_PATH", "S_NO_PKG_CONFIG", "D_NO_PKG_CONFIG"] {
            let line = format!("cargo:rerun-if-env-changed={var}");
            assert_eq!(
                lines.iter().filter(|l| **l == line).count(),
                1,
                "{lines:#?}"
            );
        }
    }

    #[test]
    fn reruns_on_the_manifest_and_every_input() {
        let m = manifest();
        let mut s = built(&m, "s", Some(Linkage::Static));
        s.got.inputs.push(PathBuf::from("/inc/s.h"));
        let plan = run(&m, vec![s], false);
        let lines: Vec<String> = plan.directives.iter().map(|d| d.to_string()).collect();
        let rerun = |p: &Path| format!("cargo:rerun-if-changed={}", p.display());
        assert!(lines.contains(&rerun(&m.path)));
        assert!(lines.contains(&rerun(&m.library("s").unwrap().sources[0])));
        assert!(lines.contains(&rerun(Path::new("/inc/s.h"))));
    }
}
