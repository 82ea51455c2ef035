//! Whether a debugger will see the binary's JIT code, and why not. gdb's JIT interface works
//! when gdb finds `__jit_debug_register_code` and `__jit_debug_descriptor` in the symbol tables
//! of the program or a library it loads (`.symtab`, which `strip` removes, or `.dynsym`); LLVM's
//! JITLink debug support also looks its registrar up among the process's dynamic symbols
//! (`llvm_orc_registerJITLoaderGDBAllocAction`, and up to LLVM 19 also
//! `llvm_orc_registerJITLoaderGDBWrapper`). The shared libLLVM exports them all; a binary with
//! LLVM linked statically, only what its build exports.

use jit_exports::elf::{self, Export, Seen, Tables};
use jit_exports::note::{DEBUGGER_SYMBOLS, LlvmLinkage, Note};
use serde::Serialize;

use crate::graph::Graph;

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DebuggerReport {
    /// Whether gdb will see the JIT code the program registers (orc-jit's `debugger` switch).
    pub sees_jit_code: bool,
    /// Why, or why not, and what to do.
    pub why: String,
}

/// How to ask for the export, for the messages.
const FIX: &str = "`debugger = true` in the manifest's `[jit]` table, or \
                   jit_linkage::Build::debugger(true), exports exactly these";

/// The answer for a binary whose own symbol tables give `seen` for [`DEBUGGER_SYMBOLS`] (in
/// order), loaded with `graph`, carrying `note`; `None` when nothing says it hosts LLVM's JIT
/// (no libLLVM among its libraries, no GDB JIT interface in it, no jit-linkage note).
pub(crate) fn debugger(
    seen: &[Seen],
    graph: &Graph,
    note: Option<&Note>,
) -> Option<DebuggerReport> {
    let [register, descriptor, wrapper, alloc] = seen else {
        return None;
    };
    if let Some(library) = libllvm_exporting_both(graph) {
        return Some(DebuggerReport {
            sees_jit_code: true,
            why: format!(
                "{library} exports __jit_debug_register_code and __jit_debug_descriptor: gdb sees \
                 the JIT code the program registers"
            ),
        });
    }
    let exported = |s: &Seen| s.export() == Export::Exported;
    let defined = |s: &Seen| !matches!(s.export(), Export::Absent);
    // LLVM 14 to 19 define both registrar functions, LLVM 22 only the allocation action: each
    // one the binary defines must be exported.
    let hidden: Vec<&str> = [(wrapper, DEBUGGER_SYMBOLS[2]), (alloc, DEBUGGER_SYMBOLS[3])]
        .into_iter()
        .filter(|(s, _)| defined(s) && !exported(s))
        .map(|(_, name)| name)
        .collect();
    let registrar = if hidden.is_empty() {
        String::new()
    } else {
        format!(
            " But {} not exported: LLVM's JITLink debug support looks it up among the process's \
             dynamic symbols and fails with `Symbols not found`; {FIX}",
            hidden.join(" and ") + if hidden.len() == 1 { " is" } else { " are" }
        )
    };
    if exported(register) && exported(descriptor) {
        return Some(DebuggerReport {
            sees_jit_code: registrar.is_empty(),
            why: format!(
                "LLVM is linked into the binary and it exports __jit_debug_register_code and \
                 __jit_debug_descriptor: gdb sees the JIT code, stripped or not.{registrar}"
            ),
        });
    }
    if defined(register) && defined(descriptor) {
        return Some(DebuggerReport {
            sees_jit_code: registrar.is_empty(),
            why: format!(
                "LLVM is linked into the binary, and gdb finds __jit_debug_register_code and \
                 __jit_debug_descriptor in its .symtab only, which `strip` removes: a stripped \
                 copy will not show JIT code to gdb. Export them ({FIX}).{registrar}"
            ),
        });
    }
    let statically = note.and_then(|n| n.debugger) == Some(LlvmLinkage::Static);
    let asked = note.is_some_and(|n| n.debugger.is_some());
    let libllvm = graph.nodes.iter().skip(1).find(|n| is_libllvm(&n.path));
    match (libllvm, note) {
        (Some(node), _) => Some(DebuggerReport {
            sees_jit_code: false,
            why: format!(
                "{} does not export __jit_debug_register_code and __jit_debug_descriptor: gdb \
                 will not see JIT code",
                node.path.display()
            ),
        }),
        (None, Some(_)) => Some(DebuggerReport {
            sees_jit_code: false,
            why: format!(
                "{}: gdb will not see JIT code; export `__jit_debug_descriptor` and \
                 `__jit_debug_register_code` (and LLVM's registrar functions){} (neither the \
                 binary's .symtab nor its .dynsym has them)",
                if statically {
                    "static LLVM, stripped"
                } else {
                    "no libLLVM among its libraries (LLVM linked statically?), and nothing \
                     exported"
                },
                if asked {
                    ": the build asked for a debugger, but did not export them (an exact \
                     --dynamic-list of another build?)"
                        .to_owned()
                } else {
                    format!(" ({FIX})")
                }
            ),
        }),
        (None, None) => None,
    }
}

/// The first libLLVM of the load graph that exports both of gdb's symbols, as its file name.
fn libllvm_exporting_both(graph: &Graph) -> Option<String> {
    for node in graph.nodes.iter().skip(1).filter(|n| is_libllvm(&n.path)) {
        let Some(data) = &node.data else { continue };
        let Ok((_, seen)) = elf::read(data, &DEBUGGER_SYMBOLS[..2], Tables::Dynamic) else {
            continue;
        };
        if seen.iter().all(|s| s.export() == Export::Exported) {
            return node
                .path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned());
        }
    }
    None
}

fn is_libllvm(path: &std::path::Path) -> bool {
    path.file_name()
        .is_some_and(|f| f.to_string_lossy().starts_with("libLLVM"))
}
