//! Everything that differs between the LLVM versions orc-jit supports, so the rest of the
//! crate reads as if there were one LLVM. The version is chosen by a cargo feature (`llvm14`,
//! `llvm15`, `llvm16`, `llvm19`, `llvm22`; build.rs turns it into the `jit_llvm` cfg), each with
//! its llvm-sys line, imported as `llvm_sys` in lib.rs.

use std::ffi::{c_char, c_void};
use std::ptr::NonNull;

use llvm_sys::error::LLVMErrorRef;
use llvm_sys::orc2::{
    LLVMOrcCAPIDefinitionGeneratorTryToGenerateFunction, LLVMOrcDefinitionGeneratorRef,
    LLVMOrcObjectLayerRef,
};
use llvm_sys::prelude::{LLVMContextRef, LLVMModuleRef};

/// The LLVM major version this build of orc-jit uses.
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

/// The LLVM context a module is parsed into and compiled in (modules reach ORC as object
/// files, so no context is ever handed to it).
pub(crate) struct OwnedContext {
    context: NonNull<llvm_sys::LLVMContext>,
}

impl OwnedContext {
    pub(crate) fn new() -> Option<OwnedContext> {
        // SAFETY: creating a context has no preconditions; Drop disposes of it once.
        unsafe {
            let context = NonNull::new(llvm_sys::core::LLVMContextCreate())?;
            // LLVM 15 and 16 switch a context to typed pointers when the first IR they read
            // has them, and then refuse opaque-pointer bitcode (clang-15's, the IPO runtime's).
            // Opaque from the start, they read typed IR as opaque, like LLVM 17 and later.
            #[cfg(any(jit_llvm = "15", jit_llvm = "16"))]
            llvm_sys::core::LLVMContextSetOpaquePointers(context.as_ptr(), 1);
            Some(OwnedContext { context })
        }
    }

    pub(crate) fn raw(&self) -> LLVMContextRef {
        self.context.as_ptr()
    }
}

impl Drop for OwnedContext {
    fn drop(&mut self) {
        // SAFETY: owned by this value; the caller disposed of every module of the context
        // first.
        unsafe { llvm_sys::core::LLVMContextDispose(self.context.as_ptr()) }
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

/// Whether `ty` (or, for a function type, a parameter or the result) is a target extension
/// type (LLVM 16 on), which only its own target's code generator knows.
///
/// # Safety
/// `ty` is a live type.
pub(crate) unsafe fn is_target_extension(ty: llvm_sys::prelude::LLVMTypeRef) -> bool {
    #[cfg(any(jit_llvm = "16", jit_llvm = "19", jit_llvm = "22"))]
    // SAFETY: caller; only reads the type and its parameters.
    unsafe {
        use llvm_sys::LLVMTypeKind::{LLVMFunctionTypeKind, LLVMTargetExtTypeKind};
        use llvm_sys::core::{
            LLVMCountParamTypes, LLVMGetParamTypes, LLVMGetReturnType, LLVMGetTypeKind,
        };
        match LLVMGetTypeKind(ty) {
            LLVMTargetExtTypeKind => true,
            LLVMFunctionTypeKind => {
                let mut params = vec![std::ptr::null_mut(); LLVMCountParamTypes(ty) as usize];
                LLVMGetParamTypes(ty, params.as_mut_ptr());
                params
                    .into_iter()
                    .chain([LLVMGetReturnType(ty)])
                    .any(|t| LLVMGetTypeKind(t) == LLVMTargetExtTypeKind)
            }
            _ => false,
        }
    }
    #[cfg(not(any(jit_llvm = "16", jit_llvm = "19", jit_llvm = "22")))]
    {
        let _ = ty;
        false
    }
}

/// The names LLJIT's own platform support defines in a new LLJIT's main JITDylib (checked by a
/// test against each version): orc-jit does not define them again.
pub(crate) const LLJIT_DEFINES: &[&str] = if cfg!(jit_llvm = "14") {
    &["__dso_handle", "__cxa_atexit"]
} else if cfg!(any(jit_llvm = "15", jit_llvm = "16")) {
    &["__dso_handle", "__cxa_atexit", "atexit"]
} else {
    &["__dso_handle", "atexit"]
};

/// Whether this version's C API can give an LLJIT JITLink (LLJIT's own default from 19 on).
pub(crate) const HAS_JITLINK: bool = cfg!(any(jit_llvm = "19", jit_llvm = "22"));

/// LLVM's own debugger support for an LLJIT that links with JITLink (`LLVMOrcLLJITEnableDebugSupport`,
/// LLVM 19 on): its error, if any. `None` where the C API has none.
///
/// # Safety
/// `jit` is a live LLJIT whose object layer is JITLink's.
pub(crate) unsafe fn enable_jitlink_debug_support(
    jit: llvm_sys::orc2::lljit::LLVMOrcLLJITRef,
) -> Option<LLVMErrorRef> {
    #[cfg(any(jit_llvm = "19", jit_llvm = "22"))]
    // SAFETY: caller.
    unsafe {
        Some(llvm_sys::orc2::lljit::LLVMOrcLLJITEnableDebugSupport(jit))
    }
    #[cfg(not(any(jit_llvm = "19", jit_llvm = "22")))]
    {
        let _ = jit;
        None
    }
}

/// The LLVM that compiles, as precisely as it can be known: libLLVM's own version from LLVM 16 on
/// (`LLVMGetVersion`: what runs, even after a minor upgrade of the shared library), the build's
/// (`llvm-config --version`, recorded by build.rs) before.
pub(crate) fn llvm_version() -> String {
    #[cfg(any(jit_llvm = "16", jit_llvm = "19", jit_llvm = "22"))]
    {
        let (mut major, mut minor, mut patch) = (0, 0, 0);
        // SAFETY: writes three integers.
        unsafe { llvm_sys::core::LLVMGetVersion(&mut major, &mut minor, &mut patch) };
        format!("{major}.{minor}.{patch}")
    }
    #[cfg(not(any(jit_llvm = "16", jit_llvm = "19", jit_llvm = "22")))]
    {
        env!("ORC_JIT_LLVM_BUILD_VERSION").to_owned()
    }
}

#[cfg(test)]
mod tests {
    /// LLJIT_DEFINES is what a new LLJIT of this version defines, among the names orc-jit's
    /// runtime would otherwise define (exits.rs) and their relatives.
    #[test]
    fn lljit_defines_what_the_table_says() {
        crate::llvm::init().unwrap();
        let candidates = [
            "__dso_handle",
            "__cxa_atexit",
            "atexit",
            "__cxa_thread_atexit",
            "__cxa_thread_atexit_impl",
            "__emutls_get_address",
            "at_quick_exit",
        ];
        // SAFETY: a default LLJIT is created, probed by name (each error consumed) and
        // disposed once.
        let defined: Vec<&str> = unsafe {
            let mut jit = std::ptr::null_mut();
            let err = llvm_sys::orc2::lljit::LLVMOrcCreateLLJIT(
                &mut jit,
                llvm_sys::orc2::lljit::LLVMOrcCreateLLJITBuilder(),
            );
            assert!(crate::llvm::take_error(err).is_none());
            let defined = candidates
                .into_iter()
                .filter(|name| {
                    let c_name = std::ffi::CString::new(*name).unwrap();
                    let mut address = 0;
                    crate::llvm::take_error(llvm_sys::orc2::lljit::LLVMOrcLLJITLookup(
                        jit,
                        &mut address,
                        c_name.as_ptr(),
                    ))
                    .is_none()
                })
                .collect();
            crate::llvm::take_error(llvm_sys::orc2::lljit::LLVMOrcDisposeLLJIT(jit));
            defined
        };
        assert_eq!(
            defined,
            super::LLJIT_DEFINES,
            "LLVM {}",
            super::LLVM_VERSION
        );
    }
}
