//! What leads a symbol the JIT will not find back to the manifest: jit-exports' advice
//! ([`jit_exports::advice::explain`], which orc-jit's `Error::MissingSymbols` gives too), from
//! the binary's note and what its load graph exports.

use jit_exports::advice::{Missing, explain};
use jit_exports::note::Note;
use jit_exports::{elf, similar};

use crate::file::FileBytes;
use crate::graph::Graph;
use crate::{BinaryReport, Status};

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
    // Every name the process would export: a linear pass over each object, made only here,
    // for the names close to a misspelt one.
    let mut exported: Vec<String> = note
        .iter()
        .flat_map(|n| n.symbols.iter().map(|s| s.symbol.clone()))
        .collect();
    let objects = std::iter::once(binary).chain(graph.nodes.iter().filter_map(|n| n.data.as_ref()));
    for data in objects {
        if let Ok(definitions) = elf::definitions(data) {
            exported.extend(definitions.exported().map(str::to_owned));
        }
    }
    exported.sort_unstable();
    exported.dedup();
    for verdict in report.symbols.iter_mut().filter(|s| unfound(s.status)) {
        let missing = Missing {
            name: &verdict.name,
            defined_in_binary: matches!(verdict.status, Status::NotExported | Status::Hidden),
            close: similar::closest(&verdict.name, exported.iter().map(String::as_str)),
        };
        if let Some(advice) = explain(note, &missing) {
            verdict.hint = Some(match verdict.hint.take() {
                Some(hint) => format!("{advice}. {hint}"),
                None => advice,
            });
        }
    }
}
