//! Everything that differs between the LLVM versions jit-core supports, so the rest of the
//! crate reads as if there were one LLVM. The version is chosen by a cargo feature (`llvm14`,
//! `llvm15`, `llvm16`, `llvm19`, `llvm22`; build.rs turns it into the `jit_llvm` cfg), each with
//! its llvm-sys line, imported as `llvm_sys` in lib.rs.

use std::ffi::{c_char, c_void};
use std::ptr::NonNull;

use llvm_sys::error::LLVMErrorRef;
use llvm_sys::orc2::{
    LLVMOrcCAPIDefinitionGeneratorTryToGenerateFunction, LLVMOrcCreateNewThreadSafeModule,
    LLVMOrcDefinitionGeneratorRef, LLVMOrcDisposeThreadSafeContext, LLVMOrcObjectLayerRef,
    LLVMOrcThreadSafeModuleRef,
};
use llvm_sys::prelude::{LLVMContextRef, LLVMModuleRef};

/// The LLVM major version this build of jit-core uses.
pub const LLVM_VERSION: u32 = if cfg!(jit_llvm = "14") {
    14
} else if cfg!(jit_llvm = "15") {
    15
} else if cfg!(jit_llvm = "16") {
    16
} else if cfg!(jit_llvm = "19") {
    19
} else {
    22
};

/// The LLVM context a module is parsed into, owned until the module goes to ORC.
///
/// Up to LLVM 19 a `ThreadSafeContext` is created first and its context borrowed; LLVM 21
/// removed `LLVMOrcThreadSafeContextGetContext`, so from then on the context is created alone
/// and wrapped when the module is handed over.
pub(crate) struct OwnedContext {
    #[cfg(not(jit_llvm = "22"))]
    thread_safe: NonNull<llvm_sys::orc2::LLVMOrcOpaqueThreadSafeContext>,
    context: NonNull<llvm_sys::LLVMContext>,
}

impl OwnedContext {
    pub(crate) fn new() -> Option<OwnedContext> {
        #[cfg(not(jit_llvm = "22"))]
        // SAFETY: creating a thread-safe context has no preconditions; the context it owns is
        // borrowed for as long as this value holds the reference (disposed in Drop or
        // into_thread_safe_module).
        unsafe {
            let thread_safe = NonNull::new(llvm_sys::orc2::LLVMOrcCreateNewThreadSafeContext())?;
            let context = llvm_sys::orc2::LLVMOrcThreadSafeContextGetContext(thread_safe.as_ptr());
            // LLVM 15 and 16 switch a context to typed pointers when the first IR they read
            // has them, and then refuse opaque-pointer bitcode (clang-15's, the IPO runtime's).
            // Opaque from the start, they read typed IR as opaque, like LLVM 17 and later.
            #[cfg(any(jit_llvm = "15", jit_llvm = "16"))]
            llvm_sys::core::LLVMContextSetOpaquePointers(context, 1);
            Some(OwnedContext {
                thread_safe,
                context: NonNull::new(context)?,
            })
        }
        #[cfg(jit_llvm = "22")]
        // SAFETY: creating a context has no preconditions; Drop or into_thread_safe_module
        // disposes of it once.
        unsafe {
            Some(OwnedContext {
                context: NonNull::new(llvm_sys::core::LLVMContextCreate())?,
            })
        }
    }

    pub(crate) fn raw(&self) -> LLVMContextRef {
        self.context.as_ptr()
    }

    /// Wraps `module`, which lives in this context, for ORC, which then owns both.
    ///
    /// # Safety
    /// `module` is a live module of this context, owned by the caller, used by no one after.
    pub(crate) unsafe fn into_thread_safe_module(
        self,
        module: LLVMModuleRef,
    ) -> LLVMOrcThreadSafeModuleRef {
        let this = std::mem::ManuallyDrop::new(self);
        #[cfg(not(jit_llvm = "22"))]
        let thread_safe = this.thread_safe.as_ptr();
        #[cfg(jit_llvm = "22")]
        // SAFETY: the context is ours and in no other thread-safe context; the new one takes it.
        let thread_safe =
            unsafe { llvm_sys::orc2::LLVMOrcCreateNewThreadSafeContextFromLLVMContext(this.raw()) };
        // SAFETY: the thread-safe module takes the module and its own reference to the context;
        // then we drop ours, exactly once (`this` is never dropped).
        unsafe {
            let tsm = LLVMOrcCreateNewThreadSafeModule(module, thread_safe);
            LLVMOrcDisposeThreadSafeContext(thread_safe);
            tsm
        }
    }
}

impl Drop for OwnedContext {
    fn drop(&mut self) {
        // SAFETY: owned by this value and not handed over (into_thread_safe_module forgets it);
        // the caller disposed of every module of the context first.
        unsafe {
            #[cfg(not(jit_llvm = "22"))]
            LLVMOrcDisposeThreadSafeContext(self.thread_safe.as_ptr());
            #[cfg(jit_llvm = "22")]
            llvm_sys::core::LLVMContextDispose(self.context.as_ptr());
        }
    }
}

/// A name and an address for `LLVMOrcAbsoluteSymbols` (renamed from `LLVMJIT...` in LLVM 15).
#[cfg(jit_llvm = "14")]
pub(crate) type SymbolMapPair = llvm_sys::orc2::LLVMJITCSymbolMapPair;
#[cfg(not(jit_llvm = "14"))]
pub(crate) type SymbolMapPair = llvm_sys::orc2::LLVMOrcCSymbolMapPair;

/// Parses IR or bitcode from `buffer` into `context`, taking ownership of the buffer (as
/// `LLVMParseIRInContext` does; LLVM 21's `LLVMParseIRInContext2` leaves it to the caller).
///
/// # Safety
/// As `LLVMParseIRInContext`: live context and buffer, writable out-parameters.
pub(crate) unsafe fn parse_ir(
    context: LLVMContextRef,
    buffer: llvm_sys::prelude::LLVMMemoryBufferRef,
    module: *mut LLVMModuleRef,
    message: *mut *mut c_char,
) -> bool {
    // SAFETY: caller; on LLVM 22 the buffer, which the parser only read, is disposed once here.
    unsafe {
        #[cfg(jit_llvm = "22")]
        {
            let failed =
                llvm_sys::ir_reader::LLVMParseIRInContext2(context, buffer, module, message);
            llvm_sys::core::LLVMDisposeMemoryBuffer(buffer);
            failed != 0
        }
        #[cfg(not(jit_llvm = "22"))]
        {
            llvm_sys::ir_reader::LLVMParseIRInContext(context, buffer, module, message) != 0
        }
    }
}

#[cfg(not(jit_llvm = "14"))]
extern "C" fn keep_context(_ctx: *mut c_void) {
    // The generator's context is owned by the Jit (sources::Installed), not by LLVM.
}

/// ORC's custom definition generator. LLVM 15 added a dispose callback for the context; the
/// Jit owns the context itself, so the callback does nothing.
///
/// # Safety
/// `ctx` stays valid for as long as the generator can be called.
pub(crate) unsafe fn custom_generator(
    function: LLVMOrcCAPIDefinitionGeneratorTryToGenerateFunction,
    ctx: *mut c_void,
) -> LLVMOrcDefinitionGeneratorRef {
    // SAFETY: caller.
    unsafe {
        #[cfg(jit_llvm = "14")]
        return llvm_sys::orc2::LLVMOrcCreateCustomCAPIDefinitionGenerator(function, ctx);
        #[cfg(not(jit_llvm = "14"))]
        return llvm_sys::orc2::LLVMOrcCreateCustomCAPIDefinitionGenerator(
            function,
            ctx,
            keep_context,
        );
    }
}

#[cfg(jit_llvm = "19")]
unsafe extern "C" {
    // LLVM 19's llvm-c/Orc.h declares it (three parameters), but its definition lacks
    // `extern "C"`, so libLLVM-19 exports it under its C++ name only (and llvm-sys 191 has no
    // binding). The parameters are plain pointers, passed the same way from C and C++.
    #[link_name = "_Z48LLVMOrcCreateStaticLibrarySearchGeneratorForPathPP32LLVMOrcOpaqueDefinitionGeneratorP24LLVMOrcOpaqueObjectLayerPKc"]
    fn LLVMOrcCreateStaticLibrarySearchGeneratorForPath(
        result: *mut LLVMOrcDefinitionGeneratorRef,
        obj_layer: LLVMOrcObjectLayerRef,
        file_name: *const c_char,
    ) -> LLVMErrorRef;
}

/// A generator linking members of the archive at `path` into `layer` on demand. From LLVM 19
/// on, the triple comes from the archive itself.
///
/// # Safety
/// `result` is writable, `layer` is a live object layer, `path` and `triple` are C strings.
pub(crate) unsafe fn static_library_generator(
    result: *mut LLVMOrcDefinitionGeneratorRef,
    layer: LLVMOrcObjectLayerRef,
    path: *const c_char,
    triple: *const c_char,
) -> LLVMErrorRef {
    // SAFETY: caller.
    unsafe {
        #[cfg(jit_llvm = "22")]
        {
            let _ = triple;
            llvm_sys::orc2::LLVMOrcCreateStaticLibrarySearchGeneratorForPath(result, layer, path)
        }
        #[cfg(jit_llvm = "19")]
        {
            let _ = triple;
            LLVMOrcCreateStaticLibrarySearchGeneratorForPath(result, layer, path)
        }
        #[cfg(not(any(jit_llvm = "19", jit_llvm = "22")))]
        {
            llvm_sys::orc2::LLVMOrcCreateStaticLibrarySearchGeneratorForPath(
                result, layer, path, triple,
            )
        }
    }
}
