//! The verdict on one binary, in the order the loader and `dlsym` work: the binary's own
//! symbol tables (by jit-exports' one rule, [`Seen::export`], which the build's proof applies
//! too), its load graph, then the libraries of that graph for what the binary does not export;
//! and what is said of the binary as a whole.

use std::path::Path;

use jit_exports::elf::{self, ElfInfo, Export, NullAddress, ObjectKind, Seen, Tables};
use object::ReadRef;

use jit_exports::note::{DEBUGGER_SYMBOLS, Note};

use crate::debugger;
use crate::graph::{self, Graph};
use crate::warnings::SECURE_MODE_FIX;
use crate::{
    BinaryReport, Error, IndirectNeed, Needed, Refusal, Status, SymbolReport, loader, warnings,
};

/// Verifies `names` in `data`, the bytes of the binary at `path`, returning the report and the
/// load graph it was answered from.
pub(crate) fn verify_binary<'data, T>(
    path: &Path,
    data: &'data T,
    names: &[&str],
    note: Option<&Note>,
) -> Result<(BinaryReport, Graph), Error>
where
    T: ?Sized,
    for<'a> &'a T: ReadRef<'a>,
{
    // The names asked, and in the same pass the debugger's (see `debugger.rs`).
    let asked: Vec<&str> = names.iter().copied().chain(DEBUGGER_SYMBOLS).collect();
    let (info, mut seen) =
        elf::read(data, &asked, Tables::WithSymtab).map_err(|source| Error::Parse {
            path: path.to_path_buf(),
            source,
        })?;
    let debugger_seen = seen.split_off(names.len());
    let config = loader_config(path, &info)?;
    let graph = graph::build(&config, path, &info);
    let loaded = Loaded::of(&graph);
    let mut verdicts: Vec<SymbolReport> = names
        .iter()
        .zip(&seen)
        .map(|(name, seen)| own_verdict(name, seen, &info))
        .collect();
    search_dependencies(&graph, &mut verdicts, &seen);
    for (verdict, seen) in verdicts.iter_mut().zip(&seen) {
        if verdict.status == Status::Missing && verdict.hint.is_none() {
            verdict.hint = Some(missing_hint(
                &loaded.needed,
                &info,
                seen,
                config.secure.is_some(),
            ));
        }
    }
    let warnings = whole_binary_warnings(&info, &config, &graph, &loaded, &verdicts, names);
    let debugger = debugger::debugger(&debugger_seen, &graph, note);
    let report = BinaryReport {
        path: path.to_path_buf(),
        kind: match info.kind {
            ObjectKind::Executable => "executable",
            ObjectKind::SharedLibrary => "shared-library",
            ObjectKind::Other => "other",
        },
        pie: info.pie,
        bind_now: info.bind_now,
        relro: info.relro,
        statically_linked: !info.dynamic,
        warnings,
        needed: loaded.needed,
        preloaded: loaded.preloaded,
        unresolved_indirect: loaded.unresolved_indirect,
        refused: loaded.refused,
        foreign: graph.foreign.clone(),
        runpath: info.runpath.iter().map(|s| (*s).to_owned()).collect(),
        rpath: info.rpath.iter().map(|s| (*s).to_owned()).collect(),
        symbols: verdicts,
        debugger,
    };
    Ok((report, graph))
}

/// The loader that starts the binary, and whether it runs it in secure mode.
fn loader_config(path: &Path, info: &ElfInfo<'_>) -> Result<loader::Config, Error> {
    let mut config = loader::Config::for_binary(info.machine, info.class64, info.interp)?;
    config.secure = loader::secure_mode(path, info.kind == ObjectKind::Executable);
    Ok(config)
}

/// What the load graph says, as the report shows it.
struct Loaded {
    needed: Vec<Needed>,
    preloaded: Vec<Needed>,
    unresolved_indirect: Vec<IndirectNeed>,
    refused: Vec<Refusal>,
}

impl Loaded {
    fn of(graph: &Graph) -> Loaded {
        let report_need = |need: &graph::Need| Needed {
            name: need.name.clone(),
            path: need.path.clone(),
            trace: need.trace.clone(),
        };
        Loaded {
            needed: graph.nodes[0].needs.iter().map(report_need).collect(),
            preloaded: graph.preloaded.iter().map(report_need).collect(),
            unresolved_indirect: graph
                .unresolved_indirect()
                .into_iter()
                .map(|(needed_by, name)| IndirectNeed { needed_by, name })
                .collect(),
            refused: graph
                .nodes
                .iter()
                .filter_map(|node| {
                    Some(Refusal {
                        path: node.path.clone(),
                        reason: node.refused.clone()?,
                    })
                })
                .collect(),
        }
    }
}

/// What the binary does not export, dlsym looks for in its libraries: a definition of the
/// binary's own that is hidden, local or not in `.dynsym` does not stop the search
/// (do_lookup_x skips it), so a library that exports the name provides it. What the binary
/// exports stops the search there, even with the address 0.
fn search_dependencies(graph: &Graph, verdicts: &mut [SymbolReport], seen: &[Seen]) {
    let searched = |seen: &Seen| !matches!(seen.export(), Export::Exported | Export::Null(_));
    let unresolved: Vec<String> = verdicts
        .iter()
        .zip(seen)
        .filter(|(_, seen)| searched(seen))
        .map(|(v, _)| v.name.clone())
        .collect();
    if unresolved.is_empty() {
        return;
    }
    let names: Vec<&str> = unresolved.iter().map(String::as_str).collect();
    let providers = graph::providers(graph, &names);
    for (verdict, seen) in verdicts.iter_mut().zip(seen) {
        if !searched(seen) {
            continue;
        }
        let Some(found) = providers.get(verdict.name.as_str()) else {
            continue;
        };
        if let Some(null) = found.null {
            verdict.status = Status::Missing;
            verdict.hint = Some(null_hint(
                &verdict.name,
                null,
                &found.path.display().to_string(),
            ));
            continue;
        }
        let own = match (verdict.status, seen.export()) {
            (Status::Hidden, _) => Some("hidden, internal or local (`static`)"),
            (Status::NotExported, _) => Some("not exported (in `.symtab` only)"),
            (_, Export::HiddenVersion) => Some("only a non-default version (`name@VERSION`)"),
            _ => None,
        };
        verdict.hint = own.map(|own| {
            format!(
                "the binary's own definition is {own}, so dlsym and the JIT skip it and call \
                 {}'s: if the binary's is the one meant, export it (the manifest's `symbols`, \
                 --dynamic-list)",
                found.path.display()
            )
        });
        verdict.status = Status::ProvidedByDependency;
        verdict.provider = Some(found.path.clone());
        verdict.version.clone_from(&found.version);
    }
}

/// The warnings about the binary as a whole: how it is linked, what its load graph lacks or
/// stops at, secure mode, preloads.
fn whole_binary_warnings(
    info: &ElfInfo<'_>,
    config: &loader::Config,
    graph: &Graph,
    loaded: &Loaded,
    verdicts: &[SymbolReport],
    names: &[&str],
) -> Vec<String> {
    let origin = &graph.nodes[0].searcher.origin;
    let mut warnings = warnings::binary(info, &loaded.needed, origin, config);
    for indirect in &loaded.unresolved_indirect {
        warnings.push(format!(
            "{} needs {}, which the loader would not find (a RUNPATH applies to its own object's \
             direct dependencies only; --explain shows where it looked): the binary will not \
             start",
            indirect.needed_by.display(),
            indirect.name
        ));
    }
    if let Some(foreign) = &graph.foreign {
        warnings.push(foreign.clone());
    }
    warnings.extend(warnings::secure_mode(config, graph));
    warnings.extend(warnings::preloads(&loaded.preloaded, verdicts));
    warnings.extend(warnings::environment_preload(config, graph, names));
    for refusal in &loaded.refused {
        warnings.push(format!(
            "{}: {}: the binary will not start",
            refusal.path.display(),
            refusal.reason
        ));
    }
    warnings
}

/// What to say of a name `dlsym` finds in `object` with the address 0.
pub(crate) fn null_hint(name: &str, null: NullAddress, object: &str) -> String {
    match null {
        NullAddress::VersionName => format!(
            "`{name}` is the name of a version {object} defines (the linker gives each version \
             definition an absolute symbol of value 0), not a function or variable: dlsym finds \
             it and returns NULL, without an error, so the JIT cannot use it. Ask for the name of \
             a symbol of that version instead"
        ),
        NullAddress::Absolute => format!(
            "{object} defines `{name}` as an absolute symbol of value 0: dlsym finds it and \
             returns NULL, without an error, so the JIT cannot call or read it"
        ),
    }
}

/// The verdict from the binary's own symbol tables; `Missing` means "look in dependencies"
/// (unless its `.dynsym` has it, with the address 0: then the hint says so).
fn own_verdict(name: &str, seen: &Seen, info: &ElfInfo<'_>) -> SymbolReport {
    let (status, hint) = match seen.export() {
        Export::Exported => (Status::Exported, None),
        Export::Null(null) => (Status::Missing, Some(null_hint(name, null, "the binary"))),
        Export::Hidden => (
            Status::Hidden,
            Some(
                "defined with hidden/internal visibility or local binding, so it can never be \
                 exported: remove `__attribute__((visibility(\"hidden\")))` or `static` from its \
                 C definition, or compile it without -fvisibility=hidden"
                    .to_owned(),
            ),
        ),
        Export::NotExported => {
            let hint = if info.hashless {
                "the binary has dynamic symbols but no hash table (DT_GNU_HASH or DT_HASH), so \
                 the loader and dlsym cannot look up any of them: link it again with the system \
                 linker, which writes one (do not strip it with a tool that drops it)"
            } else if info.dynamic {
                "linked in but not exported to .dynsym: list it in the manifest's `symbols` (the \
                 generated --dynamic-list) or link with -Wl,--export-dynamic"
            } else {
                "the binary is statically linked and has no .dynsym: link it dynamically (remove \
                 +crt-static / -static)"
            };
            (Status::NotExported, Some(hint.to_owned()))
        }
        Export::HiddenVersion | Export::Absent => (Status::Missing, None),
    };
    SymbolReport {
        name: name.to_owned(),
        version: (status == Status::Exported)
            .then(|| seen.version.clone())
            .flatten(),
        status,
        provider: None,
        expected: None,
        hint,
    }
}

fn missing_hint(needed: &[Needed], info: &ElfInfo<'_>, seen: &Seen, secure: bool) -> String {
    if seen.export() == Export::HiddenVersion {
        return "only a non-default version of it is defined (`name@VERSION`, a hidden \
                version, like glibc's compatibility symbols): dlsym and the JIT never return \
                it. Give it a default version (`name@@VERSION`) or no version"
            .to_owned();
    }
    let mut hint = String::from(
        "not defined in the binary nor exported by any library it needs. If it comes from a \
         static archive: link the archive whole (+whole-archive) and export the symbol. If it \
         comes from a shared library: the library was dropped from DT_NEEDED by --as-needed \
         (use -Wl,--push-state,--no-as-needed,-lNAME,--pop-state) or is not found on the \
         RUNPATH",
    );
    let unresolved: Vec<&str> = needed
        .iter()
        .filter(|n| n.path.is_none())
        .map(|n| n.name.as_str())
        .collect();
    if !unresolved.is_empty() {
        let fix = if secure {
            SECURE_MODE_FIX
        } else if info.runpath.iter().any(|e| e.contains("ORIGIN")) {
            "put the library next to the binary or in ../lib from it: `jit-dist --out DIR \
             BINARY` ships a binary with its libraries"
        } else {
            "add -Wl,-rpath,$ORIGIN and put the library next to the binary"
        };
        hint.push_str(&format!(
            ". Not found by the loader: {} (RUNPATH: {}); {fix}",
            unresolved.join(", "),
            if info.runpath.is_empty() {
                "none".to_owned()
            } else {
                info.runpath.join(":")
            }
        ));
    }
    hint
}
