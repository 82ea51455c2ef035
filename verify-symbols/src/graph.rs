//! The load graph: the binary and every library the loader maps for it, in the loader's order
//! (breadth first, each `DT_NEEDED` in order, a name already loaded not loaded again), which is
//! also the order `dlsym(RTLD_DEFAULT, ...)` searches them in.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};

use jit_exports::elf::{self, ElfInfo};

use crate::Error;
use crate::file::{self, FileBytes};
use crate::loader::{self, Config, Searcher, Step};
use crate::search;

/// One `DT_NEEDED` entry and where it resolved.
#[derive(Debug, Clone)]
pub(crate) struct Need {
    pub name: String,
    /// The file, or `None` when the loader would not find it.
    pub path: Option<PathBuf>,
    /// Each place the loader would try, in order (`--explain`).
    pub trace: Vec<Step>,
}

/// One object of the graph.
#[derive(Debug)]
pub(crate) struct Node {
    pub path: PathBuf,
    pub searcher: Searcher,
    /// The node that loaded this one (the executable has none).
    pub loader: Option<usize>,
    /// The library's file, opened while the graph was built, for the symbol search (none for
    /// the binary, which the caller has).
    pub data: Option<FileBytes>,
    /// Why the loader, mapping this object, stops the program.
    pub refused: Option<String>,
    pub needs: Vec<Need>,
}

/// The whole graph; node 0 is the binary.
#[derive(Debug)]
pub(crate) struct Graph {
    pub nodes: Vec<Node>,
    /// The binary is for another machine than this one.
    pub foreign: Option<String>,
    /// A library that changed while it was read, and what changed, when its node could not be
    /// made: the graph then says nothing sure about it (the nodes' own files are checked with
    /// [`Graph::unchanged`]).
    pub changed: Option<(PathBuf, String)>,
    /// What `/etc/ld.so.preload` lists, each as the loader finds it (for the executable), in
    /// its order; the nodes of those found come right after the binary's.
    pub preloaded: Vec<Need>,
}

impl Graph {
    /// The GNU build ID (hex) of the library at `path` of the graph, read from the file the
    /// graph opened.
    pub(crate) fn build_id(&self, path: &Path) -> Option<String> {
        let data = self.nodes.iter().find(|n| n.path == path)?.data.as_ref()?;
        elf::build_id(data).ok()?.map(elf::hex)
    }

    /// Every library read while the graph was built or searched is still what it was: else
    /// the error names it.
    pub(crate) fn unchanged(&self) -> Result<(), Error> {
        if let Some((path, what)) = &self.changed {
            return Err(Error::Changed {
                path: path.clone(),
                what: what.clone(),
            });
        }
        for node in &self.nodes {
            if let Some(bytes) = &node.data {
                file::unless_changed(&node.path, bytes, Ok(()))?;
            }
        }
        Ok(())
    }

    /// Every `DT_NEEDED` of an object below the binary that the loader would not find, with
    /// the object that needs it.
    pub(crate) fn unresolved_indirect(&self) -> Vec<(PathBuf, String)> {
        self.nodes
            .iter()
            .skip(1)
            .flat_map(|n| {
                n.needs
                    .iter()
                    .filter(|need| need.path.is_none())
                    .map(|need| (n.path.clone(), need.name.clone()))
            })
            .collect()
    }
}

fn searcher(path: &Path, origin: PathBuf, info: &ElfInfo<'_>, executable: bool) -> Searcher {
    Searcher {
        path: path.to_path_buf(),
        origin,
        runpath: info.runpath.iter().map(|s| (*s).to_owned()).collect(),
        rpath: info.rpath.iter().map(|s| (*s).to_owned()).collect(),
        nodeflib: info.nodeflib,
        executable,
    }
}

/// The graph while it is built: each object mapped, in the loader's order.
struct Builder<'c> {
    config: &'c Config,
    class64: bool,
    machine: u16,
    foreign: bool,
    nodes: Vec<Node>,
    /// Each node's `DT_NEEDED`, not searched yet.
    pending_needs: Vec<Vec<String>>,
    /// Names (DT_NEEDED names used and SONAMEs) and files already loaded.
    loaded: HashMap<String, usize>,
    /// Files already mapped, by what the loader knows them by (device, inode).
    files: HashMap<(u64, u64), usize>,
    changed: Option<(PathBuf, String)>,
    queue: VecDeque<usize>,
}

impl Builder<'_> {
    /// The search chain for what `index` needs: that object, the one that loaded it, and so on
    /// up to the executable.
    fn chain(&self, index: usize) -> Vec<&Searcher> {
        let mut chain = Vec::new();
        let mut at = Some(index);
        while let Some(i) = at {
            chain.push(&self.nodes[i].searcher);
            at = self.nodes[i].loader;
        }
        chain
    }

    /// `name` as the loader finds it for `index` (an object's `DT_NEEDED`, or a `preload`,
    /// which the loader looks for on behalf of the executable): the object it maps, and each
    /// place it tried. A name already loaded is that object.
    fn find(
        &mut self,
        name: &str,
        index: usize,
        preload: bool,
        trace: &mut Vec<Step>,
    ) -> Option<PathBuf> {
        if let Some(&existing) = self.loaded.get(name) {
            let path = self.nodes[existing].path.clone();
            trace.push(Step {
                source: "already loaded".into(),
                place: path.display().to_string(),
                outcome: "found: the loader reuses a loaded object of that name".into(),
            });
            return Some(path);
        }
        let chain = self.chain(index);
        let lookup = search::Lookup {
            class64: self.class64,
            machine: self.machine,
            foreign: self.foreign,
            preload,
        };
        let found = search::search(self.config, name, &chain, lookup, trace)?;
        let path = found.path.clone();
        let child = self.map(found, index, trace)?;
        self.loaded.entry(name.to_owned()).or_insert(child);
        Some(path)
    }

    /// The node of the file `found`, loaded by `index`: a new one unless the file is mapped
    /// already; `None` when the loader could not load it.
    fn map(&mut self, found: search::Found, index: usize, trace: &mut Vec<Step>) -> Option<usize> {
        let key = found.file.id();
        if let Some(&child) = self.files.get(&key) {
            return Some(child);
        }
        let data = found.file.into_bytes().ok()?;
        let found = found.path.as_path();
        let Ok(info) = elf::read_info(&data) else {
            if let Some(what) = data.changed() {
                self.changed.get_or_insert((found.to_path_buf(), what));
            }
            trace.push(Step {
                source: "open".into(),
                place: found.display().to_string(),
                outcome: "not a readable ELF file: the loader would fail".into(),
            });
            return None;
        };
        let origin = found.parent().map(Path::to_path_buf).unwrap_or_default();
        let child = self.nodes.len();
        let child_searcher = searcher(found, origin, &info, false);
        let child_needs: Vec<String> = info.needed.iter().map(|s| (*s).to_owned()).collect();
        if let Some(soname) = info.soname {
            self.loaded.entry(soname.to_owned()).or_insert(child);
        }
        // Kept for the symbol search: no second open of the same file.
        self.nodes.push(Node {
            path: found.to_path_buf(),
            searcher: child_searcher,
            loader: Some(index),
            refused: info.refused.clone(),
            data: Some(data),
            needs: Vec::new(),
        });
        self.pending_needs.push(child_needs);
        self.files.insert(key, child);
        self.queue.push_back(child);
        Some(child)
    }
}

/// Builds the load graph of the binary at `path`, whose own `info` is already read: the
/// binary, what `/etc/ld.so.preload` lists, then the `DT_NEEDED` libraries breadth first (the
/// order of glibc's `_dl_map_object_deps` with the preloads, which is also the order
/// `dlsym(RTLD_DEFAULT, ...)` searches them in).
pub(crate) fn build(config: &Config, path: &Path, info: &ElfInfo<'_>) -> Graph {
    let foreign = foreign(config, info);
    let mut builder = Builder::new(config, path, info, foreign.is_some());
    // This machine's preloads are no other machine's.
    let preloaded = if foreign.is_none() {
        builder.preloads()
    } else {
        Vec::new()
    };
    builder.needs();
    Graph {
        nodes: builder.nodes,
        foreign,
        changed: builder.changed,
        preloaded,
    }
}

/// What is said of a binary for another machine than this one.
fn foreign(config: &Config, info: &ElfInfo<'_>) -> Option<String> {
    (info.machine != config.machine || info.class64 != config.class64).then(|| {
        format!(
            "this is a {}-bit {} binary and this machine runs {}-bit {} ones: its libraries are \
             looked up only through its own RPATH/RUNPATH, as its own machine's loader, cache and \
             system directories are not here. It cannot be checked fully on this machine",
            if info.class64 { 64 } else { 32 },
            loader::machine_name(info.machine),
            if config.class64 { 64 } else { 32 },
            loader::machine_name(config.machine)
        )
    })
}

impl<'c> Builder<'c> {
    /// A graph of the binary alone, its `DT_NEEDED` not searched yet.
    fn new(config: &'c Config, path: &Path, info: &ElfInfo<'_>, foreign: bool) -> Builder<'c> {
        // The executable's $ORIGIN is its real directory (the loader reads /proc/self/exe).
        let origin = path
            .canonicalize()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| PathBuf::from("."));
        let mut loaded = HashMap::new();
        if let Some(soname) = info.soname {
            loaded.insert(soname.to_owned(), 0);
        }
        Builder {
            config,
            class64: info.class64,
            machine: info.machine,
            foreign,
            nodes: vec![Node {
                path: path.to_path_buf(),
                searcher: searcher(path, origin, info, info.kind == elf::ObjectKind::Executable),
                loader: None,
                data: None,
                refused: info.refused.clone(),
                needs: Vec::new(),
            }],
            pending_needs: vec![info.needed.iter().map(|s| (*s).to_owned()).collect()],
            loaded,
            files: HashMap::new(),
            changed: None,
            queue: VecDeque::from([0usize]),
        }
    }

    /// What `/etc/ld.so.preload` lists, each looked for on behalf of the executable and mapped
    /// after it, before its own libraries.
    fn preloads(&mut self) -> Vec<Need> {
        let mut preloaded = Vec::new();
        for name in loader::preload_file_entries() {
            let mut trace = Vec::new();
            let path = self.find(name, 0, true, &mut trace);
            if path.is_none() {
                trace.push(Step {
                    source: loader::PRELOAD_FILE.into(),
                    place: name.clone(),
                    outcome: "cannot be preloaded: the loader prints an error and goes on".into(),
                });
            }
            preloaded.push(Need {
                name: name.clone(),
                path,
                trace,
            });
        }
        preloaded
    }

    /// Every object's `DT_NEEDED`, breadth first.
    fn needs(&mut self) {
        while let Some(index) = self.queue.pop_front() {
            let names = std::mem::take(&mut self.pending_needs[index]);
            for name in names {
                let mut trace = Vec::new();
                let path = self.find(&name, index, false, &mut trace);
                self.nodes[index].needs.push(Need { name, path, trace });
            }
        }
    }
}

/// Where `dlsym` finds a name: the first object that exports it.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub path: PathBuf,
    /// What it finds there has the address 0 (`dlsym` returns NULL, without an error).
    pub null: Option<elf::NullAddress>,
    /// The version of the definition found (`GLIBC_2.2.5`), when it has one.
    pub version: Option<String>,
}

/// The first object after the binary, in load order, that exports each of `names`: what
/// `dlsym(RTLD_DEFAULT, name)` returns when the binary itself does not define it.
pub(crate) fn providers<'n>(graph: &Graph, names: &[&'n str]) -> HashMap<&'n str, Found> {
    let mut found = HashMap::new();
    let mut pending: Vec<&str> = names.to_vec();
    for node in graph.nodes.iter().skip(1) {
        if pending.is_empty() {
            break;
        }
        let Some(data) = &node.data else { continue };
        // An unreadable dependency provides nothing; the loader would fail on it too.
        let Ok((_, seen)) = elf::read(data, &pending, elf::Tables::Dynamic) else {
            continue;
        };
        let mut still = Vec::with_capacity(pending.len());
        for (name, s) in pending.iter().zip(seen) {
            if let Some(entry) = s.dynsym.filter(|e| e.is_exported()) {
                let path = node.path.clone();
                found.insert(
                    *name,
                    Found {
                        path,
                        null: entry.null,
                        version: s.version,
                    },
                );
            } else {
                still.push(*name);
            }
        }
        pending = still;
    }
    found
}
