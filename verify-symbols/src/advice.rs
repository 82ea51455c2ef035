//! What leads a symbol the JIT will not find back to the manifest: jit-exports' advice
//! ([`jit_exports::advice::explain`], which orc-jit's `Error::MissingSymbols` gives too), from
//! the binary's note and what its load graph exports.

use jit_exports::advice::{Missing, explain};
use jit_exports::note::Note;
use jit_exports::{elf, similar};

use crate::file::FileBytes;
use crate::graph::Graph;
use crate::{BinaryReport, Status};

/// How many of the names not found are offered the exported names close to them.
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
    // linear pass over each object, made only here. Only the first few names not found are
    // offered close names (with many missing, a misspelling is not the likely cause), and only
    // names of a length within reach of one of them are copied: libLLVM alone exports 57,000.
    let unfound_names: Vec<String> = report
        .symbols
        .iter()
        .filter(|s| unfound(s.status))
        .take(CLOSE_NAMES_FOR)
        .map(|s| s.name.clone())
        .collect();
    let within_reach = |name: &str| {
        unfound_names
            .iter()
            .any(|w| w.len().abs_diff(name.len()) <= similar::limit_for(w))
    };
    let mut exported: Vec<String> = note
        .iter()
        .flat_map(|n| n.symbols.iter().map(|s| s.symbol.clone()))
        .filter(|name| within_reach(name))
        .collect();
    let objects = std::iter::once(binary).chain(graph.nodes.iter().filter_map(|n| n.data.as_ref()));
    for data in objects {
        if let Ok(names) = elf::exported_names(data, within_reach) {
            exported.extend(names);
        }
    }
    exported.sort_unstable();
    exported.dedup();
    for verdict in report.symbols.iter_mut().filter(|s| unfound(s.status)) {
        let close = if unfound_names.contains(&verdict.name) {
            similar::closest(&verdict.name, exported.iter().map(String::as_str))
        } else {
            Vec::new()
        };
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
