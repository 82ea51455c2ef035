//! What profilers see of a JIT's code: once a module is linked, each of its functions, at its
//! final address, goes to the process's perf map and jitdump (profiler.rs writes them), for
//! every object layer alike.
//!
//! The final addresses come from the object file and ORC: the object says at which offset of
//! which section each function is (object_file.rs reads every function symbol, local ones
//! too); a symbol of the same section that the module defines and ORC can look up says where
//! that section landed. A section with no such symbol (only file-local functions: rare, as a
//! module's code shares one `.text` unless it asks otherwise) is left out of the maps.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::jit::Jit;
use crate::object_file::ObjectInfo;
use crate::profiler::{CodeRegion, JitDump, PerfMap};
use crate::target::Tools;

/// The profiler files one JIT writes to (the process's own, shared with every other JIT).
#[derive(Default)]
pub(crate) struct Profilers {
    map: Option<PerfMap>,
    dump: Option<JitDump>,
}

impl Profilers {
    /// Opens what `tools` asks for.
    pub(crate) fn open(tools: &Tools) -> Result<Profilers> {
        let failed =
            |what: &str, reason: String| Error::Llvm(format!("cannot open {what}: {reason}"));
        Ok(Profilers {
            map: if tools.perf_map {
                Some(PerfMap::open().map_err(|r| failed("the perf map", r))?)
            } else {
                None
            },
            dump: if tools.jitdump {
                Some(JitDump::open(None).map_err(|r| failed("the jitdump", r))?)
            } else {
                None
            },
        })
    }

    fn wanted(&self) -> bool {
        self.map.is_some() || self.dump.is_some()
    }
}

/// A function of an object: (name, section, offset in the section, size).
type Function = (String, usize, u64, u64);
/// A name an object defines in a section, with its offset there.
type Anchor = (String, u64);

/// A module's functions as its object has them, and how to find where each section landed.
#[derive(Debug, Default)]
pub(crate) struct CodeLayout {
    /// Every function.
    functions: Vec<Function>,
    /// For each section with code: names the module defines there, to look up (the first one
    /// the module itself provides is used).
    anchors: HashMap<usize, Vec<Anchor>>,
    /// The module's exit-handler handle (`__jit_dso.<key>`), if it defines one.
    handle: Option<String>,
}

impl CodeLayout {
    /// Where an object's functions are, for profilers and for exits.rs (which must know which
    /// module's code an exit handler runs).
    pub(crate) fn of(info: &ObjectInfo) -> CodeLayout {
        let global: std::collections::HashSet<&str> =
            info.defined.iter().map(|d| d.name.as_str()).collect();
        let mut layout = CodeLayout {
            handle: info
                .defined
                .iter()
                .find(|d| d.name.starts_with(crate::lower::DSO_PREFIX))
                .map(|d| d.name.clone()),
            ..CodeLayout::default()
        };
        for code in &info.code {
            layout
                .functions
                .push((code.name.clone(), code.section, code.offset, code.size));
            if global.contains(code.name.as_str()) {
                layout
                    .anchors
                    .entry(code.section)
                    .or_default()
                    .push((code.name.clone(), code.offset));
            }
        }
        layout
    }
}

impl Jit {
    /// Tells exits.rs and the profilers where the code (and the exit-handler handle) of
    /// modules `ids`, just linked, is: before any of it can run.
    pub(crate) fn publish_code(&self, ids: &[u64]) {
        for &id in ids {
            let regions = self.code_regions(id);
            let handle = self.own_handle(id);
            crate::exits::module_linked(
                self.id(),
                id,
                handle,
                regions
                    .iter()
                    .map(|(_, address, size)| (*address as usize, (*address + *size) as usize))
                    .collect(),
            );
            if regions.is_empty() || !self.profilers.wanted() {
                continue;
            }
            let regions: Vec<CodeRegion<'_>> = regions
                .iter()
                .map(|(name, address, size)| CodeRegion {
                    name,
                    address: *address,
                    size: *size,
                })
                .collect();
            // A profiler file that cannot be written (a full disk) must not fail the lookup
            // that linked the code: the code runs, only unnamed.
            if let Some(map) = &self.profilers.map {
                let _ = map.add(&regions);
            }
            if let Some(dump) = &self.profilers.dump {
                let _ = dump.add(&regions, |region| {
                    // SAFETY: the region is a function of a module this JIT has just linked
                    // and still holds (`&self`: no removal can run meanwhile); JIT code is
                    // mapped readable.
                    unsafe {
                        std::slice::from_raw_parts(
                            region.address as usize as *const u8,
                            region.size as usize,
                        )
                    }
                });
            }
        }
    }

    /// The address of module `id`'s own exit-handler handle, if it defines one.
    fn own_handle(&self, id: u64) -> Option<usize> {
        let name = {
            let modules = self.lock_modules();
            modules.loaded.get(&id)?.code.handle.clone()?
        };
        let c_name = crate::llvm::c_string(&name).ok()?;
        self.orc_lookup(&c_name).ok().map(|a| a as usize)
    }

    /// Each function of module `id` at its final address: (name, address, size).
    fn code_regions(&self, id: u64) -> Vec<(String, u64, u64)> {
        let (layout, provided): (Vec<Function>, HashMap<usize, Vec<Anchor>>) = {
            let modules = self.lock_modules();
            let Some(layout) = modules.loaded.get(&id).map(|l| &l.code) else {
                return Vec::new();
            };
            // Only a name this module provides says where its own section is.
            let anchors = layout
                .anchors
                .iter()
                .map(|(&section, names)| {
                    let mine = names
                        .iter()
                        .filter(|(name, _)| {
                            modules.registry.definition(name).map(|(m, _)| m) == Some(id)
                        })
                        .cloned()
                        .collect();
                    (section, mine)
                })
                .collect();
            (layout.functions.clone(), anchors)
        };
        let mut bases: HashMap<usize, u64> = HashMap::new();
        for (section, names) in provided {
            for (name, offset) in names {
                let Ok(c_name) = crate::llvm::c_string(&name) else {
                    continue;
                };
                if let Ok(address) = self.orc_lookup(&c_name) {
                    bases.insert(section, address.wrapping_sub(offset));
                    break;
                }
            }
        }
        layout
            .into_iter()
            .filter_map(|(name, section, offset, size)| {
                let base = bases.get(&section)?;
                Some((name, base.wrapping_add(offset), size))
            })
            .collect()
    }
}
