//! What every module goes through before code generation, in-process and in a compile worker
//! alike, so that both paths compile the same IR:
//!
//! - its target must be the JIT's: a data layout or triple written for another target is
//!   refused (LLVM's emitter would otherwise overwrite the layout and compile the module with
//!   sizes its author did not mean); an empty one becomes the JIT's;
//! - exit handlers: its `__dso_handle` (what C++ passes to `__cxa_atexit` and
//!   `__cxa_thread_atexit` to say which library registers a handler) becomes a handle of its
//!   own, `__jit_dso.<key>`, and a call of `atexit` goes to the JIT's runtime with that handle
//!   (as glibc's own `atexit` stub does with the caller's `__dso_handle`): so orc-jit, not
//!   libc, keeps each handler, with the module it belongs to (see exits.rs);
//! - `common` globals become weak definitions (what ORC makes of them);
//! - thread-locals become emulated TLS (`__emutls_v.<name>` control variables and calls of the
//!   runtime's `__emutls_get_address`, emutls.rs), as LLJIT's default target machine would
//!   compile them (with libgcc's): neither of ORC's object linkers can allocate native TLS
//!   without the ORC runtime.

use std::ffi::{CStr, CString, c_char};

use llvm_sys::LLVMOpcode;
use llvm_sys::comdat::{
    LLVMGetComdat, LLVMGetComdatSelectionKind, LLVMGetOrInsertComdat, LLVMSetComdat,
    LLVMSetComdatSelectionKind,
};
use llvm_sys::core::*;
use llvm_sys::prelude::{LLVMBuilderRef, LLVMContextRef, LLVMModuleRef, LLVMTypeRef, LLVMValueRef};
use llvm_sys::target::{
    LLVMABIAlignmentOfType, LLVMABISizeOfType, LLVMCopyStringRepOfTargetData,
    LLVMDisposeTargetData, LLVMGetModuleDataLayout, LLVMIntPtrTypeInContext,
};
use llvm_sys::target_machine::{LLVMCreateTargetDataLayout, LLVMGetTargetMachineTriple};
use llvm_sys::{LLVMLinkage, LLVMThreadLocalMode};

use crate::ir::{globals, users, value_name};
use crate::key::ModuleKey;
use crate::llvm::take_message;
use crate::target::TargetMachine;

/// The name of a module's own `__dso_handle`.
pub(crate) fn dso_handle(key: &ModuleKey) -> String {
    format!("{DSO_PREFIX}{}", key.short())
}

/// Every module handle's name starts so.
pub(crate) const DSO_PREFIX: &str = "__jit_dso.";

/// The runtime's `atexit` with an explicit handle (exits.rs).
pub(crate) const RT_ATEXIT: &str = "__jit_rt_atexit";
/// The runtime's `__cxa_atexit`: a module's calls go there by this name, whatever else the
/// JITDylib defines as `__cxa_atexit` (LLJIT's own platform support does on some versions).
pub(crate) const RT_CXA_ATEXIT: &str = "__jit_rt_cxa_atexit";
/// The runtime's `__cxa_thread_atexit`, likewise.
pub(crate) const RT_CXA_THREAD_ATEXIT: &str = "__jit_rt_cxa_thread_atexit";
/// The runtime's `on_exit` with an explicit handle.
pub(crate) const RT_ON_EXIT: &str = "__jit_rt_on_exit";
/// The runtime's `at_quick_exit`, which refuses (exits.rs).
pub(crate) const RT_AT_QUICK_EXIT: &str = "__jit_rt_at_quick_exit";
/// The runtime's `pthread_key_create`, which keeps JIT code from libc (exits.rs).
pub(crate) const RT_PTHREAD_KEY_CREATE: &str = "__jit_rt_pthread_key_create";
/// The runtime's `__emutls_get_address`, for the five-word control variables
/// [`lower_thread_locals`] writes (emutls.rs).
pub(crate) const RT_TLS_ADDRESS: &str = "__jit_rt_emutls_get_address";

/// Applies every rewrite; `Err` says why the module cannot be compiled for this JIT.
///
/// # Safety
/// `module` is live, owned by the caller and used by no other thread meanwhile.
pub(crate) unsafe fn prepare(
    module: LLVMModuleRef,
    key: &ModuleKey,
    machine: &TargetMachine,
) -> Result<(), String> {
    // SAFETY: caller.
    unsafe {
        adopt_target(module, machine)?;
        let changed = own_exit_handlers(module, key)?
            | lower_thread_locals(module, key)?
            | common_to_weak(module);
        if changed {
            verify(module)?;
        }
    }
    Ok(())
}

/// Refuses a layout or triple of another target; gives an empty one the JIT's.
///
/// # Safety
/// As [`prepare`].
unsafe fn adopt_target(module: LLVMModuleRef, machine: &TargetMachine) -> Result<(), String> {
    // SAFETY: caller; LLVM's strings are copied and freed once (take_message); the target data
    // made from the machine is disposed once; setting a module's triple and layout copies them.
    unsafe {
        let jit_triple = take_message(LLVMGetTargetMachineTriple(machine.raw()));
        let data = LLVMCreateTargetDataLayout(machine.raw());
        let jit_layout = take_message(LLVMCopyStringRepOfTargetData(data));
        LLVMDisposeTargetData(data);
        let triple = CStr::from_ptr(LLVMGetTarget(module))
            .to_string_lossy()
            .into_owned();
        let layout = CStr::from_ptr(LLVMGetDataLayoutStr(module))
            .to_string_lossy()
            .into_owned();
        if !layout.is_empty() && layout != jit_layout {
            return Err(format!(
                "the module's data layout \"{layout}\" is not this JIT's \"{jit_layout}\": it was \
                 written for another target (type sizes and alignments would differ); remove \
                 its `target datalayout` line or compile it for {jit_triple}"
            ));
        }
        if !triple.is_empty() && !same_target(&triple, &jit_triple) {
            return Err(format!(
                "the module's target triple \"{triple}\" is not this JIT's \"{jit_triple}\": \
                 remove its `target triple` line or compile it for {jit_triple}"
            ));
        }
        if triple.is_empty() {
            let c = CString::new(jit_triple).unwrap_or_default();
            LLVMSetTarget(module, c.as_ptr());
        }
        if layout.is_empty() {
            let c = CString::new(jit_layout).unwrap_or_default();
            LLVMSetDataLayout(module, c.as_ptr());
        }
    }
    Ok(())
}

/// Whether two triples name the same architecture and operating system (the vendor and the
/// environment do not change the code: `x86_64-unknown-linux-gnu` runs on
/// `x86_64-pc-linux-gnu`).
fn same_target(module: &str, jit: &str) -> bool {
    let parts = |t: &str| -> (String, String) {
        let normalized = CString::new(t)
            .ok()
            // SAFETY: a valid C string in; the normalised triple is ours to free.
            .map(|c| unsafe {
                take_message(llvm_sys::target_machine::LLVMNormalizeTargetTriple(
                    c.as_ptr(),
                ))
            })
            .unwrap_or_default();
        let mut fields = normalized.split('-');
        let arch = fields.next().unwrap_or_default().to_owned();
        let os = fields.nth(1).unwrap_or_default().to_owned();
        // `linux` and `linux-gnu` name the same OS; so do `unknown` and an empty field.
        (arch, os)
    };
    let (arch, os) = parts(module);
    let (jit_arch, jit_os) = parts(jit);
    arch == jit_arch && (os == jit_os || os == "unknown" || os.is_empty())
}

/// Makes `common` globals (C's tentative definitions under `-fcommon`) weak definitions, which
/// is what ORC makes of them anyway (the first definition of a name wins, whatever its size):
/// in an object file, a common symbol a second module also defines is an "unexpected
/// definition" to LLVM 19's JITLink, where a weak one is simply not used. Returns whether any
/// was changed.
///
/// # Safety
/// As [`prepare`].
unsafe fn common_to_weak(module: LLVMModuleRef) -> bool {
    // SAFETY: caller; changing a global's linkage keeps every use valid.
    unsafe {
        let mut changed = false;
        for global in globals(module) {
            if LLVMGetLinkage(global) == LLVMLinkage::LLVMCommonLinkage {
                LLVMSetLinkage(global, LLVMLinkage::LLVMWeakAnyLinkage);
                changed = true;
            }
        }
        changed
    }
}

/// What becomes of each C runtime function a module may call to register code for later.
enum Registration {
    /// Calls go to the runtime's function of this name (the arguments name the handle).
    Renamed(&'static str),
    /// The function becomes the module's own: it calls the runtime's function of this name
    /// with its `params` pointer arguments and the module's handle (as glibc's `atexit` stub
    /// passes the caller's `__dso_handle`).
    WithHandle { runtime: &'static str, params: u32 },
}

/// The functions, by symbol name (a `\x01` spelling is the same symbol).
const REGISTRATIONS: &[(&str, Registration)] = &[
    ("__cxa_atexit", Registration::Renamed(RT_CXA_ATEXIT)),
    (
        "__cxa_thread_atexit",
        Registration::Renamed(RT_CXA_THREAD_ATEXIT),
    ),
    (
        "__cxa_thread_atexit_impl",
        Registration::Renamed(RT_CXA_THREAD_ATEXIT),
    ),
    (
        "pthread_key_create",
        Registration::Renamed(RT_PTHREAD_KEY_CREATE),
    ),
    (
        "atexit",
        Registration::WithHandle {
            runtime: RT_ATEXIT,
            params: 1,
        },
    ),
    (
        "on_exit",
        Registration::WithHandle {
            runtime: RT_ON_EXIT,
            params: 2,
        },
    ),
    (
        "at_quick_exit",
        Registration::WithHandle {
            runtime: RT_AT_QUICK_EXIT,
            params: 1,
        },
    ),
];

/// The declarations (functions or globals) of `module` whose symbol is `symbol`.
///
/// # Safety
/// `module` is live.
unsafe fn declarations_of(module: LLVMModuleRef, symbol: &str) -> Vec<LLVMValueRef> {
    // SAFETY: caller; only reads.
    unsafe {
        crate::ir::functions(module)
            .into_iter()
            .chain(globals(module))
            .filter(|&v| LLVMIsDeclaration(v) != 0)
            .filter(|&v| crate::ir::symbol_name(&value_name(v)) == symbol)
            .collect()
    }
}

/// Gives the module its own handle (`__jit_dso.<key>`, defined in it) in place of
/// `__dso_handle`, and sends its registrations of code for later (`atexit`, `__cxa_atexit`,
/// `on_exit`, thread-local destructors, `pthread_key_create`...) to orc-jit's runtime
/// (exits.rs), whatever their names are spelled. Returns whether anything changed; `Err` for a
/// registration function declared with another type than C's.
///
/// # Safety
/// As [`prepare`].
pub(crate) unsafe fn own_exit_handlers(
    module: LLVMModuleRef,
    key: &ModuleKey,
) -> Result<bool, String> {
    // SAFETY: caller. Every value created is added to this module; replacing all uses of a
    // declaration by a value of the same type (through a cast), then deleting it, keeps the IR
    // valid.
    unsafe {
        let context = LLVMGetModuleContext(module);
        let i8 = LLVMInt8TypeInContext(context);
        let pointer = LLVMPointerType(i8, 0);
        let own_handle = || own_handle(module, key);
        let mut changed = false;
        for dso in declarations_of(module, "__dso_handle") {
            let handle = own_handle();
            LLVMReplaceAllUsesWith(dso, LLVMConstPointerCast(handle, LLVMTypeOf(dso)));
            if LLVMIsAFunction(dso).is_null() {
                LLVMDeleteGlobal(dso);
            } else {
                LLVMDeleteFunction(dso);
            }
            changed = true;
        }
        for (name, registration) in REGISTRATIONS {
            for declared in declarations_of(module, name) {
                if LLVMIsAFunction(declared).is_null() {
                    return Err(format!(
                        "`{name}` is declared as data, not as the C runtime's function: \
                         declare it as C does"
                    ));
                }
                changed = true;
                match registration {
                    Registration::Renamed(runtime) => {
                        let runtime = CString::new(*runtime).unwrap_or_default();
                        let existing = LLVMGetNamedFunction(module, runtime.as_ptr());
                        if existing.is_null() {
                            LLVMSetValueName2(declared, runtime.as_ptr(), runtime.as_bytes().len());
                        } else {
                            LLVMReplaceAllUsesWith(
                                declared,
                                LLVMConstPointerCast(existing, LLVMTypeOf(declared)),
                            );
                            LLVMDeleteFunction(declared);
                        }
                    }
                    Registration::WithHandle { runtime, params } => {
                        let ty = LLVMGlobalGetValueType(declared);
                        let returns = LLVMGetReturnType(ty);
                        let pointer_params = (0..LLVMCountParams(declared)).all(|i| {
                            let param = LLVMTypeOf(LLVMGetParam(declared, i));
                            LLVMGetTypeKind(param) == llvm_sys::LLVMTypeKind::LLVMPointerTypeKind
                                && LLVMGetPointerAddressSpace(param) == 0
                        });
                        if LLVMCountParams(declared) != *params
                            || !pointer_params
                            || LLVMGetTypeKind(returns)
                                != llvm_sys::LLVMTypeKind::LLVMIntegerTypeKind
                            || LLVMGetIntTypeWidth(returns) != 32
                            || LLVMIsFunctionVarArg(ty) != 0
                        {
                            return Err(format!(
                                "`{name}` is declared with another type than the C runtime's \
                                 (an int function of {params} pointer{}): declare it as C does",
                                if *params == 1 { "" } else { "s" }
                            ));
                        }
                        let handle = own_handle();
                        let mut types = vec![pointer; *params as usize + 1];
                        let runtime_type =
                            LLVMFunctionType(returns, types.as_mut_ptr(), *params + 1, 0);
                        let runtime = get_or_insert_function(module, runtime, runtime_type);
                        // `name(f, ...)` becomes `runtime(f, ..., handle)`, this module's own.
                        LLVMSetLinkage(declared, LLVMLinkage::LLVMInternalLinkage);
                        let entry =
                            LLVMAppendBasicBlockInContext(context, declared, c"entry".as_ptr());
                        let builder = Builder(LLVMCreateBuilderInContext(context));
                        LLVMPositionBuilderAtEnd(builder.0, entry);
                        let mut args: Vec<LLVMValueRef> = (0..*params)
                            .map(|i| {
                                LLVMBuildPointerCast(
                                    builder.0,
                                    LLVMGetParam(declared, i),
                                    pointer,
                                    c"".as_ptr(),
                                )
                            })
                            .collect();
                        args.push(LLVMConstPointerCast(handle, pointer));
                        let result = LLVMBuildCall2(
                            builder.0,
                            runtime_type,
                            runtime,
                            args.as_mut_ptr(),
                            args.len() as u32,
                            c"".as_ptr(),
                        );
                        LLVMBuildRet(builder.0, result);
                    }
                }
            }
        }
        Ok(changed)
    }
}

/// The module's own handle (`__jit_dso.<key>`), defined in it on first use: so it goes with
/// the module; default visibility, so another module (one that imported this one's code by
/// IPO) reaches it through the GOT.
///
/// # Safety
/// As [`prepare`].
unsafe fn own_handle(module: LLVMModuleRef, key: &ModuleKey) -> LLVMValueRef {
    // SAFETY: caller; the new global is added to this module.
    unsafe {
        let handle_name = CString::new(dso_handle(key)).unwrap_or_default();
        let existing = LLVMGetNamedGlobal(module, handle_name.as_ptr());
        if !existing.is_null() {
            return existing;
        }
        let i8 = LLVMInt8TypeInContext(LLVMGetModuleContext(module));
        let handle = LLVMAddGlobal(module, i8, handle_name.as_ptr());
        LLVMSetInitializer(handle, LLVMConstInt(i8, 0, 0));
        handle
    }
}

/// The function `name` of `module`, declared with `ty` if it is not there yet.
///
/// # Safety
/// `module` is live.
unsafe fn get_or_insert_function(
    module: LLVMModuleRef,
    name: &str,
    ty: LLVMTypeRef,
) -> LLVMValueRef {
    let c_name = CString::new(name).unwrap_or_default();
    // SAFETY: caller.
    unsafe {
        let existing = LLVMGetNamedFunction(module, c_name.as_ptr());
        if existing.is_null() {
            LLVMAddFunction(module, c_name.as_ptr(), ty)
        } else {
            existing
        }
    }
}

/// Rewrites every thread-local variable as emulated TLS, as LLVM's code generator does with
/// `-emulated-tls` (llvm/lib/CodeGen/LowerEmuTLS.cpp and TargetLowering): `@x` becomes
/// `@__emutls_v.x = { size, align, null, @__emutls_t.x, @__jit_dso.<key> }` (the template holds
/// a non-zero initial value; the last word, which libgcc's control variable does not have,
/// names the module for emutls.rs), and each use of `@x` a call of the runtime's
/// `__emutls_get_address` ([`RT_TLS_ADDRESS`]) on `@__emutls_v.x`, which returns this thread's
/// copy. Returns whether the module had any.
///
/// # Safety
/// As [`prepare`]; the module's data layout is set.
unsafe fn lower_thread_locals(module: LLVMModuleRef, key: &ModuleKey) -> Result<bool, String> {
    // SAFETY: caller. The target data is the module's own (borrowed, not disposed). Every
    // instruction is built into the function its user lives in, before the user (or at the end
    // of a PHI's incoming block); each thread-local is deleted only once nothing uses it.
    unsafe {
        let locals: Vec<LLVMValueRef> = globals(module)
            .into_iter()
            .filter(|&g| LLVMIsThreadLocal(g) != 0)
            .collect();
        // An alias names an address, and a thread-local has one per thread: emulated TLS
        // (LLVM's own lowering too) has no alias of it.
        for alias in crate::ir::aliases(module) {
            let mut target = LLVMAliasGetAliasee(alias);
            for _ in 0..64 {
                if target.is_null() || LLVMIsAGlobalAlias(target).is_null() {
                    break;
                }
                target = LLVMAliasGetAliasee(target);
            }
            let aliases_local = locals.iter().any(|&l| depends_on(target, l, 0));
            if LLVMIsThreadLocal(alias) != 0 || aliases_local {
                return Err(format!(
                    "alias `{}` stands for a thread-local variable, which has an address per \
                     thread: emulated TLS has no alias of it (nor has lli); use the variable \
                     itself",
                    value_name(alias)
                ));
            }
        }
        if locals.is_empty() {
            return Ok(false);
        }
        let context = LLVMGetModuleContext(module);
        let data = LLVMGetModuleDataLayout(module);
        let word = LLVMIntPtrTypeInContext(context, data);
        let pointer = LLVMPointerType(LLVMInt8TypeInContext(context), 0);
        let mut fields = [word, word, pointer, pointer, pointer];
        let control_type = LLVMStructTypeInContext(context, fields.as_mut_ptr(), 5, 0);
        let mut params = [pointer];
        let get_address_type = LLVMFunctionType(pointer, params.as_mut_ptr(), 1, 0);
        let get_address = get_or_insert_function(module, RT_TLS_ADDRESS, get_address_type);
        let lowering = Lowering {
            context,
            pointer,
            get_address,
            get_address_type,
            handle: LLVMConstPointerCast(own_handle(module, key), pointer),
        };
        for local in locals {
            let name = value_name(local);
            if name.is_empty() {
                return Err("an unnamed thread-local variable cannot be emulated: name it".into());
            }
            let control =
                lowering.control_variable(module, local, &name, control_type, data, word)?;
            lowering.replace_uses(local, control, &name)?;
            LLVMDeleteGlobal(local);
        }
        Ok(true)
    }
}

struct Lowering {
    context: LLVMContextRef,
    pointer: LLVMTypeRef,
    get_address: LLVMValueRef,
    get_address_type: LLVMTypeRef,
    /// The module's own handle, as a pointer.
    handle: LLVMValueRef,
}

impl Lowering {
    /// `__emutls_v.<name>` (and `__emutls_t.<name>` for a non-zero initial value), with the
    /// thread-local's linkage, visibility and comdat.
    ///
    /// # Safety
    /// As [`lower_thread_locals`].
    unsafe fn control_variable(
        &self,
        module: LLVMModuleRef,
        local: LLVMValueRef,
        name: &str,
        control_type: LLVMTypeRef,
        data: llvm_sys::target::LLVMTargetDataRef,
        word: LLVMTypeRef,
    ) -> Result<LLVMValueRef, String> {
        // SAFETY: caller.
        unsafe {
            let control_name = CString::new(format!("__emutls_v.{name}"))
                .map_err(|_| format!("`{name}` cannot be named"))?;
            if !LLVMGetNamedGlobal(module, control_name.as_ptr()).is_null() {
                return Err(format!(
                    "the module already has `__emutls_v.{name}`, the name emulated TLS gives \
                     thread-local `{name}`'s control variable"
                ));
            }
            let control = LLVMAddGlobal(module, control_type, control_name.as_ptr());
            copy_linkage(module, local, control);
            if LLVMIsDeclaration(local) != 0 {
                return Ok(control);
            }
            let ty = LLVMGlobalGetValueType(local);
            let size = LLVMABISizeOfType(data, ty);
            let align =
                (LLVMGetAlignment(local) as u64).max(LLVMABIAlignmentOfType(data, ty) as u64);
            let initializer = LLVMGetInitializer(local);
            let template = if initializer.is_null()
                || LLVMIsNull(initializer) != 0
                || LLVMIsUndef(initializer) != 0
            {
                LLVMConstNull(self.pointer)
            } else {
                let template_name = CString::new(format!("__emutls_t.{name}"))
                    .map_err(|_| format!("`{name}` cannot be named"))?;
                let template = LLVMAddGlobal(module, ty, template_name.as_ptr());
                LLVMSetInitializer(template, initializer);
                LLVMSetGlobalConstant(template, 1);
                LLVMSetAlignment(template, align as u32);
                copy_linkage(module, local, template);
                LLVMConstPointerCast(template, self.pointer)
            };
            let mut values = [
                LLVMConstInt(word, size, 0),
                LLVMConstInt(word, align, 0),
                LLVMConstNull(self.pointer),
                template,
                self.handle,
            ];
            LLVMSetInitializer(
                control,
                LLVMConstNamedStruct(control_type, values.as_mut_ptr(), 5),
            );
            LLVMSetAlignment(control, LLVMABIAlignmentOfType(data, word));
            Ok(control)
        }
    }

    /// Replaces every use of `local` by this thread's address of it.
    ///
    /// # Safety
    /// As [`lower_thread_locals`].
    unsafe fn replace_uses(
        &self,
        local: LLVMValueRef,
        control: LLVMValueRef,
        name: &str,
    ) -> Result<(), String> {
        // SAFETY: caller. Users are collected before any is changed.
        unsafe {
            let builder = Builder(LLVMCreateBuilderInContext(self.context));
            let mut instructions_using = Vec::new();
            for user in users(local) {
                collect_instruction_users(user, &mut instructions_using, 0)
                    .map_err(|what| cannot(name, &what))?;
            }
            for instruction in instructions_using {
                self.rewrite_instruction(builder.0, instruction, local, control)
                    .map_err(|what| cannot(name, &what))?;
            }
            // What is left are constants: dead constant expressions, llvm.used and
            // llvm.compiler.used (which keep the control variable alive instead), and the
            // initializers of other globals, which would need the address at load time: emulated
            // TLS has no answer for that (each thread has its own address).
            for user in users(local) {
                if let Some(global) = global_reached(user, 0) {
                    let holder = value_name(global);
                    if holder != "llvm.used" && holder != "llvm.compiler.used" {
                        return Err(cannot(
                            name,
                            &format!(
                                "its address is in the initializer of `{holder}`, which emulated \
                                 TLS cannot express (each thread has its own address)"
                            ),
                        ));
                    }
                }
            }
            LLVMReplaceAllUsesWith(local, LLVMConstPointerCast(control, LLVMTypeOf(local)));
            Ok(())
        }
    }

    /// Makes `instruction` use this thread's copy of `local` instead of `local`.
    ///
    /// # Safety
    /// As [`lower_thread_locals`]; `instruction` uses `local`, directly or through constant
    /// expressions.
    unsafe fn rewrite_instruction(
        &self,
        builder: LLVMBuilderRef,
        instruction: LLVMValueRef,
        local: LLVMValueRef,
        control: LLVMValueRef,
    ) -> Result<(), String> {
        // SAFETY: caller.
        unsafe {
            // `llvm.threadlocal.address(@x)` (LLVM 16 on) is the address itself.
            if is_threadlocal_address(instruction) && LLVMGetOperand(instruction, 0) == local {
                LLVMPositionBuilderBefore(builder, instruction);
                let address = self.address_of(builder, control, LLVMTypeOf(instruction));
                LLVMReplaceAllUsesWith(instruction, address);
                LLVMInstructionEraseFromParent(instruction);
                return Ok(());
            }
            let is_phi = !LLVMIsAPHINode(instruction).is_null();
            // A PHI lists one block once per edge from it, each with the same value: one value
            // per block.
            let mut per_block: Vec<(
                llvm_sys::prelude::LLVMBasicBlockRef,
                LLVMValueRef,
                LLVMValueRef,
            )> = Vec::new();
            for i in 0..LLVMGetNumOperands(instruction).max(0) as u32 {
                let operand = LLVMGetOperand(instruction, i);
                if !depends_on(operand, local, 0) {
                    continue;
                }
                let value = if is_phi {
                    // Computed at the end of the block the value comes from.
                    let block = LLVMGetIncomingBlock(instruction, i);
                    match per_block
                        .iter()
                        .find(|(b, o, _)| *b == block && *o == operand)
                    {
                        Some(&(_, _, value)) => value,
                        None => {
                            LLVMPositionBuilderBefore(builder, LLVMGetBasicBlockTerminator(block));
                            let value = self.materialize(builder, operand, local, control)?;
                            per_block.push((block, operand, value));
                            value
                        }
                    }
                } else {
                    LLVMPositionBuilderBefore(builder, instruction);
                    self.materialize(builder, operand, local, control)?
                };
                LLVMSetOperand(instruction, i, value);
            }
            Ok(())
        }
    }

    /// `value` (the thread-local or a constant expression of it) built as instructions on
    /// this thread's address.
    ///
    /// # Safety
    /// As [`Lowering::rewrite_instruction`]; the builder is positioned.
    unsafe fn materialize(
        &self,
        builder: LLVMBuilderRef,
        value: LLVMValueRef,
        local: LLVMValueRef,
        control: LLVMValueRef,
    ) -> Result<LLVMValueRef, String> {
        // SAFETY: caller; operands of constant expressions are read, never changed.
        unsafe {
            if value == local {
                return Ok(self.address_of(builder, control, LLVMTypeOf(local)));
            }
            if LLVMIsAConstantExpr(value).is_null() || !depends_on(value, local, 0) {
                return Ok(value);
            }
            let operand =
                |i: u32| self.materialize(builder, LLVMGetOperand(value, i), local, control);
            let ty = LLVMTypeOf(value);
            let empty = c"".as_ptr();
            Ok(match LLVMGetConstOpcode(value) {
                LLVMOpcode::LLVMGetElementPtr => {
                    let base = operand(0)?;
                    let mut indices: Vec<LLVMValueRef> = (1..LLVMGetNumOperands(value).max(1)
                        as u32)
                        .map(|i| LLVMGetOperand(value, i))
                        .collect();
                    let source = LLVMGetGEPSourceElementType(value);
                    let count = indices.len() as u32;
                    if LLVMIsInBounds(value) != 0 {
                        LLVMBuildInBoundsGEP2(
                            builder,
                            source,
                            base,
                            indices.as_mut_ptr(),
                            count,
                            empty,
                        )
                    } else {
                        LLVMBuildGEP2(builder, source, base, indices.as_mut_ptr(), count, empty)
                    }
                }
                LLVMOpcode::LLVMBitCast => LLVMBuildBitCast(builder, operand(0)?, ty, empty),
                LLVMOpcode::LLVMAddrSpaceCast => {
                    LLVMBuildAddrSpaceCast(builder, operand(0)?, ty, empty)
                }
                LLVMOpcode::LLVMPtrToInt => LLVMBuildPtrToInt(builder, operand(0)?, ty, empty),
                LLVMOpcode::LLVMIntToPtr => LLVMBuildIntToPtr(builder, operand(0)?, ty, empty),
                opcode @ (LLVMOpcode::LLVMAdd
                | LLVMOpcode::LLVMSub
                | LLVMOpcode::LLVMAnd
                | LLVMOpcode::LLVMOr
                | LLVMOpcode::LLVMXor
                | LLVMOpcode::LLVMMul) => {
                    LLVMBuildBinOp(builder, opcode, operand(0)?, operand(1)?, empty)
                }
                other => return Err(format!("it is used in a `{other:?}` constant expression")),
            })
        }
    }

    /// The runtime's `__emutls_get_address(control)`, cast to `ty`.
    ///
    /// # Safety
    /// The builder is positioned in a function of the control variable's module.
    unsafe fn address_of(
        &self,
        builder: LLVMBuilderRef,
        control: LLVMValueRef,
        ty: LLVMTypeRef,
    ) -> LLVMValueRef {
        // SAFETY: caller; the call matches `__emutls_get_address`'s type.
        unsafe {
            let mut args = [LLVMConstPointerCast(control, self.pointer)];
            let address = LLVMBuildCall2(
                builder,
                self.get_address_type,
                self.get_address,
                args.as_mut_ptr(),
                1,
                c"".as_ptr(),
            );
            LLVMBuildPointerCast(builder, address, ty, c"".as_ptr())
        }
    }
}

/// A builder, disposed once.
struct Builder(LLVMBuilderRef);

impl Drop for Builder {
    fn drop(&mut self) {
        // SAFETY: created by LLVMCreateBuilderInContext and disposed only here.
        unsafe { LLVMDisposeBuilder(self.0) }
    }
}

fn cannot(name: &str, what: &str) -> String {
    format!("thread-local `{name}` cannot be emulated: {what}")
}

/// The instructions that use `local` through `user` (itself, or a chain of constant
/// expressions).
///
/// # Safety
/// `user` is a live user of `local`.
unsafe fn collect_instruction_users(
    user: LLVMValueRef,
    out: &mut Vec<LLVMValueRef>,
    depth: u32,
) -> Result<(), String> {
    // SAFETY: caller; only reads.
    unsafe {
        if !LLVMIsAInstruction(user).is_null() {
            if !out.contains(&user) {
                out.push(user);
            }
            return Ok(());
        }
        if !LLVMIsAConstantExpr(user).is_null() {
            if depth > 32 {
                return Err("it is used in too deep a constant expression".into());
            }
            for next in users(user) {
                collect_instruction_users(next, out, depth + 1)?;
            }
        }
        // Other constants (the initializers of globals) are dealt with after the instructions.
        Ok(())
    }
}

/// The first global variable whose initializer holds the constant `user` (through other
/// constants), if any.
///
/// # Safety
/// `user` is live.
unsafe fn global_reached(user: LLVMValueRef, depth: u32) -> Option<LLVMValueRef> {
    // SAFETY: caller; only reads.
    unsafe {
        if !LLVMIsAGlobalVariable(user).is_null() {
            return Some(user);
        }
        if depth > 32 || LLVMIsAConstant(user).is_null() {
            return None;
        }
        users(user)
            .into_iter()
            .find_map(|u| global_reached(u, depth + 1))
    }
}

/// Whether `value` is `local` or a constant expression built on it.
///
/// # Safety
/// `value` is live.
unsafe fn depends_on(value: LLVMValueRef, local: LLVMValueRef, depth: u32) -> bool {
    // SAFETY: caller; only reads operands.
    unsafe {
        if value == local {
            return true;
        }
        if depth > 32 || LLVMIsAConstantExpr(value).is_null() {
            return false;
        }
        (0..LLVMGetNumOperands(value).max(0) as u32)
            .any(|i| depends_on(LLVMGetOperand(value, i), local, depth + 1))
    }
}

/// Whether `instruction` calls `llvm.threadlocal.address`.
///
/// # Safety
/// `instruction` is live.
unsafe fn is_threadlocal_address(instruction: LLVMValueRef) -> bool {
    // SAFETY: caller; only reads.
    unsafe {
        if LLVMIsACallInst(instruction).is_null() {
            return false;
        }
        let callee = LLVMGetCalledValue(instruction);
        !callee.is_null()
            && !LLVMIsAFunction(callee).is_null()
            && value_name(callee).starts_with("llvm.threadlocal.address")
    }
}

/// Gives `to` the linkage, visibility, DLL storage and (a comdat of its own name, like LLVM's
/// LowerEmuTLS) the comdat of `from`.
///
/// # Safety
/// Both are live globals of `module`.
unsafe fn copy_linkage(module: LLVMModuleRef, from: LLVMValueRef, to: LLVMValueRef) {
    // SAFETY: caller.
    unsafe {
        LLVMSetLinkage(to, LLVMGetLinkage(from));
        LLVMSetVisibility(to, LLVMGetVisibility(from));
        LLVMSetDLLStorageClass(to, LLVMGetDLLStorageClass(from));
        LLVMSetThreadLocalMode(to, LLVMThreadLocalMode::LLVMNotThreadLocal);
        let comdat = LLVMGetComdat(from);
        if !comdat.is_null() {
            let name = CString::new(value_name(to)).unwrap_or_default();
            let own = LLVMGetOrInsertComdat(module, name.as_ptr());
            LLVMSetComdatSelectionKind(own, LLVMGetComdatSelectionKind(comdat));
            LLVMSetComdat(to, own);
        }
    }
}

/// Runs LLVM's verifier after the rewrites: a rewrite this file got wrong is an error, not a
/// crash in code generation.
///
/// # Safety
/// `module` is live.
unsafe fn verify(module: LLVMModuleRef) -> Result<(), String> {
    let mut message: *mut c_char = std::ptr::null_mut();
    // SAFETY: caller; the verifier only reports, and its message is freed once.
    let (failed, message) = unsafe {
        let failed = llvm_sys::analysis::LLVMVerifyModule(
            module,
            llvm_sys::analysis::LLVMVerifierFailureAction::LLVMReturnStatusAction,
            &mut message,
        ) != 0;
        (failed, take_message(message))
    };
    if failed {
        return Err(format!(
            "orc-jit's rewrite of the module for exit handlers and thread-locals made invalid IR \
             (a bug in orc-jit; please report it with the module): {}",
            message.trim_end()
        ));
    }
    Ok(())
}
