//! What a [`Jit`] is built with: code generation settings and symbol sources.

use std::path::Path;

use crate::error::Result;
use crate::isolate::{CompilerPool, IsolationLimits, WorkerProgram};
use crate::jit::{Jit, Settings};
use crate::signature::JitFn;
use crate::sources::{HostFunction, SymbolLookup, SymbolSource, search_order};
use crate::target::{CodeModel, Codegen, ObjectLayer, OptLevel, RelocModel, TargetMachine, Tools};

impl Jit {
    /// A JIT with the default settings: host CPU, PIC, O2, process symbols.
    pub fn new() -> Result<Jit> {
        JitBuilder::default().build()
    }

    /// A builder to configure the JIT.
    pub fn builder() -> JitBuilder {
        JitBuilder::default()
    }
}

/// Configures a [`Jit`]: code generation and the [`SymbolSource`]s its code can call into.
#[derive(Debug, Clone)]
pub struct JitBuilder {
    reloc: RelocModel,
    code_model: CodeModel,
    opt_level: OptLevel,
    process_symbols: bool,
    sources: Vec<SymbolSource>,
    worker: WorkerProgram,
    limits: IsolationLimits,
    run_constructors: bool,
    layer: ObjectLayer,
    tools: Tools,
    cache_dir: Option<std::path::PathBuf>,
    cache_limit: u64,
}

/// The object cache's size limit unless told otherwise.
const DEFAULT_CACHE_LIMIT: u64 = 1 << 30;

impl Default for JitBuilder {
    fn default() -> Self {
        JitBuilder {
            reloc: RelocModel::default(),
            code_model: CodeModel::default(),
            opt_level: OptLevel::default(),
            process_symbols: true,
            sources: Vec::new(),
            worker: WorkerProgram::default(),
            limits: IsolationLimits::default(),
            run_constructors: false,
            layer: ObjectLayer::default(),
            tools: Tools::default(),
            cache_dir: None,
            cache_limit: DEFAULT_CACHE_LIMIT,
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

    /// Makes a Rust function callable from JIT code under `name`
    /// ([`SymbolSource::HostFunctions`]). Its signature is kept: every IR declaration of
    /// `name` must match it ([`crate::Error::DeclarationMismatch`] when the module is added).
    pub fn host_function<F: JitFn>(&mut self, name: impl Into<String>, function: F) -> &mut Self {
        self.push_host(HostFunction::new(name, function))
    }

    /// Makes a raw address callable (or readable) from JIT code under `name`, with no signature
    /// to check declarations against.
    ///
    /// # Safety
    /// As [`HostFunction::from_address`]: `address` stays valid while the JIT lives and is what
    /// every IR declaration of `name` says it is.
    pub unsafe fn host_address(&mut self, name: impl Into<String>, address: u64) -> &mut Self {
        // SAFETY: the caller's promise is HostFunction::from_address's contract.
        self.push_host(unsafe { HostFunction::from_address(name, address) })
    }

    fn push_host(&mut self, function: HostFunction) -> &mut Self {
        match self.sources.iter_mut().find_map(|s| match s {
            SymbolSource::HostFunctions(list) => Some(list),
            _ => None,
        }) {
            Some(list) => list.push(function),
            None => self
                .sources
                .push(SymbolSource::HostFunctions(vec![function])),
        }
        self
    }

    /// Asks `lookup` for names no earlier source defines ([`SymbolSource::Lookup`]). It returns
    /// the address of the symbol or `None`.
    ///
    /// # Safety
    /// As [`SymbolLookup::new`]: every address returned stays valid while the JIT lives and is
    /// what every IR declaration of that name says it is.
    pub unsafe fn symbol_lookup(
        &mut self,
        lookup: impl Fn(&str) -> Option<u64> + Send + Sync + 'static,
    ) -> &mut Self {
        // SAFETY: the caller's promise is SymbolLookup::new's contract.
        self.symbol_source(SymbolSource::Lookup(unsafe { SymbolLookup::new(lookup) }))
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
        let mut sources = self.sources.clone();
        if self.process_symbols {
            sources.push(SymbolSource::Process);
        }
        let codegen = Codegen {
            opt: self.opt_level,
            reloc: self.reloc,
            code_model: self.code_model,
        };
        let machine = TargetMachine::host(codegen)?;
        let pool = CompilerPool::new(self.worker.clone(), self.limits);
        Jit::create(
            machine,
            search_order(&sources),
            pool,
            Settings {
                codegen,
                run_structors: self.run_constructors,
                layer: self.layer,
                tools: self.tools,
                cache: self.cache_dir.clone().map(|dir| (dir, self.cache_limit)),
            },
        )
    }

    /// Keeps every module's object file in `dir` (created if missing), so that a later
    /// process that adds the same module links the stored object: no optimisation, no code
    /// generation, and with [`Jit::add_module_bytes`] or [`Jit::add_module_isolated`] no
    /// parsing either. Every check on an object holds on one from the cache too.
    ///
    /// The key covers everything that changes the object: the module's bytes (an IPO
    /// runtime's too), its name, the LLVM version, the target's triple, CPU and features, the
    /// code generation settings, the debugger and profiler switches, orc-jit's version and a
    /// hash of its source, and the cache format. A module whose object holds process-specific
    /// values (an absolute address written into the IR) is not stored. The cache never makes a
    /// program fail: a broken entry is compiled again and replaced, and a directory that cannot
    /// be used means no cache, with a warning.
    ///
    /// A miss's entry is written by a thread of orc-jit's own while the JIT links the object,
    /// so compiling never waits on the filesystem. Dropping the JIT, [`Jit::cache_stats`] and
    /// the process's exit (`exit`, or `main` returning with the JIT alive) wait for the writes
    /// still pending, so a program that ends right after adding its modules leaves them all;
    /// one killed by a signal loses those writes, and the next start compiles them again.
    ///
    /// The directory is trusted like the program's own files: an entry is code the program will
    /// run, and its checksum catches accidents, not forgeries. A directory another user owns,
    /// or that its group or every user may write (such as `/tmp` itself), is not used (a
    /// warning says why); one the cache creates is mode 0700, its entries 0600. Modules added
    /// through [`Jit::add_module_isolated`] stay bounded by the isolation limits on a hit. `ORC_JIT_LOG=cache` logs each hit, miss and store on stderr;
    /// [`Jit::cache_stats`] counts them.
    pub fn object_cache(&mut self, dir: impl AsRef<std::path::Path>) -> &mut Self {
        self.cache_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// The most the object cache keeps on disk (default 1 GiB): past it, the least recently
    /// used entries go.
    pub fn object_cache_size_limit(&mut self, bytes: u64) -> &mut Self {
        self.cache_limit = bytes;
        self
    }

    /// Which object linker links the JIT's code (default: LLJIT's choice, see [`ObjectLayer`]).
    /// [`ObjectLayer::JitLink`] on LLVM 14, 15 or 16 is an error when the JIT is built.
    pub fn object_layer(&mut self, layer: ObjectLayer) -> &mut Self {
        self.layer = layer;
        self
    }

    /// Registers the JIT's code with the GDB JIT interface (`__jit_debug_register_code`), so
    /// that gdb (and lldb) can break in it, step through it and show it in backtraces, with
    /// source lines and locals where the module has debug information (`!dbg`, a C helper
    /// compiled with `-g`). Off by default: registering costs a copy of each object.
    ///
    /// With the default object layer, a JIT with a debugger links with RuntimeDyld on every
    /// version and registers through LLVM's GDB registration listener, which takes a module's
    /// entry back when the module is removed. JITLink's debugger support (LLVM 19 on, with
    /// [`ObjectLayer::JitLink`] chosen explicitly) does not: each removed module leaves an
    /// entry whose object file is freed memory, which gdb reads when it next looks (2,000
    /// add/remove cycles left 2,000 entries). A program that links LLVM statically must export
    /// the interface's symbols for a stripped binary to work with gdb, and for JITLink's
    /// support at all: the jit-linkage crate does that when the manifest asks for a debugger,
    /// and the toolkit's verify-symbols says whether a binary does.
    pub fn debugger(&mut self, yes: bool) -> &mut Self {
        self.tools.debugger = yes;
        self
    }

    /// Appends each function of the JIT's code, at its address, to `/tmp/perf-<pid>.map`, which
    /// `perf report` reads to name samples in JIT code. Off by default.
    pub fn perf_map(&mut self, yes: bool) -> &mut Self {
        self.tools.perf_map = yes;
        self
    }

    /// Writes each function of the JIT's code, with its bytes, to a jitdump file
    /// (`/tmp/jit-<pid>.dump`) for `perf record -k mono` and `perf inject --jit`, which then
    /// annotate JIT code like any other. Off by default.
    pub fn jitdump(&mut self, yes: bool) -> &mut Self {
        self.tools.jitdump = yes;
        self
    }

    /// Runs modules' global constructors (`llvm.global_ctors`) when they are added, in priority
    /// order as lli does, and their destructors when they are removed or the JIT is dropped.
    /// Off by default: a module with either is then refused ([`crate::Error::Constructors`]).
    ///
    /// # Safety
    /// Constructors and destructors are JIT code that the JIT calls with no arguments, from
    /// `add_module`, `add_module_isolated`, `remove_module` and `Drop`: every module added
    /// must have constructors and destructors that behave like sound C (the contract of
    /// [`crate::Function::call`]).
    pub unsafe fn run_constructors(&mut self, yes: bool) -> &mut Self {
        self.run_constructors = yes;
        self
    }

    /// The program that runs as compile worker for [`Jit::add_module_isolated`] (default:
    /// this process's own executable, which must call [`crate::serve_if_worker`] first thing
    /// in `main`).
    pub fn compile_worker(&mut self, program: WorkerProgram) -> &mut Self {
        self.worker = program;
        self
    }

    /// Memory and time each compile worker may use for one module.
    pub fn isolation_limits(&mut self, limits: IsolationLimits) -> &mut Self {
        self.limits = limits;
        self
    }
}
