//! A parsed and verified LLVM module, in a context of its own, waiting to be added to a JIT.

use std::ffi::c_char;
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

use llvm_sys::LLVMTypeKind;
use llvm_sys::analysis::{LLVMVerifierFailureAction, LLVMVerifyModule};
use llvm_sys::core::{
    LLVMContextSetDiagnosticHandler, LLVMCountParamTypes,
    LLVMCreateMemoryBufferWithMemoryRangeCopy, LLVMDisposeModule, LLVMGetFirstBasicBlock,
    LLVMGetFirstFunction, LLVMGetFirstGlobal, LLVMGetFirstInstruction, LLVMGetIntTypeWidth,
    LLVMGetLinkage, LLVMGetNextBasicBlock, LLVMGetNextFunction, LLVMGetNextGlobal,
    LLVMGetNextInstruction, LLVMGetParamTypes, LLVMGetReturnType, LLVMGetTypeKind,
    LLVMGetValueName2, LLVMGlobalGetValueType, LLVMIsDeclaration, LLVMIsFunctionVarArg,
    LLVMPrintModuleToString, LLVMPrintTypeToString,
};
use llvm_sys::ir_reader::LLVMParseIRInContext;
use llvm_sys::orc2::{
    LLVMOrcCreateNewThreadSafeContext, LLVMOrcDisposeThreadSafeContext,
    LLVMOrcOpaqueThreadSafeContext, LLVMOrcThreadSafeContextGetContext,
};
use llvm_sys::prelude::{LLVMModuleRef, LLVMTypeRef, LLVMValueRef};
use llvm_sys::{LLVMLinkage, LLVMModule};

use crate::llvm::{Diagnostics, c_string, diagnostic_handler, take_message};
use crate::signature::{Signature, ValueType};
use crate::{Error, Jit, Result};

/// An LLVM module that parsed and verified, owned by Rust until [`Jit::add_module`] takes it.
///
/// Each module has an LLVM context of its own, so modules can be compiled on different threads.
/// It borrows the JIT that parsed it: LLVM reports its diagnostics to that JIT.
pub struct Module<'jit> {
    // Field order is drop order only by accident; Drop below frees the module before the
    // context it lives in.
    context: NonNull<LLVMOrcOpaqueThreadSafeContext>,
    module: NonNull<LLVMModule>,
    name: String,
    _jit: PhantomData<&'jit Jit>,
}

impl<'jit> Module<'jit> {
    /// Parses textual IR (`.ll`) or bitcode (`.bc`; told apart by its magic bytes), then verifies.
    /// `name` is used in diagnostics (`name:line:col: error: ...`).
    pub(crate) fn parse(diagnostics: &Diagnostics, name: &str, bytes: &[u8]) -> Result<Self> {
        let c_name = c_string(name)?;
        // SAFETY: creating a context has no preconditions; the returned reference is ours and is
        // disposed exactly once: by Drop, or after handing the module over in into_raw's caller.
        let context = unsafe { LLVMOrcCreateNewThreadSafeContext() };
        let context = NonNull::new(context)
            .ok_or_else(|| Error::Llvm("no memory for an LLVM context".into()))?;
        // SAFETY: `context` is live. The handler's context pointer is the JIT's Diagnostics,
        // which outlives this LLVM context (see llvm::diagnostic_handler).
        let llvm_context = unsafe {
            let llvm_context = LLVMOrcThreadSafeContextGetContext(context.as_ptr());
            LLVMContextSetDiagnosticHandler(
                llvm_context,
                Some(diagnostic_handler),
                diagnostics.as_context(),
            );
            llvm_context
        };
        // SAFETY: the buffer copies `bytes` (any length, any content) and is named by a valid C
        // string. LLVMParseIRInContext takes ownership of the buffer and frees it in all cases.
        // The out-message, if set, is ours to free (take_message).
        let (module, message) = unsafe {
            let buffer = LLVMCreateMemoryBufferWithMemoryRangeCopy(
                bytes.as_ptr() as *const c_char,
                bytes.len(),
                c_name.as_ptr(),
            );
            let mut module: LLVMModuleRef = ptr::null_mut();
            let mut message: *mut c_char = ptr::null_mut();
            let failed = LLVMParseIRInContext(llvm_context, buffer, &mut module, &mut message);
            let message = take_message(message);
            (
                if failed != 0 {
                    None
                } else {
                    NonNull::new(module)
                },
                message,
            )
        };
        let Some(module) = module else {
            // SAFETY: no module was created in the context; we drop our only reference.
            unsafe { LLVMOrcDisposeThreadSafeContext(context.as_ptr()) };
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
            return Err(Error::Parse {
                name: name.to_owned(),
                diagnostic,
            });
        };
        let module = Module {
            context,
            module,
            name: name.to_owned(),
            _jit: PhantomData,
        };
        module.verify()?;
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

    /// The signatures of the functions this module defines that are visible to lookups.
    pub(crate) fn defined_functions(&self) -> Vec<(String, Signature)> {
        // SAFETY: the module is live and not mutated while we walk its function list; every
        // value returned is a function of this module.
        unsafe {
            functions(self.raw())
                .into_iter()
                .filter(|&f| LLVMIsDeclaration(f) == 0 && is_visible(f))
                .map(|f| (value_name(f), function_signature(f)))
                .collect()
        }
    }

    /// Gives up ownership: returns the context reference and the module, which the caller must
    /// dispose of or hand to LLVM.
    pub(crate) fn into_raw(self) -> (NonNull<LLVMOrcOpaqueThreadSafeContext>, NonNull<LLVMModule>) {
        let raw = (self.context, self.module);
        std::mem::forget(self);
        raw
    }
}

impl Drop for Module<'_> {
    fn drop(&mut self) {
        // SAFETY: both are live and owned by this value (into_raw forgets it instead). The
        // module goes first: it lives in the context.
        unsafe {
            LLVMDisposeModule(self.module.as_ptr());
            LLVMOrcDisposeThreadSafeContext(self.context.as_ptr());
        }
    }
}

impl std::fmt::Debug for Module<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module").field("name", &self.name).finish()
    }
}

/// Whether a lookup by name can find this function (not private or internal).
///
/// # Safety
/// `function` is a live function value.
unsafe fn is_visible(function: LLVMValueRef) -> bool {
    // SAFETY: caller.
    let linkage = unsafe { LLVMGetLinkage(function) };
    !matches!(
        linkage,
        LLVMLinkage::LLVMPrivateLinkage | LLVMLinkage::LLVMInternalLinkage
    )
}

/// Every function of a module.
///
/// # Safety
/// `module` is live and its function list is not changed while the result is used.
pub(crate) unsafe fn functions(module: LLVMModuleRef) -> Vec<LLVMValueRef> {
    let mut out = Vec::new();
    // SAFETY: caller.
    unsafe {
        let mut f = LLVMGetFirstFunction(module);
        while !f.is_null() {
            out.push(f);
            f = LLVMGetNextFunction(f);
        }
    }
    out
}

/// Every global variable of a module.
///
/// # Safety
/// As [`functions`].
pub(crate) unsafe fn globals(module: LLVMModuleRef) -> Vec<LLVMValueRef> {
    let mut out = Vec::new();
    // SAFETY: caller.
    unsafe {
        let mut g = LLVMGetFirstGlobal(module);
        while !g.is_null() {
            out.push(g);
            g = LLVMGetNextGlobal(g);
        }
    }
    out
}

/// # Safety
/// `value` is live.
pub(crate) unsafe fn value_name(value: LLVMValueRef) -> String {
    let mut len = 0;
    // SAFETY: caller; the name is copied at once.
    unsafe {
        let name = LLVMGetValueName2(value, &mut len);
        String::from_utf8_lossy(std::slice::from_raw_parts(name as *const u8, len)).into_owned()
    }
}

/// Every instruction of a function, block by block.
///
/// # Safety
/// `function` is live and its body is not changed while the result is used.
pub(crate) unsafe fn instructions(function: LLVMValueRef) -> Vec<LLVMValueRef> {
    let mut out = Vec::new();
    // SAFETY: caller.
    unsafe {
        let mut block = LLVMGetFirstBasicBlock(function);
        while !block.is_null() {
            let mut inst = LLVMGetFirstInstruction(block);
            while !inst.is_null() {
                out.push(inst);
                inst = LLVMGetNextInstruction(inst);
            }
            block = LLVMGetNextBasicBlock(block);
        }
    }
    out
}

/// # Safety
/// `function` is a live function value.
unsafe fn function_signature(function: LLVMValueRef) -> Signature {
    // SAFETY: caller; a function's value type is a function type, whose parameter array we size
    // from LLVMCountParamTypes before filling it.
    unsafe {
        let fn_type = LLVMGlobalGetValueType(function);
        let count = LLVMCountParamTypes(fn_type) as usize;
        let mut params: Vec<LLVMTypeRef> = vec![ptr::null_mut(); count];
        LLVMGetParamTypes(fn_type, params.as_mut_ptr());
        Signature {
            ret: value_type(LLVMGetReturnType(fn_type)),
            params: params.into_iter().map(|t| value_type(t)).collect(),
            variadic: LLVMIsFunctionVarArg(fn_type) != 0,
        }
    }
}

/// # Safety
/// `ty` is a live type.
unsafe fn value_type(ty: LLVMTypeRef) -> ValueType {
    // SAFETY: caller; the printed type string is ours to free (take_message).
    unsafe {
        match LLVMGetTypeKind(ty) {
            LLVMTypeKind::LLVMVoidTypeKind => ValueType::Void,
            LLVMTypeKind::LLVMIntegerTypeKind => ValueType::Int(LLVMGetIntTypeWidth(ty)),
            LLVMTypeKind::LLVMFloatTypeKind => ValueType::F32,
            LLVMTypeKind::LLVMDoubleTypeKind => ValueType::F64,
            LLVMTypeKind::LLVMPointerTypeKind => ValueType::Ptr,
            _ => ValueType::Other(take_message(LLVMPrintTypeToString(ty))),
        }
    }
}
