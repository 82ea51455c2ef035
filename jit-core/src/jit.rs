//! The JIT: an ORC v2 LLJIT, its builder, module handles and typed function handles.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::path::Path;
use std::ptr::{self, NonNull};
use std::sync::Mutex;

use llvm_sys::orc2::lljit::{
    LLVMOrcCreateLLJIT, LLVMOrcCreateLLJITBuilder, LLVMOrcDisposeLLJIT,
    LLVMOrcLLJITAddLLVMIRModuleWithRT, LLVMOrcLLJITBuilderSetJITTargetMachineBuilder,
    LLVMOrcLLJITGetExecutionSession, LLVMOrcLLJITGetMainJITDylib, LLVMOrcLLJITLookup,
    LLVMOrcOpaqueLLJIT,
};
use llvm_sys::orc2::{
    LLVMOrcCreateNewThreadSafeModule, LLVMOrcDisposeThreadSafeContext,
    LLVMOrcExecutionSessionSetErrorReporter, LLVMOrcJITDylibCreateResourceTracker,
    LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine, LLVMOrcOpaqueResourceTracker,
    LLVMOrcReleaseResourceTracker, LLVMOrcResourceTrackerRemove,
};
use llvm_sys::target_machine::{LLVMCodeGenOptLevel, LLVMCodeModel, LLVMRelocMode};

use crate::llvm::{Diagnostics, c_string, session_error_reporter, take_error};
use crate::module::Module;
use crate::signature::{JitFn, Signature};
use crate::sources::{Installed, SymbolSource, install, search_order};
use crate::target::TargetMachine;
use crate::{Error, Result};

/// How code refers to addresses. JIT code should be position-independent, like the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RelocModel {
    /// Position-independent code (the default).
    #[default]
    Pic,
    /// Absolute addresses.
    Static,
    /// Position-dependent code that may refer to symbols in shared libraries.
    DynamicNoPic,
}

/// The code model of the target machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CodeModel {
    /// LLVM's choice for JIT code (the default).
    #[default]
    JitDefault,
    /// Code and data within 2 GiB.
    Small,
    /// Code within 2 GiB, data anywhere.
    Medium,
    /// No assumptions.
    Large,
}

/// The code generator's optimisation level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OptLevel {
    /// `-O0`.
    O0,
    /// `-O1`.
    O1,
    /// `-O2` (the default).
    #[default]
    O2,
    /// `-O3`.
    O3,
}

/// Configures a [`Jit`]: code generation and the [`SymbolSource`]s its code can call into.
#[derive(Debug, Clone)]
pub struct JitBuilder {
    reloc: RelocModel,
    code_model: CodeModel,
    opt_level: OptLevel,
    process_symbols: bool,
    sources: Vec<SymbolSource>,
}

impl Default for JitBuilder {
    fn default() -> Self {
        JitBuilder {
            reloc: RelocModel::default(),
            code_model: CodeModel::default(),
            opt_level: OptLevel::default(),
            process_symbols: true,
            sources: Vec::new(),
        }
    }
}

impl JitBuilder {
    /// Whether to search this process's dynamic symbol table ([`SymbolSource::Process`]).
    /// On by default.
    pub fn process_symbols(&mut self, yes: bool) -> &mut Self {
        self.process_symbols = yes;
        self
    }

    /// Loads a shared library permanently and searches it ([`SymbolSource::SharedLibrary`]).
    pub fn shared_library(&mut self, path: impl AsRef<Path>) -> &mut Self {
        self.symbol_source(SymbolSource::SharedLibrary(path.as_ref().to_path_buf()))
    }

    /// Links members of a static archive into the JIT on demand ([`SymbolSource::StaticArchive`]).
    pub fn static_archive(&mut self, path: impl AsRef<Path>) -> &mut Self {
        self.symbol_source(SymbolSource::StaticArchive(path.as_ref().to_path_buf()))
    }

    /// Makes a host function callable from JIT code under `name`
    /// ([`SymbolSource::HostFunctions`]).
    pub fn host_function<F: JitFn>(&mut self, name: impl Into<String>, function: F) -> &mut Self {
        let pair = (name.into(), function.address());
        match self.sources.iter_mut().find_map(|s| match s {
            SymbolSource::HostFunctions(list) => Some(list),
            _ => None,
        }) {
            Some(list) => list.push(pair),
            None => self.sources.push(SymbolSource::HostFunctions(vec![pair])),
        }
        self
    }

    /// Asks `lookup` for names no earlier source defines ([`SymbolSource::Lookup`]). It returns
    /// the address of the symbol, which must stay valid while the JIT lives, or `None`.
    pub fn symbol_lookup(
        &mut self,
        lookup: impl Fn(&str) -> Option<u64> + Send + Sync + 'static,
    ) -> &mut Self {
        self.symbol_source(SymbolSource::Lookup(std::sync::Arc::new(lookup)))
    }

    /// Adds any [`SymbolSource`].
    pub fn symbol_source(&mut self, source: SymbolSource) -> &mut Self {
        if matches!(source, SymbolSource::Process) {
            self.process_symbols = true;
        } else {
            self.sources.push(source);
        }
        self
    }

    /// The relocation model (default [`RelocModel::Pic`]).
    pub fn relocation_model(&mut self, reloc: RelocModel) -> &mut Self {
        self.reloc = reloc;
        self
    }

    /// The code model (default [`CodeModel::JitDefault`]).
    pub fn code_model(&mut self, model: CodeModel) -> &mut Self {
        self.code_model = model;
        self
    }

    /// The code generator's optimisation level (default [`OptLevel::O2`]).
    pub fn opt_level(&mut self, level: OptLevel) -> &mut Self {
        self.opt_level = level;
        self
    }

    /// Creates the JIT for the host: its triple, CPU and CPU features.
    pub fn build(&self) -> Result<Jit> {
        let diagnostics = Box::new(Diagnostics::default());
        let machine = TargetMachine::host(self.opt_level, self.reloc, self.code_model)?;
        // SAFETY: the target machine is given to the JTMB, the JTMB to the builder, the builder
        // to LLVMOrcCreateLLJIT; each takes ownership, so none is freed by us afterwards.
        let lljit = unsafe {
            let jtmb = LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(machine.into_raw());
            let builder = LLVMOrcCreateLLJITBuilder();
            LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, jtmb);
            let mut lljit = ptr::null_mut();
            if let Some(message) = take_error(LLVMOrcCreateLLJIT(&mut lljit, builder)) {
                return Err(Error::Llvm(format!("cannot create the JIT: {message}")));
            }
            NonNull::new(lljit).ok_or_else(|| Error::Llvm("LLJIT creation returned null".into()))?
        };
        let mut sources = self.sources.clone();
        if self.process_symbols {
            sources.push(SymbolSource::Process);
        }
        let mut jit = Jit {
            lljit,
            diagnostics,
            modules: Mutex::new(Modules::default()),
            compile_lock: Mutex::new(()),
            sources: search_order(&sources),
            installed: Installed::default(),
        };
        // SAFETY: the session lives as long as the LLJIT; the reporter's context is the
        // Diagnostics box, which Jit::drop frees only after disposing the LLJIT.
        unsafe {
            let session = LLVMOrcLLJITGetExecutionSession(jit.lljit.as_ptr());
            LLVMOrcExecutionSessionSetErrorReporter(
                session,
                session_error_reporter,
                jit.diagnostics.as_context(),
            );
        }
        for source in jit.sources.clone() {
            // SAFETY: the LLJIT is live; `installed` lives in the Jit, which disposes the LLJIT
            // before dropping it. On error the half-built Jit is dropped, which is sound.
            unsafe { install(jit.lljit.as_ptr(), &source, &mut jit.installed)? };
        }
        Ok(jit)
    }
}

impl From<RelocModel> for LLVMRelocMode {
    fn from(model: RelocModel) -> Self {
        match model {
            RelocModel::Pic => LLVMRelocMode::LLVMRelocPIC,
            RelocModel::Static => LLVMRelocMode::LLVMRelocStatic,
            RelocModel::DynamicNoPic => LLVMRelocMode::LLVMRelocDynamicNoPic,
        }
    }
}

impl From<CodeModel> for LLVMCodeModel {
    fn from(model: CodeModel) -> Self {
        match model {
            CodeModel::JitDefault => LLVMCodeModel::LLVMCodeModelJITDefault,
            CodeModel::Small => LLVMCodeModel::LLVMCodeModelSmall,
            CodeModel::Medium => LLVMCodeModel::LLVMCodeModelMedium,
            CodeModel::Large => LLVMCodeModel::LLVMCodeModelLarge,
        }
    }
}

impl From<OptLevel> for LLVMCodeGenOptLevel {
    fn from(level: OptLevel) -> Self {
        match level {
            OptLevel::O0 => LLVMCodeGenOptLevel::LLVMCodeGenLevelNone,
            OptLevel::O1 => LLVMCodeGenOptLevel::LLVMCodeGenLevelLess,
            OptLevel::O2 => LLVMCodeGenOptLevel::LLVMCodeGenLevelDefault,
            OptLevel::O3 => LLVMCodeGenOptLevel::LLVMCodeGenLevelAggressive,
        }
    }
}

/// A module in the JIT, named by the handle [`Jit::add_module`] returned.
struct Loaded {
    tracker: NonNull<LLVMOrcOpaqueResourceTracker>,
    functions: Vec<(String, Signature)>,
}

#[derive(Default)]
struct Modules {
    next_id: u64,
    loaded: HashMap<u64, Loaded>,
}

/// Names a module added to a [`Jit`]; pass it to [`Jit::remove_module`] to unload the module.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ModuleHandle {
    id: u64,
    jit: usize,
}

/// An LLVM ORC v2 JIT (LLJIT) for the host, whose code can call into the host process.
///
/// Symbols that JIT code uses but does not define are looked up in this process's dynamic
/// symbol table, like `dlsym(RTLD_DEFAULT, ...)`: the host binary must export them (see the
/// jit-linkage crate).
pub struct Jit {
    lljit: NonNull<LLVMOrcOpaqueLLJIT>,
    // Boxed so its address is stable: LLVM holds a pointer to it until the LLJIT is disposed.
    diagnostics: Box<Diagnostics>,
    modules: Mutex<Modules>,
    /// Held around every ORC lookup, the only place code is compiled. With no compile threads
    /// (and LLVM 14's C API cannot ask for them) LLJIT compiles with one shared TargetMachine,
    /// which is not thread-safe: two threads compiling at once crash. Calls into compiled code
    /// do not take it.
    compile_lock: Mutex<()>,
    /// In search order.
    sources: Vec<SymbolSource>,
    /// Kept alive for LLVM until the LLJIT is disposed.
    installed: Installed,
}

// SAFETY: ORC's ExecutionSession is designed for concurrent use: adding modules and looking
// symbols up take the session's locks, and each module lives in its own ThreadSafeContext.
// Compilation, which in LLVM 14's default LLJIT shares one TargetMachine, only happens inside
// lookups, and those are serialised by `compile_lock`. Our own state is behind Mutexes
// (modules, diagnostics), and the lookup callbacks we hold are `Send + Sync`. Removing a module or dropping the JIT needs
// `&mut Jit` or ownership, so it cannot race with a call into code it frees.
unsafe impl Send for Jit {}
// SAFETY: as above: every `&self` method is safe to run from several threads at once.
unsafe impl Sync for Jit {}

impl Jit {
    /// A JIT with the default settings: host CPU, PIC, O2, process symbols.
    pub fn new() -> Result<Jit> {
        JitBuilder::default().build()
    }

    /// A builder to configure the JIT.
    pub fn builder() -> JitBuilder {
        JitBuilder::default()
    }

    /// Parses textual IR or bitcode (told apart by content) and verifies it. `name` appears in
    /// diagnostics.
    pub fn parse_module(&self, name: &str, bytes: &[u8]) -> Result<Module<'_>> {
        Module::parse(&self.diagnostics, name, bytes)
    }

    /// Reads, parses and verifies a `.ll` or `.bc` file.
    pub fn load_module(&self, path: impl AsRef<Path>) -> Result<Module<'_>> {
        let (name, bytes) = read_module_file(path.as_ref())?;
        self.parse_module(&name, &bytes)
    }

    /// Adds a module. Its functions can be looked up afterwards; it is compiled on first lookup.
    ///
    /// Adding a module is trusting its code as one trusts a linked C library: a lookup checks
    /// that the Rust signature matches the function's LLVM type, but what the code does when
    /// called is up to the code.
    pub fn add_module(&self, module: Module<'_>) -> Result<ModuleHandle> {
        let name = module.name().to_owned();
        let functions = module.defined_functions();
        let (context, raw_module) = module.into_raw();
        // SAFETY: the thread-safe module takes the raw module; we then drop our context
        // reference (the TSM keeps its own). The tracker is a new reference, owned by `Loaded`
        // (released in remove_module or Drop). AddLLVMIRModuleWithRT takes the TSM in all cases.
        let (tracker, result) = unsafe {
            let tsm = LLVMOrcCreateNewThreadSafeModule(raw_module.as_ptr(), context.as_ptr());
            LLVMOrcDisposeThreadSafeContext(context.as_ptr());
            let dylib = LLVMOrcLLJITGetMainJITDylib(self.lljit.as_ptr());
            let tracker = LLVMOrcJITDylibCreateResourceTracker(dylib);
            let err = LLVMOrcLLJITAddLLVMIRModuleWithRT(self.lljit.as_ptr(), tracker, tsm);
            (tracker, take_error(err))
        };
        let tracker = NonNull::new(tracker)
            .ok_or_else(|| Error::Llvm("ORC returned no resource tracker".into()))?;
        if let Some(message) = result {
            // SAFETY: the tracker is ours and holds nothing; release our reference.
            unsafe { LLVMOrcReleaseResourceTracker(tracker.as_ptr()) };
            self.diagnostics.take();
            return Err(Error::ModuleRejected { name, message });
        }
        let mut modules = self.lock_modules();
        let id = modules.next_id;
        modules.next_id += 1;
        modules.loaded.insert(id, Loaded { tracker, functions });
        Ok(ModuleHandle {
            id,
            jit: self.identity(),
        })
    }

    /// Removes a module: frees its code and its symbols. Needs `&mut self`, so no
    /// [`Function`] handle (which borrows the JIT) can still point into the removed code.
    pub fn remove_module(&mut self, handle: ModuleHandle) -> Result<()> {
        if handle.jit != self.identity() {
            return Err(Error::StaleHandle(handle.id));
        }
        let loaded = self
            .lock_modules()
            .loaded
            .remove(&handle.id)
            .ok_or(Error::StaleHandle(handle.id))?;
        // SAFETY: the tracker is live and ours; remove it from the JIT, then release our
        // reference exactly once.
        let result = unsafe {
            let err = LLVMOrcResourceTrackerRemove(loaded.tracker.as_ptr());
            LLVMOrcReleaseResourceTracker(loaded.tracker.as_ptr());
            take_error(err)
        };
        match result {
            Some(message) => Err(Error::Llvm(format!(
                "removing the module failed: {message}"
            ))),
            None => Ok(()),
        }
    }

    /// Looks up function `name`, checks that its LLVM signature is that of `F`, and returns a
    /// typed handle that borrows the JIT. Compiles the function's module if needed.
    ///
    /// ```no_run
    /// # let jit = jit_core::Jit::new()?;
    /// let f = jit.lookup::<extern "C" fn() -> i32>("f")?;
    /// println!("f() = {}", f.call());
    /// # Ok::<(), jit_core::Error>(())
    /// ```
    pub fn lookup<F: JitFn>(&self, name: &str) -> Result<Function<'_, F>> {
        let defined = self
            .signature_of(name)
            .ok_or_else(|| Error::NoSuchFunction {
                name: name.to_owned(),
            })?;
        let requested = F::signature();
        if defined != requested {
            return Err(Error::SignatureMismatch {
                name: name.to_owned(),
                defined: Box::new(defined),
                requested: Box::new(requested),
            });
        }
        let address = self.lookup_address(name)?;
        Ok(Function {
            // SAFETY: `address` is the entry of `name`, whose LLVM signature equals F's.
            function: unsafe { F::from_address(address) },
            _jit: PhantomData,
        })
    }

    /// The address of any symbol the JIT can resolve, compiling what it needs. The address is
    /// valid while the module defining it stays in the JIT; using it is up to you (`unsafe`).
    pub fn lookup_address(&self, name: &str) -> Result<u64> {
        let c_name = c_string(name)?;
        let mut address = 0;
        let _compiling = self.compile_lock.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: the LLJIT is live; the name is a valid C string; the error is consumed.
        let err = unsafe {
            take_error(LLVMOrcLLJITLookup(
                self.lljit.as_ptr(),
                &mut address,
                c_name.as_ptr(),
            ))
        };
        // Session errors (the failed materialisation) repeat what the lookup error says.
        let session = self.diagnostics.take();
        match err {
            None => Ok(address),
            Some(message) => Err(self.lookup_error(name, &message, &session)),
        }
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
        } else if missing == [name] && self.signature_of(name).is_none() {
            Error::NoSuchFunction {
                name: name.to_owned(),
            }
        } else {
            Error::MissingSymbols {
                symbols: missing,
                hint: self.missing_hint(),
            }
        }
    }

    /// The LLVM signature of function `name`, if a module added to the JIT defines it.
    fn signature_of(&self, name: &str) -> Option<Signature> {
        self.lock_modules()
            .loaded
            .values()
            .flat_map(|m| &m.functions)
            .find(|(n, _)| n == name)
            .map(|(_, sig)| sig.clone())
    }

    /// Where the JIT looked, in order, and the likely fix for each kind of source.
    fn missing_hint(&self) -> String {
        let searched: Vec<String> = self.sources.iter().map(SymbolSource::describe).collect();
        let mut hint = format!("Searched, in order: {}.", searched.join("; "));
        if self
            .sources
            .iter()
            .any(|s| matches!(s, SymbolSource::Process))
        {
            hint.push(' ');
            hint.push_str(PROCESS_HINT);
        }
        if self.sources.iter().any(|s| {
            matches!(
                s,
                SymbolSource::SharedLibrary(_) | SymbolSource::StaticArchive(_)
            )
        }) {
            hint.push_str(
                " A library or archive given by path must define the symbol with default \
                 visibility: check a shared library with `cargo xtask verify-symbols --binary \
                 LIB --symbol NAME`.",
            );
        }
        hint
    }

    fn lock_modules(&self) -> std::sync::MutexGuard<'_, Modules> {
        self.modules.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn diagnostics(&self) -> &Diagnostics {
        &self.diagnostics
    }

    pub(crate) fn identity(&self) -> usize {
        self.lljit.as_ptr() as usize
    }
}

/// A module file's name for diagnostics (its path) and its bytes.
pub(crate) fn read_module_file(path: &Path) -> Result<(String, Vec<u8>)> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((path.display().to_string(), bytes))
}

const PROCESS_HINT: &str = "If the symbols come from a C library linked into this binary: a static archive must be linked whole \
(+whole-archive) and its symbols exported (--dynamic-list or --export-dynamic); a shared \
library must stay in DT_NEEDED (not dropped by --as-needed) and be found on the binary's \
RUNPATH. Check the binary with `cargo xtask verify-symbols --binary PATH --symbol NAME`.";

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

impl Drop for Jit {
    fn drop(&mut self) {
        let modules = std::mem::take(&mut self.lock_modules().loaded);
        // `installed` (lookup callbacks) is dropped with the other fields, after this body.
        // SAFETY: each tracker reference is ours and released once; then the LLJIT, which
        // nothing else owns, is disposed once. Its error (if any) is consumed. The Diagnostics
        // box is freed after this body, when LLVM no longer refers to it.
        unsafe {
            for loaded in modules.into_values() {
                LLVMOrcReleaseResourceTracker(loaded.tracker.as_ptr());
            }
            take_error(LLVMOrcDisposeLLJIT(self.lljit.as_ptr()));
        }
    }
}

impl std::fmt::Debug for Jit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jit")
            .field("modules", &self.lock_modules().loaded.len())
            .finish_non_exhaustive()
    }
}

/// A function in the JIT, typed by its Rust signature `F` (an `extern "C" fn(...) -> R`).
/// It borrows the JIT, so it cannot outlive the code; call it with `.call(args...)`.
pub struct Function<'jit, F: JitFn> {
    function: F,
    _jit: PhantomData<&'jit Jit>,
}

impl<F: JitFn> Function<'_, F> {
    pub(crate) fn as_fn(&self) -> F {
        self.function
    }

    /// The raw function pointer.
    ///
    /// # Safety
    /// The pointer is only valid while the JIT this handle borrows exists and still holds the
    /// function's module; calling it after that is undefined behaviour.
    pub unsafe fn into_raw(self) -> F {
        self.function
    }
}

impl<F: JitFn> std::fmt::Debug for Function<'_, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Function")
            .field("signature", &F::signature().to_string())
            .finish()
    }
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
