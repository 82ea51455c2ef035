//! Global constructors and destructors (`llvm.global_ctors`, `llvm.global_dtors`). LLJIT runs
//! them only through `LLJIT::initialize`, which the C API does not have, so orc-jit takes them
//! out of the module before it is compiled: each function they name gets an external hidden name
//! derived from the module's key (unique in the JIT, the same in every process, so an object
//! file does not depend on where it was compiled), and the JIT calls them itself, in priority order (as lli does), when the module is
//! added, and the destructors, in reverse order, when it is removed or the JIT dropped.

use llvm_sys::LLVMLinkage;
use llvm_sys::LLVMVisibility;
use llvm_sys::core::{
    LLVMConstIntGetZExtValue, LLVMDeleteGlobal, LLVMGetInitializer, LLVMGetNamedGlobal,
    LLVMGetNumOperands, LLVMGetOperand, LLVMIsAConstantExpr, LLVMIsAFunction, LLVMSetLinkage,
    LLVMSetValueName2, LLVMSetVisibility,
};
use llvm_sys::prelude::{LLVMModuleRef, LLVMValueRef};

use crate::ir::{symbol_name, value_name};
use crate::key::ModuleKey;

/// The functions to call, in the order to call them.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Structors {
    pub(crate) constructors: Vec<String>,
    pub(crate) destructors: Vec<String>,
}

impl Structors {
    pub(crate) fn is_empty(&self) -> bool {
        self.constructors.is_empty() && self.destructors.is_empty()
    }
}

/// Whether the module has constructors or destructors.
///
/// # Safety
/// `module` is live.
pub(crate) unsafe fn present(module: LLVMModuleRef) -> bool {
    // SAFETY: caller; named-global lookups only read.
    unsafe {
        !LLVMGetNamedGlobal(module, c"llvm.global_ctors".as_ptr()).is_null()
            || !LLVMGetNamedGlobal(module, c"llvm.global_dtors".as_ptr()).is_null()
    }
}

/// Takes the constructors and destructors out of `module` (see the module docs).
///
/// # Safety
/// `module` is live, owned by the caller and not used by another thread meanwhile.
pub(crate) unsafe fn extract(module: LLVMModuleRef, key: &ModuleKey) -> Structors {
    // SAFETY: caller.
    unsafe {
        let mut constructors = take(module, c"llvm.global_ctors", &format!("{}.c", key.short()));
        let mut destructors = take(module, c"llvm.global_dtors", &format!("{}.d", key.short()));
        // Lower priorities first, and in array order within one (a stable sort); destructors
        // run in the opposite order.
        constructors.sort_by_key(|(priority, _)| *priority);
        destructors.sort_by_key(|(priority, _)| *priority);
        Structors {
            constructors: constructors.into_iter().map(|(_, name)| name).collect(),
            destructors: destructors
                .into_iter()
                .rev()
                .map(|(_, name)| name)
                .collect(),
        }
    }
}

/// The (priority, new name) of each function in the array `name`, which is then deleted.
///
/// # Safety
/// As [`extract`].
unsafe fn take(module: LLVMModuleRef, name: &std::ffi::CStr, tag: &str) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    // SAFETY: caller. The array's elements are `{ i32 priority, ptr function, ptr data }`
    // structs (the verifier checked the type); a function may hide behind a bitcast (typed
    // pointers). Renaming and relinking functions keeps every use valid; the array has no
    // uses, so deleting it is fine.
    unsafe {
        let array = LLVMGetNamedGlobal(module, name.as_ptr());
        if array.is_null() {
            return out;
        }
        let initializer = LLVMGetInitializer(array);
        if !initializer.is_null() {
            for i in 0..LLVMGetNumOperands(initializer).max(0) as u32 {
                let entry = LLVMGetOperand(initializer, i);
                if entry.is_null() || LLVMGetNumOperands(entry) < 2 {
                    continue;
                }
                let priority = LLVMConstIntGetZExtValue(LLVMGetOperand(entry, 0));
                let Some(function) = function_of(LLVMGetOperand(entry, 1)) else {
                    continue;
                };
                if llvm_sys::core::LLVMIsDeclaration(function) != 0 {
                    // Defined elsewhere: called by its own name.
                    out.push((priority, symbol_name(&value_name(function)).to_owned()));
                    continue;
                }
                // The same function may be listed twice (it is then called twice): it is renamed
                // once.
                let current = value_name(function);
                if current.starts_with("__jit_structor.") {
                    out.push((priority, current));
                    continue;
                }
                let unique = format!("__jit_structor.{tag}{i}.{}", symbol_name(&current));
                LLVMSetValueName2(function, unique.as_ptr() as *const _, unique.len());
                LLVMSetLinkage(function, LLVMLinkage::LLVMExternalLinkage);
                LLVMSetVisibility(function, LLVMVisibility::LLVMHiddenVisibility);
                out.push((priority, value_name(function)));
            }
        }
        LLVMDeleteGlobal(array);
    }
    out
}

/// The function behind a constructor entry (through a bitcast), or `None` for a null entry.
///
/// # Safety
/// `value` is live or null.
unsafe fn function_of(mut value: LLVMValueRef) -> Option<LLVMValueRef> {
    // SAFETY: caller; only reads operands.
    unsafe {
        while !value.is_null() && !LLVMIsAConstantExpr(value).is_null() {
            value = LLVMGetOperand(value, 0);
        }
        (!value.is_null() && !LLVMIsAFunction(value).is_null()).then_some(value)
    }
}
