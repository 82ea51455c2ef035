//! What verify-symbols warns about a binary as a whole, beside the verdict on each symbol: how
//! it is linked and where its RPATH/RUNPATH lead, secure mode, preloads.

use std::path::Path;

use jit_exports::elf::{self, ElfInfo};

use crate::{Needed, SymbolReport, graph, loader, search};

/// What to do when a set-user-ID binary's libraries are found through `$ORIGIN` by its owner
/// only.
pub(crate) const SECURE_MODE_FIX: &str = "in secure mode (see the warning) the loader does not take it \
     from the binary's own $ORIGIN: give it an absolute RUNPATH entry, or install the library \
     in a system directory";

/// Problems with the binary as a whole: no dynamic symbols, libraries not found, RPATH and
/// RUNPATH entries that work only where it was built or let others plant a library.
pub(crate) fn binary(
    info: &ElfInfo<'_>,
    needed: &[Needed],
    origin: &Path,
    config: &loader::Config,
) -> Vec<String> {
    // The system search path is asked of the loader only when an absolute entry needs it.
    let system = || &config.directories().system;
    let mut warnings = Vec::new();
    if !info.dynamic {
        warnings.push(
            "statically linked: there is no dynamic symbol table, so a JIT cannot search this \
             binary at all"
                .to_owned(),
        );
    }
    let origin_relative = info
        .runpath
        .iter()
        .chain(&info.rpath)
        .any(|e| e.starts_with("$ORIGIN") || e.starts_with("${ORIGIN}"));
    for n in needed.iter().filter(|n| n.path.is_none()) {
        let fix = if config.secure.is_some() && origin_relative {
            format!("; {SECURE_MODE_FIX}")
        } else if origin_relative {
            format!(
                "; the binary looks for it next to itself or in ../lib (RUNPATH {}): a binary \
                 copied without its libraries cannot start. Ship it with its libraries: \
                 `jit-dist --out DIR BINARY` (`cargo xtask dist` in the toolkit) writes \
                 DIR/bin and DIR/lib",
                info.runpath.join(":")
            )
        } else {
            String::new()
        };
        warnings.push(format!(
            "DT_NEEDED {} is not found on the RUNPATH or in the system's library directories: \
             the binary will not start{fix}",
            n.name
        ));
    }
    if !info.rpath.is_empty() && info.runpath.is_empty() {
        warnings.push(
            "uses DT_RPATH, which overrides LD_LIBRARY_PATH and applies to dependencies too; \
             link with -Wl,--enable-new-dtags for DT_RUNPATH"
                .to_owned(),
        );
    }
    for (tag, entries) in [("RUNPATH", &info.runpath), ("RPATH", &info.rpath)] {
        for entry in entries.iter() {
            if entry.is_empty() {
                warnings.push(format!(
                    "{tag} has an empty entry, which means the current directory: whoever \
                     controls the working directory can inject a library"
                ));
                continue;
            }
            if entry.starts_with('/') && !system().iter().any(|d| d == Path::new(entry)) {
                warnings.push(format!(
                    "{tag} entry {entry} is an absolute path (a build directory?): the binary \
                     only works where it was built; use $ORIGIN"
                ));
            }
            if let Some(dir) = config.expand(entry, origin)
                && is_writable_by_others(&dir)
            {
                warnings.push(format!(
                    "{tag} entry {entry} ({}) is writable by other users: anyone can plant \
                         a library there",
                    dir.display()
                ));
            }
        }
    }
    warnings
}

fn is_writable_by_others(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    // World-writable without the sticky bit, like /tmp has, is the dangerous case... and even
    // with it, anyone can create a new file there, which is all an attacker needs.
    std::fs::metadata(dir).is_ok_and(|m| m.is_dir() && m.permissions().mode() & 0o002 != 0)
}

/// For a binary run in secure mode by the users it is for: that it is, the rules that then
/// differ, and each RPATH/RUNPATH entry the loader drops for them.
pub(crate) fn secure_mode(config: &loader::Config, graph: &graph::Graph) -> Vec<String> {
    let Some(why) = &config.secure else {
        return Vec::new();
    };
    let system: Vec<String> = config
        .directories()
        .system
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    let mut warnings = vec![format!(
        "{why}: for every user but its owner the loader runs it in secure mode (AT_SECURE), and \
         verify-symbols answers for them: in an RPATH or RUNPATH entry $ORIGIN counts only at \
         the start, and in the binary's own entries only where it expands under a system \
         directory ({}); LD_LIBRARY_PATH and LD_PRELOAD paths are ignored, and a library \
         preloaded by name must be set-user-ID (ld.so.cache is not read for it). For its owner \
         the ordinary rules apply",
        system.join(", ")
    )];
    let mut dropped: Vec<(&str, &str, &str)> = Vec::new();
    let needs = graph.nodes.iter().flat_map(|n| &n.needs);
    for step in needs.chain(&graph.preloaded).flat_map(|need| &need.trace) {
        let entry = (
            step.source.as_str(),
            step.place.as_str(),
            step.outcome.as_str(),
        );
        if step.outcome.starts_with("ignored in secure mode") && !dropped.contains(&entry) {
            dropped.push(entry);
        }
    }
    for (source, entry, outcome) in dropped {
        warnings.push(format!(
            "{source}: entry `{entry}` is {outcome}: what it finds for the owner, the loader \
             does not find for other users"
        ));
    }
    warnings
}

/// What `/etc/ld.so.preload` changes for every program on this machine: each library it
/// preloads, with the names checked that the JIT finds there; each one it cannot.
pub(crate) fn preloads(preloaded: &[Needed], verdicts: &[SymbolReport]) -> Vec<String> {
    let mut warnings = Vec::new();
    for preload in preloaded {
        let Some(path) = &preload.path else {
            warnings.push(format!(
                "{} lists {}, which the loader cannot load here: every program started on this \
                 machine prints an error for it and goes on",
                loader::PRELOAD_FILE,
                preload.name
            ));
            continue;
        };
        let taken: Vec<String> = verdicts
            .iter()
            .filter(|v| v.provider.as_ref() == Some(path))
            .map(|v| format!("`{}`", v.name))
            .collect();
        let effect = if taken.is_empty() {
            "it provides none of the names checked".to_owned()
        } else {
            format!(
                "the JIT finds {} there, not in the binary's own libraries",
                taken.join(", ")
            )
        };
        warnings.push(format!(
            "{} preloads {} into every program on this machine, after the binary and before \
             its libraries: {effect}",
            loader::PRELOAD_FILE,
            path.display()
        ));
    }
    warnings
}

/// `LD_PRELOAD` in this process's environment applies to programs started from here only, so
/// the verdicts do not count it; this says that it is set, and what it would change here: each
/// library it would preload (as the loader finds it for the binary) and which of `names` that
/// library exports, which a program started from here would call instead.
pub(crate) fn environment_preload(
    config: &loader::Config,
    graph: &graph::Graph,
    names: &[&str],
) -> Option<String> {
    let entries = loader::environment_preloads();
    if entries.is_empty() || graph.foreign.is_some() {
        return None;
    }
    let binary = &graph.nodes[0];
    let mut effects = Vec::new();
    for entry in &entries {
        if config.secure.is_some() && entry.contains('/') {
            // rtld.c's dso_name_valid_for_suid.
            effects.push(format!(
                "{entry} (not for other users: in secure mode the loader ignores a path)"
            ));
            continue;
        }
        let mut trace = Vec::new();
        let lookup = search::Lookup {
            class64: config.class64,
            machine: config.machine,
            foreign: false,
            preload: true,
        };
        let found = search::search(config, entry, &[&binary.searcher], lookup, &mut trace);
        let path = found.as_ref().map(|f| f.path.clone());
        let exported: Option<Vec<String>> = found.and_then(|found| {
            let bytes = found.file.into_bytes().ok()?;
            let (_, seen) = elf::read(&bytes, names, elf::Tables::Dynamic).ok()?;
            Some(
                names
                    .iter()
                    .zip(seen)
                    .filter(|(_, seen)| seen.dynsym.is_some_and(|e| e.is_exported()))
                    .map(|(name, _)| format!("`{name}`"))
                    .collect(),
            )
        });
        effects.push(match (path, exported) {
            (None, _) => format!("{entry} (not found: the loader says so and goes on)"),
            (Some(path), None) => format!("{} (not a readable ELF file)", path.display()),
            (Some(path), Some(exported)) if exported.is_empty() => {
                format!("{} (it exports none of the names checked)", path.display())
            }
            (Some(path), Some(exported)) => format!(
                "{}, which exports {}: the JIT of a program started here would call that copy",
                path.display(),
                exported.join(", ")
            ),
        });
    }
    Some(format!(
        "LD_PRELOAD is set in this environment ({}): it applies to programs started from this \
         environment only, so the verdicts here do not count it. A program started from here \
         would also preload {}",
        entries.join(" "),
        effects.join("; ")
    ))
}
