//! Each verdict held against the provider the binary's note names (jit-exports'
//! [`Provider`]): a symbol found anywhere else is [`Status::WrongProvider`]; and what the
//! binary's own copies of libraries change for the rest of its process.

use std::path::{Path, PathBuf};

use jit_exports::note::{Linkage, Note, Provider, RequiredSymbol};

use crate::graph::{self, Graph};
use crate::{BinaryReport, Status, SymbolReport, loader};

/// Sets each verdict's expected provider, turns one found elsewhere into a wrong provider, and
/// adds the warnings about the binary's libraries.
pub(crate) fn check(report: &mut BinaryReport, graph: &Graph, note: &Note) {
    let mut exported_static = Vec::new();
    for (verdict, wanted) in report.symbols.iter_mut().zip(&note.symbols) {
        verdict.expected = Some(expected(wanted));
        if wanted.provider.linkage() == Linkage::Static && verdict.status == Status::Exported {
            exported_static.push(verdict.name.clone());
        }
        if let Some(hint) = wrong_provider(verdict, wanted, graph) {
            verdict.status = Status::WrongProvider;
            verdict.hint = Some(hint);
        }
    }
    report.warnings.extend(shared_copies(graph, note));
    report
        .warnings
        .extend(interpositions(graph, note, &exported_static));
}

/// The provider as the report names it.
fn expected(wanted: &RequiredSymbol) -> String {
    match &wanted.provider {
        Provider::Archive { file } => format!("{file} linked into the binary"),
        Provider::System { soname } => soname.clone(),
        Provider::Placed {
            soname,
            build_id: Some(id),
        } => format!("{soname} placed next to the binary (build ID {id})"),
        Provider::Placed { soname, .. } => format!("{soname} placed next to the binary"),
    }
}

/// Why the JIT would call another copy than the one the build meant, if it would.
fn wrong_provider(
    verdict: &SymbolReport,
    wanted: &RequiredSymbol,
    graph: &Graph,
) -> Option<String> {
    let provider_name = verdict
        .provider
        .as_ref()
        .and_then(|p| p.file_name())
        .map(|f| f.to_string_lossy().into_owned());
    let found = provider_name.as_deref().unwrap_or("another library");
    match (wanted.provider.linkage(), verdict.status) {
        (Linkage::Static, Status::ProvidedByDependency) => Some(format!(
            "the build links `{}` ({}) whole into the binary to provide it, but the binary does \
             not export it and the JIT would call the copy in {found}: export it (the manifest's \
             `symbols`, --dynamic-list) and link the archive whole (+whole-archive)",
            wanted.library,
            wanted.provider.file(),
        )),
        (Linkage::Dynamic, Status::ProvidedByDependency)
            if !is_expected_provider(graph, verdict.provider.as_deref(), &wanted.provider) =>
        {
            Some(match &wanted.provider {
                Provider::Placed { soname, .. } => {
                    placed_elsewhere(graph, verdict.provider.as_deref(), soname, &wanted.library)
                }
                _ if is_preloaded(graph, verdict.provider.as_deref()) => format!(
                    "meant to come from {} (library `{}`), but {} preloads {found} into every \
                     program on this machine, ahead of the binary's libraries, so the JIT would \
                     call that copy: remove it from {}, or rename the symbol",
                    wanted.provider.file(),
                    wanted.library,
                    loader::PRELOAD_FILE,
                    loader::PRELOAD_FILE
                ),
                _ => format!(
                    "meant to come from {} (library `{}`), but the loader finds {found} first, \
                     so the JIT would call that copy: make sure {} is in DT_NEEDED and that no \
                     library loaded before it defines the symbol",
                    wanted.provider.file(),
                    wanted.library,
                    wanted.provider.file()
                ),
            })
        }
        (Linkage::Dynamic, Status::Exported) => Some(format!(
            "meant to come from {} (library `{}`), but the binary itself exports a definition, \
             which the JIT finds first: remove it from the binary or from the manifest",
            wanted.provider.file(),
            wanted.library
        )),
        _ => None,
    }
}

fn is_preloaded(graph: &Graph, provider: Option<&Path>) -> bool {
    graph
        .preloaded
        .iter()
        .any(|p| p.path.is_some() && p.path.as_deref() == provider)
}

/// Why a symbol meant to come from the copy of `soname` placed next to the binary comes from
/// `found` instead.
fn placed_elsewhere(graph: &Graph, found: Option<&Path>, soname: &str, library: &str) -> String {
    let origin = &graph.nodes[0].searcher.origin;
    let shown = found
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "another library".into());
    let same_name = found
        .and_then(|p| p.file_name())
        .is_some_and(|f| f == soname);
    let next_to = origin.join(soname).is_file() || origin.join("../lib").join(soname).is_file();
    if same_name && next_to {
        format!(
            "meant to come from the {soname} its build placed next to it (library `{library}`), \
             but the {shown} there is another build of that name: another package's library of \
             the same name in the same directory, or a stale copy. Give the libraries distinct \
             names (`shared_name`), or build and ship the binary with its own"
        )
    } else if next_to {
        format!(
            "meant to come from the {soname} next to the binary (library `{library}`), but the \
             loader finds {shown} first: a library loaded before it defines the same name. \
             Rename the symbol in the library"
        )
    } else {
        format!(
            "meant to come from the {soname} shipped next to the binary (library `{library}`), \
             but the loader finds {shown} instead, so the JIT would call that library's code: \
             put the binary's libraries next to it or in ../lib (`jit-dist --out DIR BINARY` \
             ships them)"
        )
    }
}

/// Whether `provider` is the library the note names: the same `SONAME` (file name as the
/// loader found it), and for a library placed next to the binary that copy (next to it or in
/// its `../lib`) of that build.
fn is_expected_provider(graph: &Graph, provider: Option<&Path>, wanted: &Provider) -> bool {
    let Some(provider) = provider else {
        return false;
    };
    let name = provider
        .file_name()
        .map(|f| f.to_string_lossy().into_owned());
    let Provider::Placed { soname, build_id } = wanted else {
        return name.as_deref() == Some(wanted.file());
    };
    let origin = graph.nodes[0].searcher.origin.as_path();
    let real = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let dir = provider.parent().map(real);
    name.as_deref() == Some(soname.as_str())
        && (dir.as_deref() == Some(real(origin).as_path())
            || dir.as_deref() == Some(real(&origin.join("../lib")).as_path()))
        && build_id
            .as_deref()
            .is_none_or(|id| graph.build_id(provider).as_deref() == Some(id))
}

/// A library shipped next to the binary is, for the whole process, the one object of its
/// SONAME: every other library that needs that name gets this copy too.
fn shared_copies(graph: &Graph, note: &Note) -> Vec<String> {
    let mut warned: Vec<&str> = Vec::new();
    let mut warnings = Vec::new();
    for wanted in &note.symbols {
        let Provider::Placed { soname, .. } = &wanted.provider else {
            continue;
        };
        if warned.contains(&soname.as_str()) {
            continue;
        }
        let needing = graph
            .nodes
            .iter()
            .skip(1)
            .find(|node| node.needs.iter().any(|n| n.name == *soname));
        if let Some(node) = needing {
            warned.push(soname);
            warnings.push(format!(
                "{} also needs {soname}, and gets the copy shipped next to the binary for \
                 library `{}` (the loader maps one {soname} per process), not the system's: keep \
                 the two compatible, or give the shipped library another SONAME",
                node.path.display(),
                wanted.library
            ));
        }
    }
    warnings
}

/// Another definition of an exported name among the dependencies: every call through the
/// dependency's own PLT now lands in the binary's copy. One warning per library that has such
/// names, naming the chain of libraries through which the binary loads it.
fn interpositions(graph: &Graph, note: &Note, exported_static: &[String]) -> Vec<String> {
    if exported_static.is_empty() {
        return Vec::new();
    }
    let names: Vec<&str> = exported_static.iter().map(String::as_str).collect();
    let mut by_library: Vec<(PathBuf, Vec<&str>)> = Vec::new();
    for (name, found) in graph::providers(graph, &names) {
        if found.null.is_some() {
            continue;
        }
        match by_library.iter_mut().find(|(path, _)| *path == found.path) {
            Some((_, names)) => names.push(name),
            None => by_library.push((found.path, vec![name])),
        }
    }
    by_library.sort();
    by_library
        .into_iter()
        .map(|(library, mut names)| {
            names.sort_unstable();
            let mut owners: Vec<&str> = names
                .iter()
                .filter_map(|n| note.symbol(n).map(|s| s.library.as_str()))
                .collect();
            owners.dedup();
            let shown: Vec<String> = names.iter().take(4).map(|n| format!("`{n}`")).collect();
            let more = match names.len().saturating_sub(shown.len()) {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            let owners_text = owners
                .iter()
                .map(|l| format!("`{l}`"))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "{} {} that the binary exports for its JIT code (from its statically linked \
                 {} {owners_text}: {}{more}) {} also defined by {}, which {}: the binary's copies \
                 interpose them, so that library's own calls to them run the binary's copies. \
                 Keep the two the same version, or link {owners_text} dynamically",
                names.len(),
                if names.len() == 1 { "name" } else { "names" },
                if owners.len() == 1 {
                    "library"
                } else {
                    "libraries"
                },
                shown.join(", "),
                if names.len() == 1 { "is" } else { "are" },
                library.display(),
                loaded_through(graph, &library)
            )
        })
        .collect()
}

/// How the binary comes to load `library`: directly, or through a chain of libraries
/// (`libLLVM.so.22.1 → libxml2.so.2`), as the load graph found it.
fn loaded_through(graph: &Graph, library: &Path) -> String {
    let Some(mut at) = graph.nodes.iter().position(|n| n.path == library) else {
        return "the loader maps for it".to_owned();
    };
    let mut chain = Vec::new();
    while at != 0 {
        let node = &graph.nodes[at];
        chain.push(
            node.path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        match node.loader {
            Some(loader) => at = loader,
            None => break,
        }
    }
    chain.reverse();
    match chain.as_slice() {
        [] | [_] => "the binary itself needs".to_owned(),
        _ => format!("the binary loads through {}", chain.join(" → ")),
    }
}
