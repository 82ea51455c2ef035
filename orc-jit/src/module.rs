//! A parsed and verified LLVM module, in a context of its own, waiting to be added to a JIT.

use std::ffi::c_char;
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

use llvm_sys::analysis::{LLVMVerifierFailureAction, LLVMVerifyModule};
use llvm_sys::core::{
    LLVMContextSetDiagnosticHandler, LLVMCreateMemoryBufferWithMemoryRangeCopy, LLVMDisposeModule,
    LLVMGetFirstUse, LLVMGetIntrinsicID, LLVMGetLinkage, LLVMIsAGlobalAlias, LLVMIsDeclaration,
    LLVMPrintModuleToString,
};
use llvm_sys::prelude::{LLVMModuleRef, LLVMValueRef};
use llvm_sys::{LLVMLinkage, LLVMModule};

use crate::error::{Error, Result};
use crate::ir::{
    aliased_function, aliases, function_signature, functions, globals, symbol_name, value_name,
};
use crate::key::ModuleKey;
use crate::llvm::{Diagnostics, c_string, diagnostic_handler, take_message};
use crate::symbols::{Defined, Kind, ModuleSymbols, Strength};
use crate::version::{self, OwnedContext};

/// An LLVM module that parsed and verified, owned by Rust until [`crate::Jit::add_module`] takes it.
///
/// Each module has an LLVM context of its own, so modules can be compiled on different threads,
/// and a diagnostics sink of its own, so what LLVM says about it (parsing, linking, code
/// generation) is never mixed with another module's. It borrows the JIT that parsed it and
/// carries that JIT's id: [`crate::Jit::add_module`] refuses it anywhere else
/// ([`Error::ForeignModule`]).
pub struct Module<'jit> {
    // Field order is drop order only by accident; Drop below frees the module before the
    // context it lives in, and both before the diagnostics sink the context reports to.
    module: NonNull<LLVMModule>,
    /// Owned, never read: dropped (disposed) after the module, which lives in it.
    #[allow(dead_code)]
    context: OwnedContext,
    diagnostics: Box<Diagnostics>,
    name: String,
    owner: u64,
    /// What the module was made from (see key.rs).
    key: ModuleKey,
    /// The exit-handler handles of the IPO runtimes whose code was imported into it.
    imported_handles: Vec<String>,
    /// Borrows the JIT that parsed it (which it names by `owner`).
    _jit: PhantomData<&'jit ()>,
}

/// The stack LLVM's parser gets (reserved, not committed): it recurses into nested constant
/// expressions, and 8 MiB overflows at a few thousand levels (a 10,000-deep expression is 170 KB
/// of text).
pub(crate) const PARSER_STACK: usize = 1 << 30;

/// Nesting below this parses on any thread's stack (a test thread has 2 MiB).
const SHALLOW: usize = 256;

/// The deepest nesting of brackets in textual IR (0 for bitcode, which LLVM reads without
/// recursing per level of its input).
fn nesting_depth(bytes: &[u8]) -> usize {
    if bytes.starts_with(b"BC") || bytes.starts_with(&[0xDE, 0xC0, 0x17, 0x0B]) {
        return 0;
    }
    let (mut depth, mut deepest) = (0usize, 0usize);
    for &b in bytes {
        match b {
            b'(' | b'[' | b'{' | b'<' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' | b']' | b'}' | b'>' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// A module on its way from the parsing thread to the caller's.
struct Parsed<'jit>(Result<Module<'jit>>);

// SAFETY: the module and its context were created on the parsing thread, which ends after
// handing them over; nothing else refers to them, and LLVM contexts are not tied to a thread.
unsafe impl Send for Parsed<'_> {}

impl<'jit> Module<'jit> {
    /// [`Module::parse`], on a thread with [`PARSER_STACK`] of stack when the input is deeply
    /// nested textual IR (the parser recurses once per level; ordinary input parses here).
    pub(crate) fn parse_on_big_stack(owner: u64, name: &str, bytes: &[u8]) -> Result<Self> {
        if nesting_depth(bytes) < SHALLOW {
            return Module::parse(owner, name, bytes);
        }
        std::thread::scope(|scope| {
            let parser = std::thread::Builder::new()
                .name("llvm-parse".into())
                .stack_size(PARSER_STACK)
                .spawn_scoped(scope, || Parsed(Module::parse(owner, name, bytes)))
                .map_err(|e| Error::Llvm(format!("cannot start the parser thread: {e}")))?;
            match parser.join() {
                Ok(Parsed(result)) => result,
                Err(_) => Err(Error::Llvm(format!("{name}: the parser panicked"))),
            }
        })
    }

    /// Parses textual IR (`.ll`) or bitcode (`.bc`; told apart by its magic bytes), then verifies.
    /// `name` is used in diagnostics (`name:line:col: error: ...`).
    pub(crate) fn parse(owner: u64, name: &str, bytes: &[u8]) -> Result<Self> {
        let c_name = c_string(name)?;
        refuse_newer_bitcode(name, bytes)?;
        let diagnostics = Box::new(Diagnostics::default());
        let context = OwnedContext::new()
            .ok_or_else(|| Error::Llvm("no memory for an LLVM context".into()))?;
        let llvm_context = context.raw();
        // SAFETY: `context` is live. The handler's context pointer is this module's boxed
        // Diagnostics, which outlives this LLVM context: Module's Drop frees it last, and
        // after into_raw the JIT keeps it until the context is gone (see llvm::Diagnostics).
        unsafe {
            LLVMContextSetDiagnosticHandler(
                llvm_context,
                Some(diagnostic_handler),
                diagnostics.as_context(),
            );
        }
        // SAFETY: the buffer copies `bytes` (any length, any content) and is named by a valid C
        // string. version::parse_ir takes ownership of the buffer and frees it in all cases.
        // The out-message, if set, is ours to free (take_message).
        let (module, message) = unsafe {
            let buffer = LLVMCreateMemoryBufferWithMemoryRangeCopy(
                bytes.as_ptr() as *const c_char,
                bytes.len(),
                c_name.as_ptr(),
            );
            let mut module: LLVMModuleRef = ptr::null_mut();
            let mut message: *mut c_char = ptr::null_mut();
            let failed = version::parse_ir(llvm_context, buffer, &mut module, &mut message);
            let message = take_message(message);
            (if failed { None } else { NonNull::new(module) }, message)
        };
        let Some(module) = module else {
            // No module was created in the context: it goes now, before the sink.
            drop(context);
            // LLVM echoes the offending line, which for binary input is raw bytes: keep the
            // terminal sane.
            let mut diagnostic: String = message
                .trim_end()
                .chars()
                .map(|c| {
                    if c.is_control() && c != '\n' && c != '\t' {
                        '\u{fffd}'
                    } else {
                        c
                    }
                })
                .collect();
            for extra in diagnostics.take() {
                diagnostic.push('\n');
                diagnostic.push_str(&extra);
            }
            if let Some(hint) = opaque_pointer_hint(bytes) {
                diagnostic.push_str(hint);
            }
            return Err(Error::Parse {
                name: name.to_owned(),
                diagnostic,
            });
        };
        let module = Module {
            context,
            module,
            diagnostics,
            name: name.to_owned(),
            owner,
            key: ModuleKey::of(bytes),
            imported_handles: Vec::new(),
            _jit: PhantomData,
        };
        module.verify()?;
        // SAFETY: the module is live and owned here.
        if let Some(reason) = unsafe { crate::checks::check(module.raw()) } {
            return Err(Error::Unsupported {
                name: name.to_owned(),
                reason,
            });
        }
        Ok(module)
    }

    /// The name it was parsed under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The raw module, still owned by this value.
    pub(crate) fn raw(&self) -> LLVMModuleRef {
        self.module.as_ptr()
    }

    /// The id of the JIT that parsed it.
    pub(crate) fn owner(&self) -> u64 {
        self.owner
    }

    /// What LLVM said about this module since the last call.
    pub(crate) fn diagnostics(&self) -> &Diagnostics {
        &self.diagnostics
    }

    /// Runs LLVM's verifier; the module is unusable (and dropped by the caller) if it fails.
    pub(crate) fn verify(&self) -> Result<()> {
        let mut message: *mut c_char = ptr::null_mut();
        // SAFETY: the module is live; with ReturnStatusAction the verifier only reports (never
        // aborts), and the message it allocates is freed once by take_message.
        let (failed, message) = unsafe {
            let failed = LLVMVerifyModule(
                self.module.as_ptr(),
                LLVMVerifierFailureAction::LLVMReturnStatusAction,
                &mut message,
            );
            (failed != 0, take_message(message))
        };
        if failed {
            return Err(Error::Verify {
                name: self.name.clone(),
                diagnostic: message.trim_end().to_owned(),
            });
        }
        Ok(())
    }

    /// The module as textual IR.
    pub fn to_ir(&self) -> String {
        // SAFETY: the module is live; the string is ours to free (take_message).
        unsafe { take_message(LLVMPrintModuleToString(self.module.as_ptr())) }
    }

    /// Takes the module's global constructors and destructors out, for the JIT to call.
    pub(crate) fn take_structors(&mut self) -> crate::structors::Structors {
        // SAFETY: the module is live and exclusively ours (`&mut self`).
        unsafe { crate::structors::extract(self.raw(), &self.key) }
    }

    /// Whether the module has global constructors or destructors.
    pub(crate) fn has_structors(&self) -> bool {
        // SAFETY: the module is live; this only reads.
        unsafe { crate::structors::present(self.raw()) }
    }

    /// The symbols this module defines and the ones it needs from elsewhere, as its IR says,
    /// under the names they get in the object file. (What the JIT links is checked against the
    /// object itself: see [`ModuleSymbols::of_object`].)
    pub(crate) fn symbols(&self) -> ModuleSymbols {
        let mut symbols = ModuleSymbols::default();
        // SAFETY: the module is live and not mutated while we walk its functions, globals and
        // aliases; every value returned is a global value of this module.
        unsafe {
            for f in functions(self.raw()) {
                let name = symbol_name(&value_name(f)).to_owned();
                // Intrinsics are not symbols; unnamed functions cannot be looked up by name.
                if LLVMGetIntrinsicID(f) != 0 || name.is_empty() {
                    continue;
                }
                let used = !LLVMGetFirstUse(f).is_null();
                match strength(f) {
                    Some(strength) => symbols.defined.push(Defined {
                        name,
                        strength,
                        signature: Some(function_signature(f)),
                        kind: Kind::Function,
                        size: 0,
                    }),
                    None if used && referable(f) => {
                        if LLVMGetLinkage(f) == LLVMLinkage::LLVMExternalWeakLinkage {
                            symbols.weak_references.push(name.clone());
                        }
                        symbols.declared.push((name.clone(), function_signature(f)));
                        symbols.referenced.push(name);
                    }
                    None => {}
                }
            }
            for g in globals(self.raw()) {
                let name = symbol_name(&value_name(g)).to_owned();
                // LLVM's own arrays (llvm.used, the constructor lists) are not symbols.
                if LLVMGetLinkage(g) == LLVMLinkage::LLVMAppendingLinkage || name.is_empty() {
                    continue;
                }
                match strength(g) {
                    Some(strength) => symbols.defined.push(Defined {
                        name,
                        strength,
                        signature: None,
                        kind: Kind::Data,
                        size: 0,
                    }),
                    None if !LLVMGetFirstUse(g).is_null() && referable(g) => {
                        if LLVMGetLinkage(g) == LLVMLinkage::LLVMExternalWeakLinkage {
                            symbols.weak_references.push(name.clone());
                        }
                        symbols.referenced.push(name)
                    }
                    None => {}
                }
            }
            // An alias is a definition of its own name: a function's alias calls like it.
            for a in aliases(self.raw()) {
                let name = symbol_name(&value_name(a)).to_owned();
                let Some(strength) = strength(a) else {
                    continue;
                };
                let function = aliased_function(a);
                symbols.defined.push(Defined {
                    name,
                    strength,
                    signature: function.map(|f| function_signature(f)),
                    kind: if function.is_some() {
                        Kind::Function
                    } else {
                        Kind::Data
                    },
                    size: 0,
                });
            }
        }
        symbols
    }

    /// What the module was made from.
    pub(crate) fn key(&self) -> ModuleKey {
        self.key
    }

    /// Records that `what` (an IPO runtime's bitcode) went into the module.
    pub(crate) fn mix_into_key(&mut self, what: &str, bytes: &[u8]) {
        self.key = self.key.with(what, bytes);
    }

    /// Records that code of the runtime whose handle is `handle` was imported.
    pub(crate) fn import_handle(&mut self, handle: String) {
        if !self.imported_handles.contains(&handle) {
            self.imported_handles.push(handle);
        }
    }

    /// The handles of the IPO runtimes imported into it.
    pub(crate) fn imported_handles(&self) -> &[String] {
        &self.imported_handles
    }
}

impl Drop for Module<'_> {
    fn drop(&mut self) {
        // SAFETY: the module is live and owned by this value (into_raw forgets it instead). It
        // goes first: it lives in the context, which the `context` field disposes of after this
        // body, and the diagnostics box after that, when no context refers to it.
        unsafe { LLVMDisposeModule(self.module.as_ptr()) };
    }
}

impl std::fmt::Debug for Module<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module").field("name", &self.name).finish()
    }
}

/// Bitcode from a newer LLVM than the JIT's may be misread rather than refused by the reader.
fn refuse_newer_bitcode(name: &str, bytes: &[u8]) -> Result<()> {
    let Some(producer) = crate::bitcode::producer(bytes) else {
        return Ok(());
    };
    let ours = version::LLVM_VERSION;
    match crate::bitcode::producer_major(&producer) {
        Some(theirs) if theirs > ours => Err(Error::Parse {
            name: name.to_owned(),
            diagnostic: format!(
                "{name}: error: the bitcode was written by a newer LLVM than this JIT's, which \
                 may misread it (Producer: '{producer}' Reader: 'LLVM {ours}'); write it with \
                 LLVM {ours}'s tools (clang-{ours}, llvm-as-{ours}) or build orc-jit for LLVM \
                 {theirs} or later"
            ),
        }),
        _ => Ok(()),
    }
}

/// On LLVM 17 and later, a hint for a parse error in textual IR written for typed pointers.
fn opaque_pointer_hint(bytes: &[u8]) -> Option<&'static str> {
    let text = std::str::from_utf8(bytes).ok()?;
    let typed = ["* ", "*,", "*)", "*\n"].iter().any(|p| text.contains(p));
    (version::LLVM_VERSION >= 17 && typed).then_some(
        "\nhint: this LLVM has opaque pointers only: a typed pointer such as `i8*` is read as \
         `ptr`, and IR that relies on pointee types (old `load`/`getelementptr` forms, typed \
         bitcasts) must be written for `ptr` (see LLVM's OpaquePointers document)",
    )
}

/// `Some` for a definition ORC gets a symbol for; `None` for declarations, `private`/`internal`
/// (no symbol) and `available_externally` (a copy for the optimiser; code generation drops it
/// and calls go to the symbol of that name elsewhere).
///
/// # Safety
/// `value` is a live global value.
unsafe fn strength(value: LLVMValueRef) -> Option<Strength> {
    // SAFETY: caller. An alias is a definition whatever its aliasee.
    let (declaration, linkage) = unsafe {
        (
            LLVMIsAGlobalAlias(value).is_null() && LLVMIsDeclaration(value) != 0,
            LLVMGetLinkage(value),
        )
    };
    if declaration {
        return None;
    }
    match linkage {
        LLVMLinkage::LLVMPrivateLinkage
        | LLVMLinkage::LLVMInternalLinkage
        | LLVMLinkage::LLVMAvailableExternallyLinkage
        | LLVMLinkage::LLVMAppendingLinkage => None,
        LLVMLinkage::LLVMWeakAnyLinkage
        | LLVMLinkage::LLVMWeakODRLinkage
        | LLVMLinkage::LLVMLinkOnceAnyLinkage
        | LLVMLinkage::LLVMLinkOnceODRLinkage
        | LLVMLinkage::LLVMLinkOnceODRAutoHideLinkage
        | LLVMLinkage::LLVMCommonLinkage => Some(Strength::Weak),
        _ => Some(Strength::Strong),
    }
}

/// Whether a non-definition must be resolved from elsewhere: declarations (`extern_weak` ones
/// too: they may stay null, but when they resolve, code calls into what they resolve to) and
/// `available_externally` copies.
///
/// # Safety
/// `value` is a live global value that [`strength`] found to be no definition.
unsafe fn referable(value: LLVMValueRef) -> bool {
    // SAFETY: caller.
    let linkage = unsafe { LLVMGetLinkage(value) };
    !matches!(
        linkage,
        LLVMLinkage::LLVMPrivateLinkage | LLVMLinkage::LLVMInternalLinkage
    )
}
