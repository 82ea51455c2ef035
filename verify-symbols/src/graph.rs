//! The load graph: the binary and every library the loader maps for it, in the loader's order
//! (breadth first, each `DT_NEEDED` in order, a name already loaded not loaded again), which is
//! also the order `dlsym(RTLD_DEFAULT, ...)` searches them in.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};

use crate::elf::{self, ElfInfo};
use crate::file::FileBytes;
use crate::loader::{self, Config, Searcher, Step};

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
    /// [`crate::graph_unchanged`]).
    pub changed: Option<(PathBuf, String)>,
}

impl Graph {
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

fn searcher(path: &Path, origin: PathBuf, info: &ElfInfo<'_>) -> Searcher {
    Searcher {
        path: path.to_path_buf(),
        origin,
        runpath: info.runpath.iter().map(|s| (*s).to_owned()).collect(),
        rpath: info.rpath.iter().map(|s| (*s).to_owned()).collect(),
        nodeflib: info.nodeflib,
    }
}

/// Builds the load graph of the binary at `path`, whose own `info` is already read.
pub(crate) fn build(config: &Config, path: &Path, info: &ElfInfo<'_>) -> Graph {
    // The executable's $ORIGIN is its real directory (the loader reads /proc/self/exe).
    let origin = path
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    let foreign = (info.machine != config.machine || info.class64 != config.class64).then(|| {
        format!(
            "this is a {}-bit {} binary and this machine runs {}-bit {} ones: its libraries are \
             looked up only through its own RPATH/RUNPATH, as its own machine's loader, cache and \
             system directories are not here. It cannot be checked fully on this machine",
            if info.class64 { 64 } else { 32 },
            loader::machine_name(info.machine),
            if config.class64 { 64 } else { 32 },
            loader::machine_name(config.machine)
        )
    });
    let mut nodes = vec![Node {
        path: path.to_path_buf(),
        searcher: searcher(path, origin, info),
        loader: None,
        data: None,
        refused: info.refused.clone(),
        needs: Vec::new(),
    }];
    let mut pending_needs: Vec<Vec<String>> =
        vec![info.needed.iter().map(|s| (*s).to_owned()).collect()];
    // Names (DT_NEEDED names used and SONAMEs) and files already loaded.
    let mut loaded: HashMap<String, usize> = HashMap::new();
    let mut files: HashMap<PathBuf, usize> = HashMap::new();
    if let Some(soname) = info.soname {
        loaded.insert(soname.to_owned(), 0);
    }
    let mut changed = None;
    let mut queue = VecDeque::from([0usize]);
    while let Some(index) = queue.pop_front() {
        let names = std::mem::take(&mut pending_needs[index]);
        for name in names {
            if let Some(&existing) = loaded.get(&name) {
                let path = nodes[existing].path.clone();
                let step = Step {
                    source: "already loaded".into(),
                    place: path.display().to_string(),
                    outcome: "found: the loader reuses a loaded object of that name".into(),
                };
                nodes[index].needs.push(Need {
                    name,
                    path: Some(path),
                    trace: vec![step],
                });
                continue;
            }
            let mut chain = Vec::new();
            let mut at = Some(index);
            while let Some(i) = at {
                chain.push(&nodes[i].searcher);
                at = nodes[i].loader;
            }
            let mut trace = Vec::new();
            let found = loader::search(
                config,
                &name,
                &chain,
                info.class64,
                info.machine,
                foreign.is_some(),
                &mut trace,
            );
            let Some(found) = found else {
                nodes[index].needs.push(Need {
                    name,
                    path: None,
                    trace,
                });
                continue;
            };
            let key = found.canonicalize().unwrap_or_else(|_| found.clone());
            let child = match files.get(&key) {
                Some(&child) => child,
                None => {
                    let Ok(data) = crate::open(&found) else {
                        nodes[index].needs.push(Need {
                            name,
                            path: None,
                            trace,
                        });
                        continue;
                    };
                    let Ok(child_info) = elf::read_info(&data) else {
                        if let Some(what) = data.changed() {
                            changed.get_or_insert((found.clone(), what));
                        }
                        trace.push(Step {
                            source: "open".into(),
                            place: found.display().to_string(),
                            outcome: "not a readable ELF file: the loader would fail".into(),
                        });
                        nodes[index].needs.push(Need {
                            name,
                            path: None,
                            trace,
                        });
                        continue;
                    };
                    let origin = found.parent().map(Path::to_path_buf).unwrap_or_default();
                    let child = nodes.len();
                    let child_searcher = searcher(&found, origin, &child_info);
                    let child_needs: Vec<String> =
                        child_info.needed.iter().map(|s| (*s).to_owned()).collect();
                    if let Some(soname) = child_info.soname {
                        loaded.entry(soname.to_owned()).or_insert(child);
                    }
                    // Kept for the symbol search: no second open and map of the same file.
                    nodes.push(Node {
                        path: found.clone(),
                        searcher: child_searcher,
                        loader: Some(index),
                        refused: child_info.refused.clone(),
                        data: Some(data),
                        needs: Vec::new(),
                    });
                    pending_needs.push(child_needs);
                    files.insert(key, child);
                    queue.push_back(child);
                    child
                }
            };
            loaded.entry(name.clone()).or_insert(child);
            nodes[index].needs.push(Need {
                name,
                path: Some(found),
                trace,
            });
        }
    }
    Graph {
        nodes,
        foreign,
        changed,
    }
}

/// Where `dlsym` finds a name: the first object that exports it.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub path: PathBuf,
    /// What it finds there has the address 0 (`dlsym` returns NULL, without an error).
    pub null: Option<elf::NullAddress>,
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
