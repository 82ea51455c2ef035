//! Walking a module's IR through the C API: its functions, globals, aliases, instructions and
//! uses, and the ABI signature of a function.

use std::ffi::c_char;
use std::ptr;

use llvm_sys::LLVMTypeKind;
use llvm_sys::core::{
    LLVMAliasGetAliasee, LLVMCountParamTypes, LLVMGetEnumAttributeAtIndex,
    LLVMGetEnumAttributeKindForName, LLVMGetFirstBasicBlock, LLVMGetFirstFunction,
    LLVMGetFirstGlobal, LLVMGetFirstGlobalAlias, LLVMGetFirstInstruction, LLVMGetFirstUse,
    LLVMGetFunctionCallConv, LLVMGetIntTypeWidth, LLVMGetNextBasicBlock, LLVMGetNextFunction,
    LLVMGetNextGlobal, LLVMGetNextGlobalAlias, LLVMGetNextInstruction, LLVMGetNextUse,
    LLVMGetNumOperands, LLVMGetOperand, LLVMGetParamTypes, LLVMGetPointerAddressSpace,
    LLVMGetReturnType, LLVMGetTypeKind, LLVMGetUser, LLVMGetValueName2, LLVMGlobalGetValueType,
    LLVMIsAConstantExpr, LLVMIsAFunction, LLVMIsAGlobalAlias, LLVMIsFunctionVarArg,
    LLVMPrintTypeToString,
};
use llvm_sys::prelude::{LLVMModuleRef, LLVMTypeRef, LLVMValueRef};
use llvm_sys::{LLVMAttributeIndex, LLVMAttributeReturnIndex};

use crate::llvm::take_message;
use crate::signature::{CallingConvention, Extension, Signature, Value, ValueType};

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

/// Every global alias of a module.
///
/// # Safety
/// As [`functions`].
pub(crate) unsafe fn aliases(module: LLVMModuleRef) -> Vec<LLVMValueRef> {
    let mut out = Vec::new();
    // SAFETY: caller.
    unsafe {
        let mut a = LLVMGetFirstGlobalAlias(module);
        while !a.is_null() {
            out.push(a);
            a = LLVMGetNextGlobalAlias(a);
        }
    }
    out
}

/// The function an alias stands for (through casts and other aliases), or `None` when it
/// aliases data or an expression that is not a function.
///
/// # Safety
/// `alias` is a live global alias.
pub(crate) unsafe fn aliased_function(alias: LLVMValueRef) -> Option<LLVMValueRef> {
    // SAFETY: caller; only reads operands. Alias chains are acyclic (the verifier says so), and
    // the walk is bounded anyway.
    unsafe {
        let mut value = LLVMAliasGetAliasee(alias);
        for _ in 0..64 {
            if value.is_null() {
                return None;
            }
            if !LLVMIsAFunction(value).is_null() {
                return Some(value);
            }
            if !LLVMIsAGlobalAlias(value).is_null() {
                value = LLVMAliasGetAliasee(value);
            } else if !LLVMIsAConstantExpr(value).is_null() && LLVMGetNumOperands(value) == 1 {
                // A cast of a function is still that function (typed pointers); a GEP is not.
                value = LLVMGetOperand(value, 0);
            } else {
                return None;
            }
        }
        None
    }
}

/// The distinct users of `value`, in use-list order.
///
/// # Safety
/// `value` is live and its uses are not changed while the result is used.
pub(crate) unsafe fn users(value: LLVMValueRef) -> Vec<LLVMValueRef> {
    let mut out: Vec<LLVMValueRef> = Vec::new();
    // SAFETY: caller.
    unsafe {
        let mut u = LLVMGetFirstUse(value);
        while !u.is_null() {
            let user = LLVMGetUser(u);
            if !out.contains(&user) {
                out.push(user);
            }
            u = LLVMGetNextUse(u);
        }
    }
    out
}

/// The name of a value; `\x01` ("do not mangle") is part of it.
///
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

/// The name a global value has in the object file and in ORC: LLVM's mangler drops a leading
/// `\x01` and adds no prefix on ELF.
pub(crate) fn symbol_name(ir_name: &str) -> &str {
    ir_name.strip_prefix('\u{1}').unwrap_or(ir_name)
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

/// The ABI-relevant signature of a function: calling convention, types, extension and passing
/// attributes, varargs.
///
/// # Safety
/// `function` is a live function value.
pub(crate) unsafe fn function_signature(function: LLVMValueRef) -> Signature {
    // SAFETY: caller; a function's value type is a function type, whose parameter array we size
    // from LLVMCountParamTypes before filling it.
    unsafe {
        let fn_type = LLVMGlobalGetValueType(function);
        let count = LLVMCountParamTypes(fn_type) as usize;
        let mut params: Vec<LLVMTypeRef> = vec![ptr::null_mut(); count];
        LLVMGetParamTypes(fn_type, params.as_mut_ptr());
        Signature {
            calling_convention: CallingConvention(LLVMGetFunctionCallConv(function)),
            ret: value(
                function,
                LLVMAttributeReturnIndex,
                LLVMGetReturnType(fn_type),
            ),
            params: params
                .into_iter()
                .enumerate()
                .map(|(i, ty)| value(function, i as u32 + 1, ty))
                .collect(),
            variadic: LLVMIsFunctionVarArg(fn_type) != 0,
        }
    }
}

/// Attributes that change how a value is passed, besides `zeroext`/`signext`.
const PASSING_ATTRIBUTES: &[&str] = &[
    "byval",
    "byref",
    "sret",
    "inalloca",
    "preallocated",
    "inreg",
    "nest",
    "swiftself",
    "swifterror",
    "swiftasync",
];

/// # Safety
/// `function` is a live function, `index` its return index or a parameter index, `ty` the type
/// there.
unsafe fn value(function: LLVMValueRef, index: LLVMAttributeIndex, ty: LLVMTypeRef) -> Value {
    // SAFETY: caller; attribute kinds are looked up by name (0 when this LLVM has no such
    // attribute, and then skipped) and only read.
    unsafe {
        let has = |name: &str| {
            let kind = LLVMGetEnumAttributeKindForName(name.as_ptr() as *const c_char, name.len());
            kind != 0 && !LLVMGetEnumAttributeAtIndex(function, index, kind).is_null()
        };
        Value {
            ty: value_type(ty),
            ext: if has("zeroext") {
                Extension::Zero
            } else if has("signext") {
                Extension::Sign
            } else {
                Extension::None
            },
            passing: PASSING_ATTRIBUTES
                .iter()
                .filter(|a| has(a))
                .map(|a| a.to_string())
                .collect(),
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
            // Other address spaces can be other sizes (x86-64's 270 and 271 are 32 bits).
            LLVMTypeKind::LLVMPointerTypeKind if LLVMGetPointerAddressSpace(ty) == 0 => {
                ValueType::Ptr
            }
            _ => ValueType::Other(take_message(LLVMPrintTypeToString(ty))),
        }
    }
}
