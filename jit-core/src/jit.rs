//! The JIT: an ORC v2 LLJIT, its builder, module handles and typed function handles.

use std::collections::{HashMap, HashSet};
use std::marker::PhantomData;
use std::path::Path;
use std::ptr::{self, NonNull};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use llvm_sys::core::LLVMCreateMemoryBufferWithMemoryRangeCopy;
use llvm_sys::error::LLVMErrorRef;
use llvm_sys::orc2::LLVMOrcResourceTrackerRef;
use llvm_sys::orc2::lljit::{
    LLVMOrcCreateLLJIT, LLVMOrcCreateLLJITBuilder, LLVMOrcDisposeLLJIT,
    LLVMOrcLLJITAddLLVMIRModuleWithRT, LLVMOrcLLJITAddObjectFileWithRT,
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder, LLVMOrcLLJITGetExecutionSession,
    LLVMOrcLLJITGetMainJITDylib, LLVMOrcLLJITRef, LLVMOrcOpaqueLLJIT,
};
use llvm_sys::orc2::{
    LLVMOrcExecutionSessionGetSymbolStringPool, LLVMOrcExecutionSessionSetErrorReporter,
    LLVMOrcJITDylibCreateResourceTracker, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine,
    LLVMOrcOpaqueResourceTracker, LLVMOrcReleaseResourceTracker, LLVMOrcResourceTrackerRemove,
    LLVMOrcSymbolStringPoolClearDeadEntries,
};

use crate::builder::JitBuilder;
use crate::isolate::{Codegen, CompilerPool};
use crate::llvm::{Diagnostics, c_string, session_error_reporter, take_error};
use crate::module::{Module, ModuleSymbols, Strength};
use crate::registry::Registry;
use crate::signature::{JitFn, Signature, check_call};
use crate::sources::{HostFunction, Installed, SymbolSource, install};
use crate::structors::Structors;
use crate::target::TargetMachine;
use crate::{Error, Result};

/// The LLVM resources of a module in the JIT.
pub(crate) struct Loaded {
    tracker: NonNull<LLVMOrcOpaqueResourceTracker>,
    /// The sink the module's context reports to; kept until the tracker is removed.
    pub(crate) diagnostics: Box<Diagnostics>,
    /// Run before the module goes (see structors.rs).
    destructors: Vec<String>,
}

#[derive(Default)]
pub(crate) struct Modules {
    next_id: u64,
    pub(crate) loaded: HashMap<u64, Loaded>,
    pub(crate) registry: Registry,
}

/// Names a module added to a [`Jit`]; pass it to [`Jit::remove_module`] to unload the module.
/// It carries its JIT's process-unique id: another JIT refuses it ([`Error::ForeignHandle`]).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ModuleHandle {
    id: u64,
    jit: u64,
}

/// Process-unique JIT ids (never reused, unlike addresses).
static NEXT_JIT: AtomicU64 = AtomicU64::new(1);

/// An LLVM ORC v2 JIT (LLJIT) for the host, whose code can call into the host process.
///
/// Symbols that JIT code uses but does not define are looked up in this process's dynamic
/// symbol table, like `dlsym(RTLD_DEFAULT, ...)`: the host binary must export them (see the
/// jit-linkage crate).
pub struct Jit {
    pub(crate) lljit: NonNull<LLVMOrcOpaqueLLJIT>,
    pub(crate) id: u64,
    // Boxed so its address is stable: ORC holds a pointer to it until the LLJIT is disposed.
    pub(crate) session_errors: Box<Diagnostics>,
    pub(crate) modules: Mutex<Modules>,
    /// Held around every ORC lookup, the only place code is compiled. With no compile threads
    /// (LLVM's C API cannot ask for them, in any version jit-core supports) LLJIT compiles with one shared TargetMachine,
    /// which is not thread-safe: two threads compiling at once crash. Calls into compiled code
    /// do not take it. It guards the external names already resolved into the JITDylib.
    pub(crate) compile_lock: Mutex<()>,
    /// Names a symbol source has defined in the JITDylib (ORC keeps them): a weak definition
    /// added later loses to them. Locked last and briefly.
    pub(crate) resolved: Mutex<HashSet<String>>,
    /// In search order.
    pub(crate) sources: Vec<SymbolSource>,
    /// Host functions by name.
    pub(crate) host: HashMap<String, HostFunction>,
    /// Kept alive for LLVM until the LLJIT is disposed.
    installed: Installed,
    /// Compile workers for untrusted modules, started on first use.
    pool: CompilerPool,
    /// The code generation settings, for the workers.
    codegen: Codegen,
    /// Whether modules' constructors and destructors run ([`JitBuilder::run_constructors`]).
    run_structors: bool,
}

// SAFETY: ORC's ExecutionSession is designed for concurrent use: adding modules and looking
// symbols up take the session's locks, and each module lives in its own ThreadSafeContext.
// Compilation, which the default LLJIT does with one shared TargetMachine, only happens inside
// lookups, and those are serialised by `compile_lock`. Our own state is behind Mutexes
// (modules, diagnostics), and the lookup callbacks we hold are `Send + Sync`. Removing a
// module or dropping the JIT needs `&mut Jit` or ownership, so it cannot race with a call into
// code it frees.
unsafe impl Send for Jit {}
// SAFETY: as above: every `&self` method is safe to run from several threads at once.
unsafe impl Sync for Jit {}

impl Jit {
    /// A JIT for `machine` (handed to LLVM) with `sources`, in search order.
    pub(crate) fn create(
        machine: TargetMachine,
        sources: Vec<SymbolSource>,
        pool: CompilerPool,
        codegen: Codegen,
        run_structors: bool,
    ) -> Result<Jit> {
        let session_errors = Box::new(Diagnostics::default());
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
        let host = sources
            .iter()
            .filter_map(|s| match s {
                SymbolSource::HostFunctions(list) => Some(list),
                _ => None,
            })
            .flatten()
            .map(|f| (f.name().to_owned(), f.clone()))
            .collect();
        let mut jit = Jit {
            lljit,
            id: NEXT_JIT.fetch_add(1, Ordering::Relaxed),
            session_errors,
            modules: Mutex::new(Modules::default()),
            compile_lock: Mutex::new(()),
            resolved: Mutex::new(HashSet::new()),
            sources,
            host,
            installed: Installed::default(),
            pool,
            codegen,
            run_structors,
        };
        // SAFETY: the session lives as long as the LLJIT; the reporter's context is the
        // session_errors box, which Jit::drop frees only after disposing the LLJIT.
        unsafe {
            let session = LLVMOrcLLJITGetExecutionSession(jit.lljit.as_ptr());
            LLVMOrcExecutionSessionSetErrorReporter(
                session,
                session_error_reporter,
                jit.session_errors.as_context(),
            );
        }
        for source in jit.sources.clone() {
            // SAFETY: the LLJIT is live; `installed` lives in the Jit, which disposes the LLJIT
            // before dropping it. On error the half-built Jit is dropped, which is sound.
            unsafe { install(jit.lljit.as_ptr(), &source, &mut jit.installed)? };
        }
        Ok(jit)
    }

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
        Module::parse_on_big_stack(self.id, name, bytes)
    }

    /// Reads, parses and verifies a `.ll` or `.bc` file.
    pub fn load_module(&self, path: impl AsRef<Path>) -> Result<Module<'_>> {
        let (name, bytes) = read_module_file(path.as_ref())?;
        self.parse_module(&name, &bytes)
    }

    /// Adds a module. Its functions can be looked up afterwards; it is compiled on first lookup.
    ///
    /// Refused: a module parsed by another JIT ([`Error::ForeignModule`]); a declaration of a
    /// host function, or of a function another module defines, whose ABI differs from the
    /// definition ([`Error::DeclarationMismatch`]); a definition ORC already has
    /// ([`Error::ModuleRejected`]).
    pub fn add_module(&self, module: Module<'_>) -> Result<ModuleHandle> {
        self.not_reentrant()?;
        let name = module.name().to_owned();
        if module.owner() != self.id {
            return Err(Error::ForeignModule { name });
        }
        let mut module = module;
        let structors = if module.has_structors() {
            if !self.run_structors {
                return Err(Error::Constructors { name });
            }
            module.take_structors()
        } else {
            Structors::default()
        };
        let mut symbols = module.symbols();
        symbols.structors = structors.clone();
        // Held until the registry knows the module, so that ORC and the registry see additions
        // in the same order (which weak definition wins depends on it).
        let mut modules = self.lock_modules();
        self.check_declarations(&modules.registry, &name, &symbols)?;
        let raw = module.into_raw();
        let context = raw.context;
        let module = raw.module;
        let handle = self.add_tracked(
            &mut modules,
            name,
            symbols,
            raw.diagnostics,
            |lljit, tracker| {
                // SAFETY: the thread-safe module takes the raw module and the context;
                // AddLLVMIRModuleWithRT takes the thread-safe module in all cases.
                unsafe {
                    let tsm = context.into_thread_safe_module(module.as_ptr());
                    LLVMOrcLLJITAddLLVMIRModuleWithRT(lljit, tracker, tsm)
                }
            },
        )?;
        drop(modules);
        self.call_structors(&structors.constructors)?;
        Ok(handle)
    }

    /// Compiles untrusted IR or bitcode in a compile worker (see [`crate::serve_if_worker`])
    /// and adds the object file: whatever LLVM does with the input (abort, stack overflow,
    /// runaway memory or time, within [`crate::IsolationLimits`]) ends only the worker, as
    /// [`Error::CompilerCrashed`] with LLVM's last message; the JIT stays usable. Parse,
    /// verification and code generation errors are the same errors as in-process.
    ///
    /// In-process ([`Jit::parse_module`] + [`Jit::add_module`]) is for trusted input: no
    /// process hop, and IPO works on it; isolated compilation costs a round trip to a warm
    /// worker and a copy of the object, and keeps the host alive.
    pub fn add_module_isolated(&self, name: &str, bytes: &[u8]) -> Result<ModuleHandle> {
        self.not_reentrant()?;
        let compiled = self.pool.compile(name, bytes, self.codegen)?;
        self.add_object(name, &compiled.object, compiled.symbols)
    }

    /// Reads a `.ll` or `.bc` file and adds it through a compile worker
    /// ([`Jit::add_module_isolated`]).
    pub fn load_module_isolated(&self, path: impl AsRef<Path>) -> Result<ModuleHandle> {
        let (name, bytes) = read_module_file(path.as_ref())?;
        self.add_module_isolated(&name, &bytes)
    }

    /// Compiles independent modules in parallel, one worker per module at a time (up to
    /// `parallel` workers), and adds each; the results are in the order given.
    pub fn add_modules_isolated(
        &self,
        modules: &[(&str, &[u8])],
        parallel: usize,
    ) -> Vec<Result<ModuleHandle>> {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let compiled: Vec<Mutex<Option<Result<crate::isolate::Compiled>>>> =
            modules.iter().map(|_| Mutex::new(None)).collect();
        std::thread::scope(|scope| {
            for _ in 0..parallel.clamp(1, modules.len().max(1)) {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((name, bytes)) = modules.get(i) else {
                            break;
                        };
                        let result = self.pool.compile(name, bytes, self.codegen);
                        *compiled[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                    }
                });
            }
        });
        // Added in order, so which weak definition wins does not depend on timing.
        modules
            .iter()
            .zip(compiled)
            .map(|((name, _), slot)| {
                let result = slot.into_inner().unwrap_or_else(|e| e.into_inner());
                let compiled = result.unwrap_or_else(|| Err(Error::Llvm("not compiled".into())))?;
                self.add_object(name, &compiled.object, compiled.symbols)
            })
            .collect()
    }

    /// Adds an object file compiled from a module whose symbols are `symbols` (by an isolated
    /// compiler, which parsed, checked and compiled it).
    fn add_object(
        &self,
        name: &str,
        object: &[u8],
        symbols: ModuleSymbols,
    ) -> Result<ModuleHandle> {
        self.not_reentrant()?;
        let c_name = c_string(name)?;
        if !symbols.structors.is_empty() && !self.run_structors {
            return Err(Error::Constructors {
                name: name.to_owned(),
            });
        }
        let constructors = symbols.structors.constructors.clone();
        let mut modules = self.lock_modules();
        self.check_declarations(&modules.registry, name, &symbols)?;
        let diagnostics = Box::new(Diagnostics::default());
        let handle = self.add_tracked(
            &mut modules,
            name.to_owned(),
            symbols,
            diagnostics,
            |lljit, tracker| {
                // SAFETY: the buffer copies `object` and is named by a C string; ORC takes the
                // buffer in all cases.
                unsafe {
                    let buffer = LLVMCreateMemoryBufferWithMemoryRangeCopy(
                        object.as_ptr() as *const std::ffi::c_char,
                        object.len(),
                        c_name.as_ptr(),
                    );
                    LLVMOrcLLJITAddObjectFileWithRT(lljit, tracker, buffer)
                }
            },
        )?;
        drop(modules);
        self.call_structors(&constructors)?;
        Ok(handle)
    }

    /// Calls constructors or destructors (by their names in the JIT), in the order given.
    fn call_structors(&self, names: &[String]) -> Result<()> {
        for name in names {
            let address = self.lookup_address(name)?;
            // SAFETY: only modules added while `run_constructors(true)` was set have any, and
            // its contract is that they behave like sound C when called with no arguments;
            // `address` is the entry of the `void ()` function the module's array named.
            let function: extern "C" fn() =
                unsafe { std::mem::transmute::<usize, extern "C" fn()>(address as usize) };
            function();
        }
        Ok(())
    }

    /// Creates a resource tracker for a new module, lets `add` hand the code to ORC under it,
    /// and records the module. `modules` is held throughout, so ORC and the registry see
    /// additions in the same order (which weak definition wins depends on it).
    fn add_tracked(
        &self,
        modules: &mut Modules,
        name: String,
        symbols: ModuleSymbols,
        diagnostics: Box<Diagnostics>,
        add: impl FnOnce(LLVMOrcLLJITRef, LLVMOrcResourceTrackerRef) -> LLVMErrorRef,
    ) -> Result<ModuleHandle> {
        // SAFETY: the LLJIT is live; the tracker is a new reference, owned by `Loaded`
        // (released in remove_module or Drop), or released below if ORC refuses the code.
        let tracker = unsafe {
            let dylib = LLVMOrcLLJITGetMainJITDylib(self.lljit.as_ptr());
            LLVMOrcJITDylibCreateResourceTracker(dylib)
        };
        let tracker = NonNull::new(tracker)
            .ok_or_else(|| Error::Llvm("ORC returned no resource tracker".into()))?;
        // SAFETY: `add`'s error is ours to consume, once.
        if let Some(message) = unsafe { take_error(add(self.lljit.as_ptr(), tracker.as_ptr())) } {
            // SAFETY: the tracker is ours and holds nothing; release our reference. ORC
            // destroyed the code it was given (and its context), so the sink can go too.
            unsafe { LLVMOrcReleaseResourceTracker(tracker.as_ptr()) };
            return Err(Error::ModuleRejected { name, message });
        }
        let id = modules.next_id;
        modules.next_id += 1;
        modules.loaded.insert(
            id,
            Loaded {
                tracker,
                diagnostics,
                destructors: symbols.structors.destructors.clone(),
            },
        );
        let resolved = self.resolved.lock().unwrap_or_else(|e| e.into_inner());
        modules.registry.insert(id, name, symbols, |n| {
            self.host.contains_key(n) || resolved.contains(n)
        });
        Ok(ModuleHandle { id, jit: self.id })
    }

    /// Every declaration in the new module of a name whose definition is known (a Rust host
    /// function, another module's function) must have that definition's ABI; so must every
    /// declaration elsewhere of a function the new module will define.
    pub(crate) fn check_declarations(
        &self,
        registry: &Registry,
        module: &str,
        symbols: &ModuleSymbols,
    ) -> Result<()> {
        let mismatch =
            |declared_in: &str, name: &str, declared: &Signature, defined: &Signature| {
                check_call(defined, declared).map_err(|reason| Error::DeclarationMismatch {
                    module: declared_in.to_owned(),
                    name: name.to_owned(),
                    declared: Box::new(declared.clone()),
                    defined: Box::new(defined.clone()),
                    reason,
                })
            };
        let not_a_function = |declared_in: &str, name: &str| Error::ModuleRejected {
            name: declared_in.to_owned(),
            message: format!(
                "`{name}` is used as a function in one module and defined as data in another"
            ),
        };
        let weak_copies = symbols.defined.iter().filter_map(|d| {
            (d.strength == Strength::Weak)
                .then_some(())
                .and(d.signature.as_ref().map(|s| (&d.name, s)))
        });
        // Each call this module makes by name, against the definition it will reach.
        for (name, declared) in symbols
            .declared
            .iter()
            .map(|(n, s)| (n, s))
            .chain(weak_copies)
        {
            if let Some(defined) = self.host.get(name).and_then(HostFunction::signature) {
                mismatch(module, name, declared, defined)?;
            } else if let Some((_, defined)) = registry.definition(name) {
                match &defined.signature {
                    Some(defined) => mismatch(module, name, declared, defined)?,
                    None => return Err(not_a_function(module, name)),
                }
            }
        }
        // Each definition this module brings that will win, against the calls others make.
        for defined in &symbols.defined {
            let wins = defined.strength == Strength::Strong
                || (registry.definition(&defined.name).is_none()
                    && !self.host.contains_key(&defined.name));
            if !wins {
                continue;
            }
            let Some(signature) = &defined.signature else {
                if let Some((declared_in, _)) = registry.declarations(&defined.name).next() {
                    return Err(not_a_function(declared_in, &defined.name));
                }
                continue;
            };
            for (declared_in, declared) in registry.declarations(&defined.name) {
                mismatch(declared_in, &defined.name, declared, signature)?;
            }
            // A strong definition replaces every weak one, so their modules' own calls of the
            // name reach it too.
            for (copy_in, copy) in registry.weak_definitions(&defined.name) {
                mismatch(copy_in, &defined.name, copy, signature)?;
            }
        }
        Ok(())
    }

    /// Removes a module: frees its code and its symbols. Needs `&mut self`, so no
    /// [`Function`] handle (which borrows the JIT) can still point into the removed code.
    ///
    /// A module whose symbols other modules in the JIT refer to is not removed: their code may
    /// call into it ([`Error::ModuleInUse`] names them; remove them first). A handle of another
    /// JIT is [`Error::ForeignHandle`].
    /// The handle is borrowed, so a refused removal can be tried again; removing a module twice
    /// is [`Error::StaleHandle`].
    pub fn remove_module(&mut self, handle: &ModuleHandle) -> Result<()> {
        if handle.jit != self.id {
            return Err(Error::ForeignHandle);
        }
        let modules = self.modules.get_mut().unwrap_or_else(|e| e.into_inner());
        if !modules.registry.contains(handle.id) {
            return Err(Error::StaleHandle(handle.id));
        }
        let dependents = modules.registry.dependents(handle.id);
        if !dependents.is_empty() {
            return Err(Error::ModuleInUse {
                module: modules.registry.name(handle.id).to_owned(),
                dependents,
            });
        }
        let destructors = modules
            .loaded
            .get(&handle.id)
            .map(|l| l.destructors.clone())
            .unwrap_or_default();
        // A destructor that cannot be compiled cannot run; the module goes anyway.
        let _ = self.call_structors(&destructors);
        let modules = self.modules.get_mut().unwrap_or_else(|e| e.into_inner());
        let loaded = modules
            .loaded
            .remove(&handle.id)
            .ok_or(Error::StaleHandle(handle.id))?;
        modules.registry.remove(handle.id);
        // SAFETY: the tracker is live and ours; remove it from the JIT (which frees the module,
        // its context and its code), then release our reference exactly once. The module's
        // diagnostics sink is dropped after that, when no context can report to it. Clearing
        // dead pool entries only frees strings nothing refers to; `&mut self` means no lookup
        // on another thread holds one it has not retained.
        // The session's string pool keeps entries whose last reference went until asked to
        // drop them: without this, every removed module's names would stay (~33 bytes a name).
        let result = unsafe {
            let err = LLVMOrcResourceTrackerRemove(loaded.tracker.as_ptr());
            LLVMOrcReleaseResourceTracker(loaded.tracker.as_ptr());
            let session = LLVMOrcLLJITGetExecutionSession(self.lljit.as_ptr());
            LLVMOrcSymbolStringPoolClearDeadEntries(LLVMOrcExecutionSessionGetSymbolStringPool(
                session,
            ));
            take_error(err)
        };
        drop(loaded.diagnostics);
        match result {
            Some(message) => Err(Error::Llvm(format!(
                "removing the module failed: {message}"
            ))),
            None => Ok(()),
        }
    }

    pub(crate) fn lock_modules(&self) -> std::sync::MutexGuard<'_, Modules> {
        self.modules.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// This JIT's process-unique id.
    pub(crate) fn id(&self) -> u64 {
        self.id
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

impl Drop for Jit {
    fn drop(&mut self) {
        // Destructors first, the last module added first, while everything is still there.
        let mut destructors: Vec<(u64, Vec<String>)> = self
            .lock_modules()
            .loaded
            .iter()
            .map(|(id, loaded)| (*id, loaded.destructors.clone()))
            .collect();
        destructors.sort_by_key(|(id, _)| std::cmp::Reverse(*id));
        for (_, names) in destructors {
            // A destructor that cannot be compiled cannot run; the JIT goes anyway.
            let _ = self.call_structors(&names);
        }
        let modules = std::mem::take(&mut self.lock_modules().loaded);
        // `installed` (lookup callbacks) is dropped with the other fields, after this body.
        // SAFETY: each tracker reference is ours and released once; then the LLJIT, which
        // nothing else owns, is disposed once, and with it every module and context. Its error
        // (if any) is consumed. The modules' and the session's Diagnostics boxes are freed
        // after that, when LLVM no longer refers to them.
        let sinks: Vec<Box<Diagnostics>> = unsafe {
            let sinks = modules
                .into_values()
                .map(|loaded| {
                    LLVMOrcReleaseResourceTracker(loaded.tracker.as_ptr());
                    loaded.diagnostics
                })
                .collect();
            take_error(LLVMOrcDisposeLLJIT(self.lljit.as_ptr()));
            sinks
        };
        drop(sinks);
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
    /// A handle for `function`, a code address of the JIT it borrows.
    pub(crate) fn new(function: F) -> Self {
        Function {
            function,
            _jit: PhantomData,
        }
    }

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
