//! Looking symbols up: the ABI check against the definition ORC will call, resolving what a
//! module needs from symbol sources before compiling it, and turning what the compilation said
//! into this lookup's own error.

use llvm_sys::orc2::lljit::LLVMOrcLLJITLookup;

use crate::error::{Error, Result};
use crate::jit::{Function, Jit};
use crate::llvm::{c_string, take_error};
use crate::registry::State;
use crate::signature::{JitFn, check_call};
use crate::sources::{HostFunction, SymbolSource};
use crate::symbols::Kind;

thread_local! {
    /// The JITs this thread is inside a lookup of (a symbol lookup callback runs there).
    static LOOKING_UP: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Marks this thread as inside a lookup of one JIT, until dropped.
struct InLookup(u64);

impl InLookup {
    fn enter(jit: u64) -> InLookup {
        LOOKING_UP.with(|l| l.borrow_mut().push(jit));
        InLookup(jit)
    }
}

impl Drop for InLookup {
    fn drop(&mut self) {
        LOOKING_UP.with(|l| {
            let mut l = l.borrow_mut();
            if let Some(i) = l.iter().rposition(|&j| j == self.0) {
                l.remove(i);
            }
        });
    }
}

impl Jit {
    /// Looks up function `name`, checks that the definition ORC will call has the ABI of `F`,
    /// compiles what it needs, and returns a typed handle that borrows the JIT.
    ///
    /// ```no_run
    /// # let jit = orc_jit::Jit::new()?;
    /// let f = jit.lookup::<extern "C" fn() -> i32>("f")?;
    /// // SAFETY: f, from a module we wrote, only returns a constant.
    /// println!("f() = {}", unsafe { f.call() });
    /// # Ok::<(), orc_jit::Error>(())
    /// ```
    pub fn lookup<F: JitFn>(&self, name: &str) -> Result<Function<'_, F>> {
        self.not_reentrant()?;
        let requested = F::signature();
        let defined = {
            let modules = self.lock_modules();
            match modules.registry.definition(name) {
                Some((id, d)) => match (&d.signature, d.kind) {
                    (Some(signature), _) => Some(signature.clone()),
                    (None, Kind::Function) => None,
                    (None, kind) => {
                        return Err(Error::NotAFunction {
                            name: name.to_owned(),
                            module: modules.registry.name(id).to_owned(),
                            what: match kind {
                                Kind::AsmCode => {
                                    "code that only `module asm` defines, whose ABI \
                                                  orc-jit cannot check (its address is \
                                                  `lookup_address`'s, to use at your own risk)"
                                }
                                _ => "data",
                            },
                        });
                    }
                },
                None => self
                    .host
                    .get(name)
                    .and_then(HostFunction::signature)
                    .cloned(),
            }
        };
        let defined = defined.ok_or_else(|| Error::NoSuchFunction {
            name: name.to_owned(),
        })?;
        if let Err(reason) = check_call(&defined, &requested) {
            return Err(Error::SignatureMismatch {
                name: name.to_owned(),
                defined: Box::new(defined),
                requested: Box::new(requested),
                reason,
            });
        }
        let address = self.lookup_address(name)?;
        // SAFETY: `address` is the entry of the definition of `name` ORC resolved, whose ABI
        // check_call found to be F's.
        Ok(Function::new(unsafe { F::from_address(address) }))
    }

    /// The address of any symbol the JIT can resolve, compiling what it needs. The address is
    /// valid while the module defining it stays in the JIT; using it is up to you (`unsafe`).
    ///
    /// Before compiling a module, every name it (and each module it refers to) needs from a
    /// symbol source is resolved: a missing one is [`Error::MissingSymbols`] and leaves the
    /// module untouched, so the same lookup succeeds once the symbol has been added. A module
    /// that fails to compile is [`Error::Compile`] with LLVM's message, now and on every later
    /// lookup of it or of modules that refer to it.
    pub fn lookup_address(&self, name: &str) -> Result<u64> {
        self.not_reentrant()?;
        if name.is_empty() {
            return Err(Error::InvalidName(String::new()));
        }
        let c_name = c_string(name)?;
        let _compiling = self.compile_lock.lock().unwrap_or_else(|e| e.into_inner());
        let _in_lookup = InLookup::enter(self.id);
        // The module defining `name`, the modules its compilation will compile, and the names
        // they need from symbol sources (all of them, and those only referenced extern_weak).
        let (target, pending, externals, weak) = {
            let modules = self.lock_modules();
            let registry = &modules.registry;
            match registry.definition(name) {
                None => (None, Vec::new(), Vec::new(), Vec::new()),
                Some((id, _)) => {
                    let closure = registry.closure(id);
                    for &m in &closure {
                        if let Some(State::Failed(message)) = registry.state(m) {
                            return Err(Error::Compile {
                                module: registry.name(m).to_owned(),
                                message: message.clone(),
                            });
                        }
                    }
                    let pending: Vec<u64> = closure
                        .into_iter()
                        .filter(|&m| registry.state(m) == Some(&State::Pending))
                        .collect();
                    let resolved = self.resolved.lock().unwrap_or_else(|e| e.into_inner());
                    let (externals, weak) = registry
                        .externals(&pending)
                        .into_iter()
                        .filter(|n| !self.host.contains_key(n) && !resolved.contains(n))
                        .partition(|n| !registry.only_weakly_referenced(&pending, n));
                    (Some(id), pending, externals, weak)
                }
            }
        };
        if !externals.is_empty() || !weak.is_empty() {
            self.resolve_externals(externals, weak)?;
        }
        let (address, err) = match self.orc_lookup(&c_name) {
            Ok(address) => (address, None),
            Err(message) => (0, Some(message)),
        };
        self.finish_lookup(name, target, &pending, err, address)
    }

    /// ORC's lookup of one name in the main JITDylib: its address, or ORC's message.
    pub(crate) fn orc_lookup(&self, name: &std::ffi::CStr) -> std::result::Result<u64, String> {
        let mut address = 0;
        // SAFETY: the LLJIT is live; the name is a valid C string; the error is consumed.
        let err = unsafe {
            take_error(LLVMOrcLLJITLookup(
                self.lljit.as_ptr(),
                &mut address,
                name.as_ptr(),
            ))
        };
        err.map_or(Ok(address), Err)
    }

    /// Resolves names that must come from symbol sources, one by one, so that a missing one
    /// fails only this lookup and marks no module as failed.
    /// `weak` names (only `extern_weak` references) may stay unresolved.
    fn resolve_externals(&self, names: Vec<String>, weak: Vec<String>) -> Result<()> {
        let mut missing = Vec::new();
        for (external, required) in names
            .into_iter()
            .map(|n| (n, true))
            .chain(weak.into_iter().map(|n| (n, false)))
        {
            match self.orc_lookup(&c_string(&external)?) {
                Ok(_) => {
                    self.resolved
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(external);
                }
                Err(message) if !missing_symbols(&message).is_empty() => {
                    if required {
                        missing.push(external);
                    }
                }
                Err(message) => {
                    self.session_errors.take();
                    return Err(Error::Llvm(format!(
                        "resolving `{external}` failed: {message}"
                    )));
                }
            }
        }
        self.session_errors.take();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::MissingSymbols {
                hint: self.missing_hint(&missing),
                symbols: missing,
            })
        }
    }

    /// Collects what the lookup's compilation said, records each module's outcome, and turns
    /// ORC's error (or an error diagnostic ORC did not turn into one) into this lookup's error.
    fn finish_lookup(
        &self,
        name: &str,
        target: Option<u64>,
        pending: &[u64],
        err: Option<String>,
        address: u64,
    ) -> Result<u64> {
        let session = self.session_errors.take();
        let mut modules = self.lock_modules();
        // Modules are compiled when added: what fails here is linking (a missing symbol, a
        // relocation the linker cannot apply). ORC keeps failed symbols failed: so does the
        // registry, with the cause, for every later lookup of them or of modules that refer
        // to them.
        let culprits: Vec<u64> = target.into_iter().collect();
        let compile_error = |lines: Vec<String>| Error::Compile {
            module: culprits
                .first()
                .map(|&id| modules.registry.name(id).to_owned())
                .unwrap_or_default(),
            message: lines.join("\n"),
        };
        let error = match err {
            None => {
                for &id in pending {
                    modules.registry.set_state(id, State::Compiled);
                }
                if target.is_none() {
                    // A symbol source defined it in the JITDylib: a later weak definition of
                    // the name loses to it.
                    self.resolved
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(name.to_owned());
                }
                drop(modules);
                // Linked now: profilers learn where (before any of it can run).
                self.publish_code(pending);
                return Ok(address);
            }
            // Not a module's symbol (a process symbol, say): nothing to mark.
            Some(message) if target.is_none() => {
                return Err(self.lookup_error(name, &message, &session));
            }
            // The target's materialisation (its linking) failed.
            Some(message) => match self.lookup_error(name, &message, &session) {
                missing @ Error::MissingSymbols { .. } => missing,
                _ => compile_error(std::iter::once(message).chain(session).collect()),
            },
        };
        let cause = match &error {
            Error::Compile { message, .. } => message.clone(),
            other => other.to_string(),
        };
        for &id in &culprits {
            modules.registry.set_state(id, State::Failed(cause.clone()));
        }
        Err(error)
    }

    fn lookup_error(&self, name: &str, message: &str, session: &[String]) -> Error {
        let mut missing: Vec<String> = std::iter::once(message)
            .chain(session.iter().map(String::as_str))
            .flat_map(missing_symbols)
            .collect();
        missing.sort();
        missing.dedup();
        if missing.is_empty() {
            Error::Llvm(message.to_owned())
        } else if missing == [name] {
            Error::NoSuchFunction {
                name: name.to_owned(),
            }
        } else {
            Error::MissingSymbols {
                hint: self.missing_hint(&missing),
                symbols: missing,
            }
        }
    }

    /// A symbol lookup callback runs inside ORC's lookup, on the looking-up thread: calling
    /// back into the same JIT there would deadlock.
    pub(crate) fn not_reentrant(&self) -> Result<()> {
        if LOOKING_UP.with(|l| l.borrow().contains(&self.id)) {
            Err(Error::Reentrant)
        } else {
            Ok(())
        }
    }

    /// Where the JIT looked, in order, and the likely fix for each kind of source; then, when
    /// the process is searched, what this program's own note (its build's jit-linkage note,
    /// read through jit-exports) says of each of `missing`, and the exported names of the
    /// process close to it.
    fn missing_hint(&self, missing: &[String]) -> String {
        let searched: Vec<String> = self.sources.iter().map(SymbolSource::describe).collect();
        let mut hint = format!("Searched, in order: {}.", searched.join("; "));
        if self
            .sources
            .iter()
            .any(|s| matches!(s, SymbolSource::Process))
        {
            hint.push(' ');
            hint.push_str(PROCESS_HINT);
            if let Some(advice) = jit_exports::advice::for_this_process(missing) {
                hint.push(' ');
                hint.push_str(&advice);
                hint.push('.');
            }
        }
        if self.sources.iter().any(|s| {
            matches!(
                s,
                SymbolSource::SharedLibrary(_) | SymbolSource::StaticArchive(_)
            )
        }) {
            hint.push_str(
                " A library or archive given by path must define the symbol with default \
                 visibility: check a shared library with the toolkit's verify-symbols \
                 (`verify-symbols --binary LIB --symbol NAME`).",
            );
        }
        hint
    }
}

const PROCESS_HINT: &str = "If the symbols come from a C library linked into this binary: a static archive must be linked whole \
(+whole-archive) and its symbols exported (--dynamic-list or --export-dynamic); a shared \
library must stay in DT_NEEDED (not dropped by --as-needed) and be found on the binary's \
RUNPATH. Check the binary with the toolkit's verify-symbols \
(`verify-symbols --binary PATH --symbol NAME`).";

/// The names in LLVM's "Symbols not found: [ a, b ]".
fn missing_symbols(message: &str) -> Vec<String> {
    let Some(start) = message.find("Symbols not found: [") else {
        return Vec::new();
    };
    let rest = &message[start + "Symbols not found: [".len()..];
    let list = rest.split(']').next().unwrap_or("");
    list.split(',')
        .map(|s| s.trim().trim_matches('"').to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::missing_symbols;

    #[test]
    fn reads_llvm_missing_symbol_lists() {
        assert_eq!(missing_symbols("Symbols not found: [ a, b ]"), ["a", "b"]);
        assert_eq!(missing_symbols("Symbols not found: [ x ]"), ["x"]);
        assert!(missing_symbols("Duplicate definition of symbol 'f'").is_empty());
    }
}
