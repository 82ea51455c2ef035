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
    LLVMOrcLLJITAddObjectFileWithRT, LLVMOrcLLJITBuilderSetJITTargetMachineBuilder,
    LLVMOrcLLJITGetExecutionSession, LLVMOrcLLJITGetMainJITDylib, LLVMOrcLLJITRef,
    LLVMOrcOpaqueLLJIT,
};
use llvm_sys::orc2::{
    LLVMOrcExecutionSessionGetSymbolStringPool, LLVMOrcExecutionSessionSetErrorReporter,
    LLVMOrcJITDylibCreateResourceTracker, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine,
    LLVMOrcOpaqueResourceTracker, LLVMOrcReleaseResourceTracker, LLVMOrcResourceTrackerRemove,
    LLVMOrcSymbolStringPoolClearDeadEntries,
};

use crate::compile::{Compiled, compile};
use crate::error::{Error, Result};
use crate::exits;
use crate::isolate::CompilerPool;
use crate::key::ModuleKey;
use crate::llvm::{Diagnostics, c_string, session_error_reporter, take_error};
use crate::module::Module;
use crate::object_file::{ObjectLimits, inspect};
use crate::objects::Objects;
use crate::registry::Registry;
use crate::signature::{
    CallingConvention, JitFn, JitReturn, JitValue, Signature, Value, ValueType, check_call,
};
use crate::sources::{HostFunction, Installed, SymbolSource, install};
use crate::symbols::{Kind, ModuleSymbols, Strength};
use crate::target::{Codegen, ObjectLayer, TargetMachine, Tools};
use crate::tools::{CodeLayout, Profilers};

/// The LLVM resources of a module in the JIT.
pub(crate) struct Loaded {
    tracker: NonNull<LLVMOrcOpaqueResourceTracker>,
    /// Where its functions are in its object, for profilers (tools.rs).
    pub(crate) code: CodeLayout,
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
    /// (LLVM's C API cannot ask for them, in any version orc-jit supports) LLJIT compiles with one shared TargetMachine,
    /// which is not thread-safe: two threads compiling at once crash. Calls into compiled code
    /// do not take it. It guards the external names already resolved into the JITDylib.
    pub(crate) compile_lock: Mutex<()>,
    /// Names a symbol source has defined in the JITDylib (ORC keeps them): a weak definition
    /// added later loses to them. Locked last and briefly.
    pub(crate) resolved: Mutex<HashSet<String>>,
    /// In search order.
    pub(crate) sources: Vec<SymbolSource>,
    /// Host functions by name, and the runtime functions orc-jit defines for JIT code
    /// (exit handlers, emulated TLS: see exits.rs).
    pub(crate) host: HashMap<String, HostFunction>,
    /// Kept alive for LLVM until the LLJIT is disposed.
    installed: Installed,
    /// Compile workers for untrusted modules, started on first use.
    pool: CompilerPool,
    /// The code generation settings of every module.
    pub(crate) codegen: Codegen,
    /// Target machines for in-process compilation, one per compiling thread at a time (a
    /// TargetMachine is not thread-safe).
    machines: Mutex<Vec<TargetMachine>>,
    /// Whether modules' constructors and destructors run ([`JitBuilder::run_constructors`]).
    run_structors: bool,
    /// The perf map and jitdump this JIT's code goes to, if any.
    pub(crate) profilers: Profilers,
    /// What tools see of its code (part of a cached object's key).
    pub(crate) tools: Tools,
    /// The object cache, if any, and its counters.
    pub(crate) objects: Objects,
}

// SAFETY: ORC's ExecutionSession is designed for concurrent use: adding objects and looking
// symbols up take the session's locks. Modules are compiled outside ORC, each in its own LLVM
// context with a target machine no other thread uses at the same time (`machines`). Our own
// state is behind Mutexes (modules, diagnostics, machines), and the lookup callbacks we hold
// are `Send + Sync`. Removing a module or dropping the JIT needs `&mut Jit` or ownership, so it
// cannot race with a call into code it frees.
unsafe impl Send for Jit {}
// SAFETY: as above: every `&self` method is safe to run from several threads at once.
unsafe impl Sync for Jit {}

/// The runtime functions orc-jit defines in every JIT, for what JIT code would otherwise hand
/// to libc (exits.rs) and for emulated thread-locals (lower.rs).
fn runtime_functions() -> Vec<HostFunction> {
    type Register3 = extern "C" fn(usize, usize, usize) -> std::ffi::c_int;
    type Register2 = extern "C" fn(usize, usize) -> std::ffi::c_int;
    let with_pointers = |name: &str, params: usize, address: usize| {
        let pointer = Value::plain(ValueType::Ptr);
        let signature = Signature {
            calling_convention: CallingConvention::C,
            ret: Value::plain(ValueType::Int(32)),
            params: vec![pointer; params],
            variadic: false,
        };
        HostFunction::runtime(name, address as u64, Some(signature))
    };
    let cxa_atexit = exits::cxa_atexit as Register3 as usize;
    let thread_atexit = exits::cxa_thread_atexit as Register3 as usize;
    let atexit = exits::atexit_with_handle as Register2 as usize;
    let on_exit = exits::on_exit_with_handle as Register3 as usize;
    let refused2 = exits::refused_with_handle as Register2 as usize;
    let on_exit_refused = exits::on_exit_refused as Register2 as usize;
    let at_quick_exit_refused =
        exits::at_quick_exit_refused as extern "C" fn(usize) -> std::ffi::c_int as usize;
    let key_create = exits::pthread_key_create as Register2 as usize;
    let pointer = Value::plain(ValueType::Ptr);
    vec![
        with_pointers(crate::lower::RT_CXA_ATEXIT, 3, cxa_atexit),
        with_pointers(crate::lower::RT_CXA_THREAD_ATEXIT, 3, thread_atexit),
        with_pointers(crate::lower::RT_ATEXIT, 2, atexit),
        with_pointers(crate::lower::RT_ON_EXIT, 3, on_exit),
        with_pointers(crate::lower::RT_AT_QUICK_EXIT, 2, refused2),
        with_pointers(crate::lower::RT_PTHREAD_KEY_CREATE, 2, key_create),
        // What no handle attributes to a module: refused, rather than given to libc.
        with_pointers("on_exit", 2, on_exit_refused),
        with_pointers("at_quick_exit", 1, at_quick_exit_refused),
        with_pointers("pthread_key_create", 2, key_create),
        // For what the JIT links without lower.rs's rewrite (static archive members).
        with_pointers("__cxa_atexit", 3, cxa_atexit),
        with_pointers("__cxa_thread_atexit", 3, thread_atexit),
        with_pointers("__cxa_thread_atexit_impl", 3, thread_atexit),
        HostFunction::runtime(
            crate::lower::RT_TLS_ADDRESS,
            crate::emutls::address as unsafe extern "C" fn(*mut crate::emutls::Control) -> _
                as usize as u64,
            Some(Signature {
                calling_convention: CallingConvention::C,
                ret: pointer.clone(),
                params: vec![pointer.clone()],
                variadic: false,
            }),
        ),
        // libgcc's, for an object compiled elsewhere with `-femulated-tls`.
        HostFunction::runtime(
            "__emutls_get_address",
            exits::emutls_get_address() as u64,
            Some(Signature {
                calling_convention: CallingConvention::C,
                ret: pointer.clone(),
                params: vec![pointer],
                variadic: false,
            }),
        ),
    ]
}

/// A module's object may name no handle but its own (`__jit_dso.<key>`, which it defines) and
/// those of the IPO runtime it imported code from: a `__dso_handle` left (from module asm, say)
/// would be the JIT's own handle, and another module's handle would let its exit handlers be
/// kept for that other module (and outlive this one's code).
fn check_handles(name: &str, key: &ModuleKey, symbols: &ModuleSymbols) -> Result<()> {
    let own = crate::lower::dso_handle(key);
    let refused = |what: String| Error::ModuleRejected {
        name: name.to_owned(),
        message: what,
    };
    if symbols.referenced.iter().any(|r| r == "__dso_handle") {
        return Err(refused(
            "its code refers to `__dso_handle` where orc-jit could not give it the module's own \
             handle (module asm, or a use orc-jit does not rewrite): exit handlers registered with \
             it would not be the module's"
                .into(),
        ));
    }
    let foreign = symbols
        .referenced
        .iter()
        .filter(|r| r.starts_with(crate::lower::DSO_PREFIX))
        .chain(
            symbols
                .defined
                .iter()
                .map(|d| &d.name)
                .filter(|n| n.starts_with(crate::lower::DSO_PREFIX) && **n != own),
        )
        .find(|h| !symbols.imported_handles.contains(h));
    match foreign {
        Some(handle) => Err(refused(format!(
            "it names `{handle}`, another module's exit-handler handle (the names starting with \
             {} are orc-jit's): handlers registered with it would belong to that module",
            crate::lower::DSO_PREFIX
        ))),
        None => Ok(()),
    }
}

/// LLJIT's object layer when RuntimeDyld is wanted: as LLJIT makes its own (a section memory
/// manager per object), but known to be RuntimeDyld's.
extern "C" fn runtime_dyld_layer(
    _context: *mut std::ffi::c_void,
    session: llvm_sys::orc2::LLVMOrcExecutionSessionRef,
    _triple: *const std::ffi::c_char,
) -> llvm_sys::orc2::LLVMOrcObjectLayerRef {
    // SAFETY: LLJIT calls this with its live session while it is being created, and owns the
    // layer returned.
    unsafe {
        llvm_sys::orc2::ee::LLVMOrcCreateRTDyldObjectLinkingLayerWithSectionMemoryManager(session)
    }
}

/// What a JIT is built with besides its target machine, sources and workers (the builder's
/// settings).
pub(crate) struct Settings {
    pub(crate) codegen: Codegen,
    pub(crate) run_structors: bool,
    pub(crate) layer: ObjectLayer,
    pub(crate) tools: Tools,
    /// The object cache's directory and size limit.
    pub(crate) cache: Option<(std::path::PathBuf, u64)>,
}

impl Jit {
    /// A JIT for `machine` (handed to LLVM) with `sources`, in search order.
    pub(crate) fn create(
        machine: TargetMachine,
        sources: Vec<SymbolSource>,
        pool: CompilerPool,
        settings: Settings,
    ) -> Result<Jit> {
        let Settings {
            codegen,
            run_structors,
            layer,
            tools,
            cache,
        } = settings;
        let session_errors = Box::new(Diagnostics::default());
        // RuntimeDyld is created here whenever a debugger listener goes on it: a listener may
        // only be registered on a layer known to be RuntimeDyld's (the C API casts unchecked).
        let rtdyld = match layer {
            ObjectLayer::RuntimeDyld => true,
            ObjectLayer::JitLink if !crate::version::HAS_JITLINK => {
                return Err(Error::Llvm(format!(
                    "JITLink cannot be chosen with LLVM {}: its C API has no way to create it \
                     (LLVM 19 and later use it by default); use ObjectLayer::Default or \
                     ObjectLayer::RuntimeDyld",
                    crate::version::LLVM_VERSION
                )));
            }
            ObjectLayer::JitLink => false,
            // JITLink's debugger support (19 on) never takes a module's registration back when
            // the module is removed: gdb would walk entries in freed memory.
            ObjectLayer::Default => tools.debugger,
        };
        // SAFETY: the target machine is given to the JTMB, the JTMB to the builder, the builder
        // to LLVMOrcCreateLLJIT; each takes ownership, so none is freed by us afterwards. The
        // layer creator is a plain function of ours that needs no context.
        let lljit = unsafe {
            let jtmb = LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(machine.into_raw());
            let builder = LLVMOrcCreateLLJITBuilder();
            LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, jtmb);
            if rtdyld {
                llvm_sys::orc2::lljit::LLVMOrcLLJITBuilderSetObjectLinkingLayerCreator(
                    builder,
                    runtime_dyld_layer,
                    ptr::null_mut(),
                );
            }
            let mut lljit = ptr::null_mut();
            if let Some(message) = take_error(LLVMOrcCreateLLJIT(&mut lljit, builder)) {
                return Err(Error::Llvm(format!("cannot create the JIT: {message}")));
            }
            NonNull::new(lljit).ok_or_else(|| Error::Llvm("LLJIT creation returned null".into()))?
        };
        if tools.debugger {
            // SAFETY: the LLJIT is live; its object layer is RuntimeDyld's when `rtdyld` (we
            // created it), JITLink's otherwise (LLJIT's choice from 19 on). The GDB listener is
            // LLVM's process-wide one, never freed. The error is consumed; on error the LLJIT
            // is disposed once.
            let failed = unsafe {
                if rtdyld {
                    llvm_sys::orc2::ee::LLVMOrcRTDyldObjectLinkingLayerRegisterJITEventListener(
                        llvm_sys::orc2::lljit::LLVMOrcLLJITGetObjLinkingLayer(lljit.as_ptr()),
                        llvm_sys::execution_engine::LLVMCreateGDBRegistrationListener(),
                    );
                    None
                } else {
                    crate::version::enable_jitlink_debug_support(lljit.as_ptr())
                        .and_then(|err| take_error(err))
                }
            };
            if let Some(message) = failed {
                // SAFETY: the LLJIT is ours and nothing else refers to it yet.
                unsafe { take_error(LLVMOrcDisposeLLJIT(lljit.as_ptr())) };
                return Err(Error::Llvm(format!(
                    "cannot turn on debugger support: {message}; a program that links LLVM \
                     statically must export the GDB JIT interface's symbols \
                     (llvm_orc_registerJITLoaderGDBWrapper, llvm_orc_registerJITLoaderGDBAllocAction, \
                     __jit_debug_register_code, __jit_debug_descriptor): jit-linkage does when \
                     its manifest asks for a debugger (check the binary with verify-symbols)"
                )));
            }
        }
        let id = NEXT_JIT.fetch_add(1, Ordering::Relaxed);
        let mut host: HashMap<String, HostFunction> = sources
            .iter()
            .filter_map(|s| match s {
                SymbolSource::HostFunctions(list) => Some(list),
                _ => None,
            })
            .flatten()
            .map(|f| (f.name().to_owned(), f.clone()))
            .collect();
        // LLJIT's own platform support defines some of these names in the main JITDylib
        // (version.rs says which): those stay what static archive members get (modules reach
        // the runtime under its own names), and LLJIT's `__dso_handle` is the JIT's own
        // handle. Looking it up compiles LLJIT's helper module (milliseconds), so exits.rs does
        // that only if JIT code ever passes a handle it does not know.
        let raw = lljit.as_ptr() as usize;
        exits::jit_created(
            id,
            Box::new(move || {
                let mut address = 0;
                // SAFETY: exits.rs calls this only while the JIT is alive (its record goes
                // before the LLJIT is disposed); the name is a C string; the error is consumed.
                let found = unsafe {
                    take_error(llvm_sys::orc2::lljit::LLVMOrcLLJITLookup(
                        raw as llvm_sys::orc2::lljit::LLVMOrcLLJITRef,
                        &mut address,
                        c"__dso_handle".as_ptr(),
                    ))
                }
                .is_none();
                found.then_some(address as usize)
            }),
        );
        // The user's host function of the same name, if any, is what JIT code gets.
        let runtime: Vec<HostFunction> = runtime_functions()
            .into_iter()
            .filter(|f| !host.contains_key(f.name()))
            .filter(|f| !crate::version::LLJIT_DEFINES.contains(&f.name()))
            .collect();
        for function in &runtime {
            host.insert(function.name().to_owned(), function.clone());
        }
        let mut jit = Jit {
            lljit,
            id,
            session_errors,
            modules: Mutex::new(Modules::default()),
            compile_lock: Mutex::new(()),
            resolved: Mutex::new(HashSet::new()),
            sources,
            host,
            installed: Installed::default(),
            pool,
            codegen,
            machines: Mutex::new(Vec::new()),
            run_structors,
            profilers: Profilers::open(&tools)?,
            tools,
            objects: Objects::open(cache.as_ref()),
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
        // SAFETY: the LLJIT is live; the runtime's addresses are orc-jit's own functions and
        // handles, alive while the JIT is (exits.rs frees handles only when it is dropped).
        unsafe {
            install(
                jit.lljit.as_ptr(),
                &SymbolSource::HostFunctions(runtime),
                &mut jit.installed,
            )?
        };
        for source in jit.sources.clone() {
            // SAFETY: the LLJIT is live; `installed` lives in the Jit, which disposes the LLJIT
            // before dropping it. On error the half-built Jit is dropped, which is sound.
            unsafe { install(jit.lljit.as_ptr(), &source, &mut jit.installed)? };
        }
        Ok(jit)
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

    /// Compiles a module to machine code and adds it. Its functions can be looked up
    /// afterwards; it is linked on first lookup (a module with constructors or destructors
    /// at once, and its constructors run).
    ///
    /// Refused: a module parsed by another JIT ([`Error::ForeignModule`]); a module for another
    /// target (data layout, triple: [`Error::Unsupported`]); one LLVM cannot compile
    /// ([`Error::Compile`], with LLVM's message); a declaration of a host function, or of a
    /// function another module defines, whose ABI differs from the definition
    /// ([`Error::DeclarationMismatch`]); a definition ORC already has
    /// ([`Error::ModuleRejected`]).
    pub fn add_module(&self, module: Module<'_>) -> Result<ModuleHandle> {
        self.not_reentrant()?;
        let name = module.name().to_owned();
        if module.owner() != self.id {
            return Err(Error::ForeignModule { name });
        }
        if module.has_structors() && !self.run_structors {
            return Err(Error::Constructors { name });
        }
        let key = module.key();
        let compiled = self.object_for(&name, key, || self.compile_here(module))?;
        self.add_compiled(&name, compiled)
    }

    /// Parses, compiles and adds a module from its bytes, as [`Jit::parse_module`] and
    /// [`Jit::add_module`] do; with an object cache ([`JitBuilder::object_cache`]), a module
    /// the cache has is not even parsed.
    ///
    /// [`JitBuilder::object_cache`]: crate::JitBuilder::object_cache
    pub fn add_module_bytes(&self, name: &str, bytes: &[u8]) -> Result<ModuleHandle> {
        self.not_reentrant()?;
        let compiled = self.object_for(name, ModuleKey::of(bytes), || {
            let module = self.parse_module(name, bytes)?;
            if module.has_structors() && !self.run_structors {
                return Err(Error::Constructors {
                    name: name.to_owned(),
                });
            }
            self.compile_here(module)
        })?;
        self.add_compiled(name, compiled)
    }

    /// Compiles `module` on this thread, with one of the JIT's target machines.
    pub(crate) fn compile_here(&self, module: Module<'_>) -> Result<Compiled> {
        let machine = self
            .machines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        let machine = match machine {
            Some(machine) => machine,
            None => TargetMachine::host(self.codegen)?,
        };
        let compiled = compile(module, &machine);
        self.machines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(machine);
        compiled
    }

    /// Compiles untrusted IR or bitcode in a compile worker (see [`crate::serve_if_worker`])
    /// and adds the object file: whatever LLVM does with the input (abort, stack overflow,
    /// runaway memory or time, within [`crate::IsolationLimits`]) ends only the worker, as
    /// [`Error::CompilerCrashed`] with LLVM's last message; the JIT stays usable. Parse,
    /// verification and code generation errors are the same errors as in-process, and the
    /// same modules are accepted.
    ///
    /// Before the host links the object, it checks it ([`crate::IsolationLimits`] bounds what
    /// it allocates; a malformed object, or unwind information for code outside the object, is
    /// [`Error::ModuleRejected`]). Isolation contains the crashes and the resource use of
    /// *compilation*; it does not make the code of a compromised worker safe to call.
    ///
    /// In-process ([`Jit::parse_module`] + [`Jit::add_module`]) is for trusted input: no
    /// process hop, and IPO works on it; isolated compilation costs a round trip to a warm
    /// worker and a copy of the object, and keeps the host alive.
    pub fn add_module_isolated(&self, name: &str, bytes: &[u8]) -> Result<ModuleHandle> {
        self.not_reentrant()?;
        let compiled = self.object_for(name, ModuleKey::of(bytes), || {
            self.pool.compile(name, bytes, self.codegen)
        })?;
        self.add_compiled(
            name,
            Compiled {
                isolated: true,
                ..compiled
            },
        )
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
        let compiled: Vec<Mutex<Option<Result<Compiled>>>> =
            modules.iter().map(|_| Mutex::new(None)).collect();
        std::thread::scope(|scope| {
            for _ in 0..parallel.clamp(1, modules.len().max(1)) {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((name, bytes)) = modules.get(i) else {
                            break;
                        };
                        let result = self.object_for(name, ModuleKey::of(bytes), || {
                            self.pool.compile(name, bytes, self.codegen)
                        });
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
                self.add_compiled(
                    name,
                    Compiled {
                        isolated: true,
                        ..compiled
                    },
                )
            })
            .collect()
    }

    /// Adds a module's object file, whichever path compiled it: checks the object (its
    /// structure, its size against the isolation limits when it came in through the isolated
    /// path, its unwind information), takes its symbols from
    /// its own symbol table (with the IR's signatures), checks declarations, links it into ORC,
    /// and runs its constructors.
    pub(crate) fn add_compiled(&self, name: &str, compiled: Compiled) -> Result<ModuleHandle> {
        self.not_reentrant()?;
        let Compiled {
            object,
            symbols,
            key,
            isolated,
        } = compiled;
        let c_name = c_string(name)?;
        if !symbols.structors.is_empty() && !self.run_structors {
            return Err(Error::Constructors {
                name: name.to_owned(),
            });
        }
        let limits = if isolated {
            self.pool.object_limits()
        } else {
            ObjectLimits {
                max_bytes: u64::MAX,
            }
        };
        let info = inspect(&object, &limits).map_err(|reason| Error::ModuleRejected {
            name: name.to_owned(),
            message: format!("its object file cannot be linked: {reason}"),
        })?;
        let code = CodeLayout::of(&info);
        let symbols = ModuleSymbols::of_object(symbols, &info);
        check_handles(name, &key, &symbols)?;
        let constructors = symbols.structors.constructors.clone();
        let destructors = symbols.structors.destructors.clone();
        let mut modules = self.lock_modules();
        // The module's own names (its handle, its constructors') are the same for the same
        // bytes: a second copy is refused here, by name, under the lock (ORC would too).
        let own_names = symbols.defined.iter().map(|d| d.name.as_str()).filter(|n| {
            n.starts_with(crate::lower::DSO_PREFIX) || n.starts_with("__jit_structor.")
        });
        for own in own_names {
            if let Some((other, _)) = modules.registry.definition(own) {
                return Err(Error::ModuleRejected {
                    name: name.to_owned(),
                    message: format!(
                        "the same module (the same bytes) is already in the JIT as `{}`, and \
                         its constructors or exit handlers cannot tell the two apart; remove it \
                         first",
                        modules.registry.name(other)
                    ),
                });
            }
        }
        self.check_declarations(&modules.registry, name, &symbols)?;
        let handle = self.add_tracked(
            &mut modules,
            name.to_owned(),
            symbols,
            code,
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
        drop(object);
        self.start(&handle, &constructors, &destructors)?;
        Ok(handle)
    }

    /// Runs a new module's constructors, and finds its destructors, so that they can run
    /// whenever it goes (at removal, drop or process exit) without compiling or linking.
    ///
    /// If this fails before any constructor ran (the module did not link: a missing symbol,
    /// say), the module is taken out again: none of its code ran or was handed out, and it
    /// can be added again once the cause is fixed. If a constructor ran, its code stays (it may
    /// have registered handlers or handed out pointers) and the module stays failed.
    fn start(
        &self,
        handle: &ModuleHandle,
        constructors: &[String],
        destructors: &[String],
    ) -> Result<()> {
        if constructors.is_empty() && destructors.is_empty() {
            return Ok(());
        }
        let mut ran = false;
        let result = (|| {
            for name in constructors {
                let address = self.lookup_address(name)?;
                ran = true;
                // SAFETY: only modules added while `run_constructors(true)` was set have any,
                // and its contract is that they behave like sound C when called with no
                // arguments; `address` is the entry of the `void ()` function the module's
                // array named.
                let function: extern "C" fn() =
                    unsafe { std::mem::transmute::<usize, extern "C" fn()>(address as usize) };
                function();
            }
            destructors
                .iter()
                .map(|name| self.lookup_address(name))
                .collect::<Result<Vec<u64>>>()
        })();
        match result {
            Ok(addresses) => {
                exits::set_destructors(self.id, handle.id, addresses);
                Ok(())
            }
            Err(e) if !ran => {
                exits::module_removed(self.id, handle.id);
                let _ = self.unlink(handle.id);
                Err(e)
            }
            Err(e) => {
                self.lock_modules()
                    .registry
                    .set_state(handle.id, crate::registry::State::Failed(e.to_string()));
                Err(e)
            }
        }
    }

    /// Creates a resource tracker for a new module, lets `add` hand the code to ORC under it,
    /// and records the module. `modules` is held throughout, so ORC and the registry see
    /// additions in the same order (which weak definition wins depends on it).
    fn add_tracked(
        &self,
        modules: &mut Modules,
        name: String,
        symbols: ModuleSymbols,
        code: CodeLayout,
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
            // SAFETY: the tracker is ours and holds nothing; release our reference (ORC
            // destroyed the object it was given).
            unsafe { LLVMOrcReleaseResourceTracker(tracker.as_ptr()) };
            return Err(Error::ModuleRejected { name, message });
        }
        let id = modules.next_id;
        modules.next_id += 1;
        modules.loaded.insert(id, Loaded { tracker, code });
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
        let not_a_function = |other: &str, name: &str| Error::ModuleRejected {
            name: module.to_owned(),
            message: format!(
                "`{name}` is called, or defined weak, as a function in one of this module and \
                 {other}, and defined as data (or only in module asm, with no ABI to check a \
                 call against) in the other: calls would jump into it"
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
            } else if let Some((provider, defined)) = registry.definition(name) {
                match &defined.signature {
                    Some(defined) => mismatch(module, name, declared, defined)?,
                    None => return Err(not_a_function(registry.name(provider), name)),
                }
            }
        }
        // Data: a definition ORC does not keep (a weak one, where the name has one) must not be
        // larger than the one it keeps, or this module's code would touch memory past it; a
        // strong one that replaces weak ones must not be smaller than theirs. (A linker keeps
        // the largest common symbol; ORC keeps the first.)
        for defined in symbols.defined.iter().filter(|d| d.kind == Kind::Data) {
            let too_small =
                |kept: &str, kept_size: u64, other: &str, other_size: u64| Error::ModuleRejected {
                    name: module.to_owned(),
                    message: format!(
                        "`{}` is {other_size} bytes in {other} but the JIT keeps the {kept_size} \
                         bytes of {kept}: code of {other} would touch memory past it; give it one \
                         size everywhere",
                        defined.name
                    ),
                };
            match defined.strength {
                Strength::Weak => {
                    if let Some((winner, kept)) = registry.definition(&defined.name)
                        && kept.kind == Kind::Data
                        && kept.size < defined.size
                    {
                        return Err(too_small(
                            registry.name(winner),
                            kept.size,
                            module,
                            defined.size,
                        ));
                    }
                }
                Strength::Strong => {
                    for (other, weak) in registry.data_definitions(&defined.name) {
                        if weak.strength == Strength::Weak && weak.size > defined.size {
                            return Err(too_small(module, defined.size, other, weak.size));
                        }
                    }
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
                // Not a function whose ABI is known (data, or code only module asm defines):
                // no call of the name, and no weak function it replaces, may reach it.
                let caller = registry
                    .declarations(&defined.name)
                    .map(|(m, _)| m)
                    .chain(registry.weak_definitions(&defined.name).map(|(m, _)| m))
                    .next();
                if let Some(other) = caller {
                    return Err(not_a_function(other, &defined.name));
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
        let name = modules.registry.name(handle.id).to_owned();
        let dependents = modules.registry.dependents(handle.id);
        if !dependents.is_empty() {
            return Err(Error::ModuleInUse {
                module: name,
                dependents,
            });
        }
        if !modules.loaded.contains_key(&handle.id) {
            return Err(Error::StaleHandle(handle.id));
        }
        if let Some(reason) = exits::removal_blocked(self.id, handle.id) {
            return Err(Error::ModuleStillNeeded {
                module: name,
                reason,
            });
        }
        // Its exit handlers and destructors run while its code (and what it calls) is there.
        exits::module_removed(self.id, handle.id);
        self.unlink(handle.id)
    }

    /// Takes a module out of ORC (freeing its code) and out of the registry.
    fn unlink(&self, id: u64) -> Result<()> {
        let loaded = {
            let mut modules = self.lock_modules();
            modules.registry.remove(id);
            modules.loaded.remove(&id).ok_or(Error::StaleHandle(id))?
        };
        // SAFETY: the tracker is live and ours; remove it from the JIT (which frees the
        // module's code), then release our reference exactly once. Clearing dead pool entries
        // only frees strings nothing refers to (lookups retain the names they use).
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

    /// Whether modules' constructors and destructors may run.
    pub(crate) fn run_structors(&self) -> bool {
        self.run_structors
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
        // Exit handlers and destructors first, while all the code is still there (exits.rs).
        exits::jit_dropped(self.id);
        let modules = std::mem::take(&mut self.lock_modules().loaded);
        // `installed` (lookup callbacks) is dropped with the other fields, after this body.
        // SAFETY: each tracker reference is ours and released once; then the LLJIT, which
        // nothing else owns, is disposed once, and with it every module's code. Its error (if
        // any) is consumed. The session's Diagnostics box is freed after that, with the fields.
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

/// `call` for each `extern "C" fn` type a [`Function`] can have (up to eight parameters).
macro_rules! callable {
    ($($arg:ident),*) => {
        impl<'jit, R: JitReturn, $($arg: JitValue),*> Function<'jit, extern "C" fn($($arg),*) -> R> {
            /// Calls the JIT function.
            ///
            /// # Safety
            /// JIT code is foreign code, like a C library's: orc-jit has checked that the
            /// function's ABI is this Rust type's, and that every module and symbol its module
            /// refers to is still in the JIT, but not what the code does. The caller promises
            /// that, for these arguments, the function and everything it calls behave like
            /// sound C: they only access memory that is valid for that access (including what
            /// pointer arguments point to), do not unwind, do not free or keep memory they do
            /// not own, and uphold any invariant the Rust side relies on (see the crate's
            /// safety model).
            #[allow(non_snake_case, clippy::too_many_arguments)]
            pub unsafe fn call(&self, $($arg: $arg),*) -> R {
                (self.as_fn())($($arg),*)
            }
        }
    };
}

callable!();
callable!(A1);
callable!(A1, A2);
callable!(A1, A2, A3);
callable!(A1, A2, A3, A4);
callable!(A1, A2, A3, A4, A5);
callable!(A1, A2, A3, A4, A5, A6);
callable!(A1, A2, A3, A4, A5, A6, A7);
callable!(A1, A2, A3, A4, A5, A6, A7, A8);
