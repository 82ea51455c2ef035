//! What leads a symbol the JIT will not find back to the manifest: jit-exports' advice
//! ([`jit_exports::advice::explain`], which orc-jit's `Error::MissingSymbols` gives too), from
//! the binary's note and what its load graph exports.

use jit_exports::advice::{Missing, explain};
use jit_exports::elf;
use jit_exports::note::Note;
use jit_exports::similar::Closest;

use crate::file::FileBytes;
use crate::graph::Graph;
use crate::{BinaryReport, Status};

/// Up to how many names not found are offered the exported names close to them: with more
/// missing, a misspelling is not the likely cause (a library the binary does not load is), and
/// the pass over every exported name (57,000 in libLLVM) is not made.
const CLOSE_NAMES_FOR: usize = 8;

/// Puts the advice in front of the hint of each symbol the JIT will not find.
pub(crate) fn advise(
    report: &mut BinaryReport,
    binary: &FileBytes,
    graph: &Graph,
    note: Option<&Note>,
) {
    let unfound = |status: Status| {
        matches!(
            status,
            Status::Missing | Status::NotExported | Status::Hidden
        )
    };
    if !report.symbols.iter().any(|s| unfound(s.status)) {
        return;
    }
    // The names close to a misspelt one come from every name the process would export: a
    // linear pass over each object, made only here, that copies only the closest names, and
    // only when few names are not found ([`CLOSE_NAMES_FOR`]).
    let unfound_names: Vec<&str> = report
        .symbols
        .iter()
        .filter(|s| unfound(s.status))
        .map(|s| s.name.as_str())
        .collect();
    let mut searches: Vec<Closest> = if unfound_names.len() <= CLOSE_NAMES_FOR {
        unfound_names
            .iter()
            .map(|name| Closest::new(name))
            .collect()
    } else {
        Vec::new()
    };
    let searching = !searches.is_empty();
    let mut offer = |name: &[u8]| {
        for search in searches.iter_mut() {
            search.offer(name);
        }
    };
    for name in note.iter().flat_map(|n| n.symbols.iter()) {
        offer(name.symbol.as_bytes());
    }
    let objects = std::iter::once(binary).chain(graph.nodes.iter().filter_map(|n| n.data.as_ref()));
    for data in objects.filter(|_| searching) {
        // An object whose tables cannot be read offers nothing (its verdict says why).
        let _ = elf::each_exported_name(data, &mut offer);
    }
    for verdict in report.symbols.iter_mut().filter(|s| unfound(s.status)) {
        let close = searches
            .iter()
            .find(|search| search.wanted() == verdict.name)
            .map(Closest::names)
            .unwrap_or_default();
        let missing = Missing {
            name: &verdict.name,
            defined_in_binary: matches!(verdict.status, Status::NotExported | Status::Hidden),
            close,
        };
        if let Some(advice) = explain(note, &missing) {
            verdict.hint = Some(match verdict.hint.take() {
                Some(hint) => format!("{advice}. {hint}"),
                None => advice,
            });
        }
    }
}
