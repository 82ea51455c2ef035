//! What a JIT knows about its modules, without LLVM: which module provides each name (by the
//! rules ORC's `JITDylib::define` applies), which modules refer to which, and how far each
//! module's compilation got. The facade consults it to refuse what would be undefined
//! behaviour (removing code others call, calling code that failed to compile) and to find a
//! missing symbol before ORC would mark a module as failed for good.

use std::collections::{HashMap, HashSet};

use crate::signature::Signature;
use crate::symbols::{Defined, ModuleSymbols, Strength};

/// How far a module's compilation got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum State {
    /// Added; not compiled yet.
    Pending,
    /// Compiled and linked.
    Compiled,
    /// Compilation or linking failed with this message; ORC keeps its symbols in an error
    /// state, so every later lookup of them fails too.
    Failed(String),
}

#[derive(Debug)]
struct Entry {
    name: String,
    symbols: ModuleSymbols,
    state: State,
}

/// The modules of one JIT.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    modules: HashMap<u64, Entry>,
    /// Name → the module whose definition ORC kept.
    providers: HashMap<String, u64>,
}

impl Registry {
    /// Records a module ORC has accepted. `host` tells whether a name is a host function, which
    /// is defined before any module and so wins over a weak definition.
    pub(crate) fn insert(
        &mut self,
        id: u64,
        name: String,
        symbols: ModuleSymbols,
        host: impl Fn(&str) -> bool,
    ) {
        for defined in &symbols.defined {
            let taken = self.providers.contains_key(&defined.name) || host(&defined.name);
            // A strong definition replaces a weak one (ORC refused the module if the other was
            // strong); a weak one is discarded if anything is there first.
            if defined.strength == Strength::Strong || !taken {
                self.providers.insert(defined.name.clone(), id);
            }
        }
        self.modules.insert(
            id,
            Entry {
                name,
                symbols,
                state: State::Pending,
            },
        );
    }

    /// Forgets a module and the names it provided (ORC removes them; definitions it discarded
    /// in favour of this module's do not come back).
    pub(crate) fn remove(&mut self, id: u64) {
        self.modules.remove(&id);
        self.providers.retain(|_, provider| *provider != id);
    }

    pub(crate) fn contains(&self, id: u64) -> bool {
        self.modules.contains_key(&id)
    }

    pub(crate) fn name(&self, id: u64) -> &str {
        self.modules.get(&id).map_or("", |e| e.name.as_str())
    }

    pub(crate) fn state(&self, id: u64) -> Option<&State> {
        self.modules.get(&id).map(|e| &e.state)
    }

    pub(crate) fn set_state(&mut self, id: u64, state: State) {
        if let Some(entry) = self.modules.get_mut(&id) {
            entry.state = state;
        }
    }

    /// The definition of `name` that ORC will resolve it to, and its module.
    pub(crate) fn definition(&self, name: &str) -> Option<(u64, &Defined)> {
        let id = *self.providers.get(name)?;
        let defined = self.modules[&id]
            .symbols
            .defined
            .iter()
            .find(|d| d.name == name)?;
        Some((id, defined))
    }

    /// Every module and the declarations it makes of `name`, for checking a new definition.
    pub(crate) fn declarations<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Signature)> + 'a {
        self.modules.values().flat_map(move |e| {
            e.symbols
                .declared
                .iter()
                .filter(move |(n, _)| n == name)
                .map(move |(_, sig)| (e.name.as_str(), sig))
        })
    }

    /// The names module `id`'s code resolves elsewhere: what it references, and its weak
    /// definitions that another definition won.
    fn references(&self, id: u64) -> impl Iterator<Item = &str> {
        let symbols = &self.modules[&id].symbols;
        let overridden = symbols
            .defined
            .iter()
            .filter(move |d| self.providers.get(&d.name) != Some(&id))
            .map(|d| d.name.as_str());
        symbols
            .referenced
            .iter()
            .map(String::as_str)
            .chain(overridden)
    }

    /// The other modules whose code refers to a name module `id` provides, by name.
    pub(crate) fn dependents(&self, id: u64) -> Vec<String> {
        let mut names: Vec<String> = self
            .modules
            .keys()
            .filter(|&&other| other != id)
            .filter(|&&other| {
                self.references(other)
                    .any(|name| self.providers.get(name) == Some(&id))
            })
            .map(|&other| self.modules[&other].name.clone())
            .collect();
        names.sort();
        names
    }

    /// Module `id` and every module it reaches through the names it refers to.
    pub(crate) fn closure(&self, id: u64) -> Vec<u64> {
        let mut seen = HashSet::from([id]);
        let mut order = vec![id];
        let mut next = 0;
        while next < order.len() {
            let current = order[next];
            next += 1;
            for name in self.references(current) {
                if let Some(&provider) = self.providers.get(name)
                    && seen.insert(provider)
                {
                    order.push(provider);
                }
            }
        }
        order
    }

    /// The names `modules` refer to that no module provides: they must come from a symbol
    /// source. Sorted, without duplicates.
    pub(crate) fn externals(&self, modules: &[u64]) -> Vec<String> {
        let mut names: Vec<String> = modules
            .iter()
            .flat_map(|&id| self.references(id))
            .filter(|name| !self.providers.contains_key(*name))
            .map(str::to_owned)
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Whether every module of `modules` that refers to `name` does so `extern_weak`, so that
    /// it may stay unresolved.
    pub(crate) fn only_weakly_referenced(&self, modules: &[u64], name: &str) -> bool {
        modules.iter().all(|id| {
            let symbols = &self.modules[id].symbols;
            !symbols.referenced.iter().any(|r| r == name)
                || symbols.weak_references.iter().any(|r| r == name)
        })
    }

    /// Every definition of `name` as data a module has, with its module's name.
    pub(crate) fn data_definitions<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Defined)> + 'a {
        self.modules.values().flat_map(move |e| {
            e.symbols
                .defined
                .iter()
                .filter(move |d| d.name == name && d.kind == crate::symbols::Kind::Data)
                .map(move |d| (e.name.as_str(), d))
        })
    }

    /// Every weak definition of `name` a module has, with its signature (functions only):
    /// a strong definition added later replaces them all, for their callers too.
    pub(crate) fn weak_definitions<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Signature)> + 'a {
        self.modules.values().flat_map(move |e| {
            e.symbols
                .defined
                .iter()
                .filter(move |d| d.name == name && d.strength == Strength::Weak)
                .filter_map(move |d| Some((e.name.as_str(), d.signature.as_ref()?)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbols(strong: &[&str], weak: &[&str], referenced: &[&str]) -> ModuleSymbols {
        let def = |strength| {
            move |name: &&str| Defined {
                name: name.to_string(),
                strength,
                signature: None,
                kind: crate::symbols::Kind::Data,
                size: 0,
            }
        };
        ModuleSymbols {
            defined: strong
                .iter()
                .map(def(Strength::Strong))
                .chain(weak.iter().map(def(Strength::Weak)))
                .collect(),
            referenced: referenced.iter().map(|s| s.to_string()).collect(),
            ..ModuleSymbols::default()
        }
    }

    #[test]
    fn the_first_weak_definition_wins_and_a_strong_one_replaces_it() {
        let mut r = Registry::default();
        r.insert(1, "a".into(), symbols(&[], &["g"], &[]), |_| false);
        r.insert(2, "b".into(), symbols(&[], &["g"], &[]), |_| false);
        assert_eq!(r.definition("g").unwrap().0, 1);
        // b's own calls of g go to a's definition: b depends on a.
        assert_eq!(r.dependents(1), ["b"]);
        r.insert(3, "c".into(), symbols(&["g"], &[], &[]), |_| false);
        assert_eq!(r.definition("g").unwrap().0, 3);
        r.remove(3);
        assert!(
            r.definition("g").is_none(),
            "discarded definitions do not come back"
        );
    }

    #[test]
    fn a_host_function_wins_over_a_weak_definition() {
        let mut r = Registry::default();
        r.insert(1, "a".into(), symbols(&[], &["abs"], &[]), |n| n == "abs");
        assert!(r.definition("abs").is_none());
        assert_eq!(r.externals(&[1]), ["abs"]);
    }

    #[test]
    fn dependents_closure_and_externals_follow_references() {
        let mut r = Registry::default();
        r.insert(1, "a".into(), symbols(&["g"], &[], &["h"]), |_| false);
        r.insert(2, "b".into(), symbols(&["f"], &[], &["g", "puts"]), |_| {
            false
        });
        assert_eq!(r.dependents(1), ["b"]);
        assert!(r.dependents(2).is_empty());
        assert_eq!(r.closure(2), [2, 1]);
        assert_eq!(r.externals(&r.closure(2)), ["h", "puts"]);
        r.remove(2);
        assert!(r.dependents(1).is_empty());
    }
}
