//! Where JIT code's external symbols come from, and how each source is installed into ORC.

use std::ffi::{CStr, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::Arc;

use llvm_sys::error::LLVMErrorRef;
use llvm_sys::orc2::lljit::{
    LLVMOrcLLJITGetGlobalPrefix, LLVMOrcLLJITGetMainJITDylib, LLVMOrcLLJITGetObjLinkingLayer,
    LLVMOrcLLJITGetTripleString, LLVMOrcLLJITMangleAndIntern, LLVMOrcLLJITRef,
};
use llvm_sys::orc2::{
    LLVMJITEvaluatedSymbol, LLVMJITSymbolFlags, LLVMJITSymbolGenericFlags, LLVMOrcAbsoluteSymbols,
    LLVMOrcCLookupSet, LLVMOrcCreateDynamicLibrarySearchGeneratorForPath,
    LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess, LLVMOrcDefinitionGeneratorRef,
    LLVMOrcDisposeMaterializationUnit, LLVMOrcJITDylibAddGenerator, LLVMOrcJITDylibDefine,
    LLVMOrcJITDylibLookupFlags, LLVMOrcJITDylibRef, LLVMOrcLookupKind, LLVMOrcLookupStateRef,
    LLVMOrcRetainSymbolStringPoolEntry, LLVMOrcSymbolStringPoolEntryStr,
};

use crate::error::{Error, Result};
use crate::llvm::{c_string, take_error};
use crate::signature::{JitFn, Signature};
use crate::version::{self, SymbolMapPair};

/// A lookup callback: symbol name → address, or `None` to let the next source try.
pub type LookupFn = dyn Fn(&str) -> Option<u64> + Send + Sync;

/// A host function JIT code may call by name: its address and, when it came from a Rust
/// function type, its signature, against which every IR declaration of the name is checked
/// when a module is added.
#[derive(Clone, Debug)]
pub struct HostFunction {
    name: String,
    address: u64,
    signature: Option<Signature>,
}

impl HostFunction {
    /// A Rust `extern "C" fn` under `name`. Safe: the address is a real function, and every IR
    /// declaration of `name` must match its signature ([`Error::DeclarationMismatch`]).
    pub fn new<F: JitFn>(name: impl Into<String>, function: F) -> HostFunction {
        HostFunction {
            name: name.into(),
            address: function.address(),
            signature: Some(F::signature()),
        }
    }

    /// A raw address under `name`, with no signature to check declarations against.
    ///
    /// # Safety
    /// `address` stays, while the JIT lives, the entry of a function (or the address of data)
    /// that behaves as every IR declaration of `name` in modules added to the JIT says.
    pub unsafe fn from_address(name: impl Into<String>, address: u64) -> HostFunction {
        HostFunction {
            name: name.into(),
            address,
            signature: None,
        }
    }

    /// One of orc-jit's own runtime functions (exits.rs) or data (a handle).
    pub(crate) fn runtime(name: &str, address: u64, signature: Option<Signature>) -> HostFunction {
        HostFunction {
            name: name.to_owned(),
            address,
            signature,
        }
    }

    /// The name JIT code uses.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Rust signature, if it came from a function type.
    pub fn signature(&self) -> Option<&Signature> {
        self.signature.as_ref()
    }

    pub(crate) fn address(&self) -> u64 {
        self.address
    }
}

/// A custom lookup callback (see [`crate::JitBuilder::symbol_lookup`]).
#[derive(Clone)]
pub struct SymbolLookup(Arc<LookupFn>);

impl SymbolLookup {
    /// Wraps a callback that maps names to addresses.
    ///
    /// # Safety
    /// Every address the callback returns for a name stays, while the JIT lives, the entry of a
    /// function (or the address of data) that behaves as every IR declaration of that name in
    /// modules added to the JIT says. The callback is called on the thread that looks a symbol
    /// up, while the JIT compiles; calling back into the same JIT from it gets
    /// [`Error::Reentrant`], and it must not wait for another thread that uses the same JIT
    /// (that thread waits for the compilation the callback is part of: a deadlock).
    pub unsafe fn new(lookup: impl Fn(&str) -> Option<u64> + Send + Sync + 'static) -> Self {
        SymbolLookup(Arc::new(lookup))
    }
}

/// One place JIT code's external symbols are looked up. The JIT searches them in this order,
/// whatever order the builder was given them in:
///
/// 1. [`SymbolSource::HostFunctions`] — defined up front, so they win over everything else;
/// 2. [`SymbolSource::SharedLibrary`] — each library in the order added;
/// 3. [`SymbolSource::StaticArchive`] — each archive in the order added;
/// 4. [`SymbolSource::Lookup`] — the custom callback;
/// 5. [`SymbolSource::Process`] — this process's dynamic symbol table, last.
#[derive(Clone)]
#[non_exhaustive]
pub enum SymbolSource {
    /// This process's dynamic symbol table and the libraries it has loaded, like
    /// `dlsym(RTLD_DEFAULT, ...)`. The host binary must export what JIT code uses (jit-linkage).
    Process,
    /// A shared library, loaded permanently by path (`dlopen`; never unloaded), like lli's
    /// `--dlopen`. Needs no link-time dependency of the host.
    SharedLibrary(PathBuf),
    /// A static archive whose members are linked into the JIT on demand, like lli's
    /// `--extra-archive`. Needs no host linker flags at all.
    StaticArchive(PathBuf),
    /// Host functions, typically Rust `extern "C" fn`s ([`HostFunction::new`]).
    HostFunctions(Vec<HostFunction>),
    /// A callback asked for every name the other sources before it did not define.
    Lookup(SymbolLookup),
}

impl std::fmt::Debug for SymbolSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl SymbolSource {
    fn rank(&self) -> u8 {
        match self {
            SymbolSource::HostFunctions(_) => 0,
            SymbolSource::SharedLibrary(_) => 1,
            SymbolSource::StaticArchive(_) => 2,
            SymbolSource::Lookup(_) => 3,
            SymbolSource::Process => 4,
        }
    }

    /// How an error message names the source.
    pub(crate) fn describe(&self) -> String {
        match self {
            SymbolSource::Process => "this process's dynamic symbol table".into(),
            SymbolSource::SharedLibrary(p) => format!("shared library {}", p.display()),
            SymbolSource::StaticArchive(p) => format!("static archive {}", p.display()),
            SymbolSource::HostFunctions(f) => {
                let names: Vec<&str> = f.iter().map(HostFunction::name).collect();
                format!("host functions ({})", names.join(", "))
            }
            SymbolSource::Lookup(_) => "the custom lookup callback".into(),
        }
    }
}

/// Sorts sources into search order (stable: the builder's order within a kind).
pub(crate) fn search_order(sources: &[SymbolSource]) -> Vec<SymbolSource> {
    let mut sorted = sources.to_vec();
    sorted.sort_by_key(SymbolSource::rank);
    sorted
}

/// What the installed sources need kept alive while the JIT lives.
#[derive(Default)]
pub(crate) struct Installed {
    /// Contexts of lookup callbacks: LLVM holds raw pointers to them.
    #[allow(clippy::vec_box)] // Boxed so the addresses LLVM holds survive the Vec growing.
    pub(crate) callbacks: Vec<Box<Callback>>,
}

/// The context of the custom generator: the user's callback and the global prefix.
pub(crate) struct Callback {
    lookup: Arc<LookupFn>,
    prefix: u8,
}

/// Installs `source` into the LLJIT's main JITDylib.
///
/// # Safety
/// `jit` is a live LLJIT. Pointers stored in `installed` must stay alive (and unmoved, which
/// the boxes ensure) until the LLJIT is disposed.
pub(crate) unsafe fn install(
    jit: LLVMOrcLLJITRef,
    source: &SymbolSource,
    installed: &mut Installed,
) -> Result<()> {
    // SAFETY: `jit` is live (caller). Each generator created here is handed to the JITDylib,
    // which takes ownership; each MU is handed to JITDylibDefine, which takes it on success and
    // leaves it to us (disposed in define_absolute) on failure. Errors are consumed once. The
    // callback box is kept in `installed`, which outlives the LLJIT (caller).
    unsafe {
        let dylib = LLVMOrcLLJITGetMainJITDylib(jit);
        let prefix = LLVMOrcLLJITGetGlobalPrefix(jit);
        let mut generator: LLVMOrcDefinitionGeneratorRef = ptr::null_mut();
        match source {
            SymbolSource::Process => {
                let err = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
                    &mut generator,
                    prefix,
                    None,
                    ptr::null_mut(),
                );
                if let Some(message) = take_error(err) {
                    return Err(Error::Llvm(format!(
                        "cannot search this process's symbols: {message}"
                    )));
                }
            }
            SymbolSource::SharedLibrary(path) => {
                check_file(path, "shared library")?;
                let c_path = c_string(&path.to_string_lossy())?;
                let err = LLVMOrcCreateDynamicLibrarySearchGeneratorForPath(
                    &mut generator,
                    c_path.as_ptr(),
                    prefix,
                    None,
                    ptr::null_mut(),
                );
                if let Some(message) = take_error(err) {
                    return Err(Error::Library {
                        path: path.clone(),
                        message,
                    });
                }
            }
            SymbolSource::StaticArchive(path) => {
                check_file(path, "static archive")?;
                let c_path = c_string(&path.to_string_lossy())?;
                let err = version::static_library_generator(
                    &mut generator,
                    LLVMOrcLLJITGetObjLinkingLayer(jit),
                    c_path.as_ptr(),
                    LLVMOrcLLJITGetTripleString(jit),
                );
                if let Some(message) = take_error(err) {
                    return Err(Error::Library {
                        path: path.clone(),
                        message,
                    });
                }
            }
            SymbolSource::HostFunctions(functions) => {
                // Every name is checked before any is interned: an error leaks no pool entry. A
                // leading \x01 ("do not mangle") would make ORC's name differ from the JIT's.
                let c_names = functions
                    .iter()
                    .map(
                        |f| match f.name().is_empty() || f.name().starts_with('\u{1}') {
                            true => Err(Error::InvalidName(f.name().to_owned())),
                            false => c_string(f.name()),
                        },
                    )
                    .collect::<Result<Vec<_>>>()?;
                let pairs = c_names
                    .iter()
                    .zip(functions)
                    .map(|(c_name, f)| {
                        symbol_pair(
                            LLVMOrcLLJITMangleAndIntern(jit, c_name.as_ptr()),
                            f.address(),
                        )
                    })
                    .collect();
                return define_absolute(dylib, pairs).map_err(|message| {
                    Error::Llvm(format!("cannot define host functions: {message}"))
                });
            }
            SymbolSource::Lookup(lookup) => {
                let callback = Box::new(Callback {
                    lookup: lookup.0.clone(),
                    prefix: prefix as u8,
                });
                let ctx = &*callback as *const Callback as *mut c_void;
                generator = version::custom_generator(try_to_generate, ctx);
                installed.callbacks.push(callback);
            }
        }
        LLVMOrcJITDylibAddGenerator(dylib, generator);
    }
    Ok(())
}

fn check_file(path: &Path, what: &str) -> Result<()> {
    if path.is_file() {
        Ok(())
    } else {
        Err(Error::Library {
            path: path.to_path_buf(),
            message: format!("no such {what} (check the path; build it first if it is yours)"),
        })
    }
}

/// A callable, exported symbol at `address`. `name` must already be retained for ORC.
fn symbol_pair(
    name: llvm_sys::orc2::LLVMOrcSymbolStringPoolEntryRef,
    address: u64,
) -> SymbolMapPair {
    SymbolMapPair {
        Name: name,
        Sym: LLVMJITEvaluatedSymbol {
            Address: address,
            Flags: LLVMJITSymbolFlags {
                GenericFlags: LLVMJITSymbolGenericFlags::LLVMJITSymbolGenericFlagsExported as u8
                    | LLVMJITSymbolGenericFlags::LLVMJITSymbolGenericFlagsCallable as u8,
                TargetFlags: 0,
            },
        },
    }
}

/// Defines absolute symbols in `dylib`.
///
/// # Safety
/// `dylib` is live; every name in `pairs` is retained (ownership passes to ORC).
unsafe fn define_absolute(
    dylib: LLVMOrcJITDylibRef,
    mut pairs: Vec<SymbolMapPair>,
) -> std::result::Result<(), String> {
    if pairs.is_empty() {
        return Ok(());
    }
    // SAFETY: caller; AbsoluteSymbols copies the array and takes the names; JITDylibDefine takes
    // the MU on success, and on failure we dispose of it once.
    unsafe {
        let unit = LLVMOrcAbsoluteSymbols(pairs.as_mut_ptr(), pairs.len());
        let err = LLVMOrcJITDylibDefine(dylib, unit);
        if err.is_null() {
            return Ok(());
        }
        LLVMOrcDisposeMaterializationUnit(unit);
        Err(take_error(err).unwrap_or_default())
    }
}

/// ORC's custom definition generator: asks the user's callback for each name being looked up.
extern "C" fn try_to_generate(
    _generator: LLVMOrcDefinitionGeneratorRef,
    ctx: *mut c_void,
    _state: *mut LLVMOrcLookupStateRef,
    _kind: LLVMOrcLookupKind,
    dylib: LLVMOrcJITDylibRef,
    _flags: LLVMOrcJITDylibLookupFlags,
    set: LLVMOrcCLookupSet,
    size: usize,
) -> LLVMErrorRef {
    // SAFETY: `ctx` is the Callback boxed in the Jit's Installed, alive until the LLJIT is
    // disposed.
    let callback = unsafe { &*(ctx as *const Callback) };
    // SAFETY: ORC passes `size` valid elements with live names.
    let elements = unsafe { std::slice::from_raw_parts(set, size) };
    let mut pairs = Vec::new();
    for element in elements {
        // SAFETY: the name is a live pool entry; its string lives as long as the entry.
        let mangled = unsafe { CStr::from_ptr(LLVMOrcSymbolStringPoolEntryStr(element.Name)) };
        let Ok(mangled) = mangled.to_str() else {
            continue;
        };
        let name = match callback.prefix {
            0 => mangled,
            p => mangled.strip_prefix(p as char).unwrap_or(mangled),
        };
        // A panicking callback must not unwind into C++: it counts as "not found".
        let found = catch_unwind(AssertUnwindSafe(|| (callback.lookup)(name)))
            .ok()
            .flatten();
        if let Some(address) = found {
            // SAFETY: AbsoluteSymbols takes a reference to the name; retain one for it.
            unsafe { LLVMOrcRetainSymbolStringPoolEntry(element.Name) };
            pairs.push(symbol_pair(element.Name, address));
        }
    }
    // SAFETY: `dylib` is the live JITDylib being searched; the names were retained above.
    match unsafe { define_absolute(dylib, pairs) } {
        Ok(()) => ptr::null_mut(),
        Err(message) => {
            let message = std::ffi::CString::new(message.replace('\0', " ")).unwrap_or_default();
            // SAFETY: creates an error that ORC takes ownership of.
            unsafe { llvm_sys::error::LLVMCreateStringError(message.as_ptr()) }
        }
    }
}
