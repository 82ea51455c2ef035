//! Cross-module inlining of C helpers precompiled to bitcode, without breaking ORC.
//!
//! The helpers' bitcode becomes a *runtime* module, added to the JIT once: it holds the one
//! definition of every helper function and global. Each module added afterwards gets, before
//! ORC ever sees it,
//!
//! - the helpers' function bodies as `available_externally` (what ThinLTO's importer does): the
//!   inliner may copy them, and code generation never emits them, so the module defines no
//!   helper symbol;
//! - the helpers' global variables as declarations (constants as `available_externally`, so
//!   their values still fold), referring to the runtime's single definitions — file-`static`
//!   globals and functions were promoted in the runtime to uniquely named hidden symbols so
//!   that imports can refer to them;
//! - then LLVM's O3 pipeline (new pass manager).
//!
//! So the set of symbols ORC is told about when the module is added never changes afterwards
//! (the cause of "MaterializationResponsibility" errors when linking or optimising inside
//! ORC's layers), and no helper global is duplicated. Functions that cannot be imported safely
//! (`noinline`/`optnone`, variadic, inline assembly, `blockaddress`) are imported `noinline`,
//! so they stay calls.

use std::ffi::{CStr, c_char};
use std::ptr::{self, NonNull};

use llvm_sys::LLVMLinkage;
use llvm_sys::LLVMVisibility;
use llvm_sys::bit_writer::LLVMWriteBitcodeToMemoryBuffer;
use llvm_sys::core::*;
use llvm_sys::linker::LLVMLinkModules2;
use llvm_sys::prelude::{LLVMModuleRef, LLVMValueRef};
use llvm_sys::transforms::pass_builder::{
    LLVMCreatePassBuilderOptions, LLVMDisposePassBuilderOptions, LLVMRunPasses,
};

use crate::error::{Error, Result};
use crate::ir::{aliased_function, aliases, functions, globals, instructions, value_name};
use crate::jit::{Jit, ModuleHandle, read_module_file};
use crate::llvm::{c_string, take_error, take_message};
use crate::module::Module;
use crate::target::TargetMachine;
use crate::version;

/// The helper runtime of one JIT: its promoted bitcode, to import from, and the handle of its
/// module in the JIT.
#[derive(Debug)]
pub struct IpoRuntime {
    name: String,
    bitcode: Vec<u8>,
    importable: Vec<String>,
    kept_as_calls: Vec<(String, &'static str)>,
    jit: u64,
    /// Its exit-handler handle's name (`__jit_dso.<key>`).
    handle_name: String,
    #[allow(dead_code)] // Keeps the runtime's module named; it is never removed.
    handle: ModuleHandle,
}

impl IpoRuntime {
    /// Functions whose bodies are imported for inlining.
    pub fn importable(&self) -> &[String] {
        &self.importable
    }

    /// Functions left as calls, with the reason.
    pub fn kept_as_calls(&self) -> &[(String, &'static str)] {
        &self.kept_as_calls
    }
}

/// What an optimised module's key says went into it (key.rs).
const IPO_RUNTIME: &str = "ipo runtime";

impl Jit {
    /// Adds the helpers' bitcode (or IR) file as this JIT's IPO runtime.
    pub fn add_ipo_runtime(&self, path: impl AsRef<std::path::Path>) -> Result<IpoRuntime> {
        let (name, bytes) = read_module_file(path.as_ref())?;
        self.add_ipo_runtime_bitcode(&name, &bytes)
    }

    /// Adds helper bitcode (or IR) as this JIT's IPO runtime: parses and verifies it, promotes
    /// its file-static functions and globals to uniquely named hidden symbols, and adds it to
    /// the JIT once.
    pub fn add_ipo_runtime_bitcode(&self, name: &str, bytes: &[u8]) -> Result<IpoRuntime> {
        let module = self.parse_module(name, bytes)?;
        let raw = module.raw();
        // SAFETY: `raw` is the live module owned by `module`; we only read and rename its
        // globals, and the buffer from the bitcode writer is copied and disposed once.
        let (importable, kept_as_calls, bitcode) = unsafe {
            // Its registrations of exit handlers use the runtime's own handle, in its object and
            // in the code other modules import from it (which registers for the runtime, whose
            // statics it touches), before the bitcode to import is written; first, so that the
            // internal stubs this makes (its `atexit`) are promoted with the rest.
            crate::lower::own_exit_handlers(raw, &module.key()).map_err(|reason| {
                Error::Unsupported {
                    name: name.to_owned(),
                    reason,
                }
            })?;
            // Named after the runtime's bytes: the same in every process (see key.rs).
            promote_locals(raw, &module.key().short())?;
            let mut importable = Vec::new();
            let mut kept = Vec::new();
            for function in functions(raw) {
                if LLVMIsDeclaration(function) != 0 {
                    continue;
                }
                match not_importable(function) {
                    None => importable.push(value_name(function)),
                    Some(reason) => kept.push((value_name(function), reason)),
                }
            }
            let buffer = LLVMWriteBitcodeToMemoryBuffer(raw);
            let start = LLVMGetBufferStart(buffer) as *const u8;
            let bitcode = std::slice::from_raw_parts(start, LLVMGetBufferSize(buffer)).to_vec();
            LLVMDisposeMemoryBuffer(buffer);
            (importable, kept, bitcode)
        };
        let handle_name = crate::lower::dso_handle(&module.key());
        let handle = self.add_module(module)?;
        Ok(IpoRuntime {
            handle_name,
            name: name.to_owned(),
            bitcode,
            importable,
            kept_as_calls,
            jit: self.id(),
            handle,
        })
    }

    /// Imports the runtime's helpers into `module` for inlining and runs the O3 pipeline; the
    /// result can be inspected ([`Module::to_ir`]) and then added with [`Jit::add_module`].
    pub fn optimize_with_runtime<'jit>(
        &'jit self,
        mut module: Module<'jit>,
        runtime: &IpoRuntime,
    ) -> Result<Module<'jit>> {
        if runtime.jit != self.id() {
            return Err(Error::Ipo {
                name: runtime.name.clone(),
                message: "this runtime belongs to another JIT".into(),
            });
        }
        let name = module.name().to_owned();
        if module.owner() != self.id() {
            return Err(Error::ForeignModule { name });
        }
        let ipo_error = |message: String| Error::Ipo {
            name: name.clone(),
            message,
        };
        let raw = module.raw();
        let machine = TargetMachine::host(crate::target::Codegen {
            opt: crate::target::OptLevel::O3,
            reloc: crate::target::RelocModel::Pic,
            code_model: crate::target::CodeModel::JitDefault,
        })?;
        // SAFETY: `raw` is live and owned by `module`. The imported module is parsed into the
        // same context, prepared, and consumed by LLVMLinkModules2 (which destroys it in all
        // cases). Pass options are created and disposed once; errors and messages consumed once.
        unsafe {
            let context = LLVMGetModuleContext(raw);
            let c_name = c_string(&runtime.name)?;
            let buffer = LLVMCreateMemoryBufferWithMemoryRangeCopy(
                runtime.bitcode.as_ptr() as *const c_char,
                runtime.bitcode.len(),
                c_name.as_ptr(),
            );
            let mut imported: LLVMModuleRef = ptr::null_mut();
            let mut message: *mut c_char = ptr::null_mut();
            if version::parse_ir(context, buffer, &mut imported, &mut message) {
                return Err(ipo_error(format!(
                    "cannot re-read the runtime: {}",
                    take_message(message)
                )));
            }
            let imported = NonNull::new(imported)
                .ok_or_else(|| ipo_error("the runtime did not parse".into()))?;
            prepare_import(imported.as_ptr(), &runtime.importable);
            if CStr::from_ptr(LLVMGetTarget(raw)).is_empty() {
                LLVMSetTarget(raw, LLVMGetTarget(imported.as_ptr()));
            }
            if CStr::from_ptr(LLVMGetDataLayoutStr(raw)).is_empty() {
                LLVMSetDataLayout(raw, LLVMGetDataLayoutStr(imported.as_ptr()));
            }
            module.diagnostics().take();
            // Linking would give each declaration the runtime's type, hiding a mismatch that
            // adding the module as it is would refuse: check first.
            let symbols = module.symbols();
            if let Err(e) = self.check_declarations(&self.lock_modules().registry, &name, &symbols)
            {
                llvm_sys::core::LLVMDisposeModule(imported.as_ptr());
                return Err(e);
            }
            if LLVMLinkModules2(raw, imported.as_ptr()) != 0 {
                let said = module.diagnostics().take().join("\n");
                return Err(ipo_error(format!("linking the helpers in failed: {said}")));
            }
            let options = LLVMCreatePassBuilderOptions();
            let passes = c"default<O3>";
            let err = LLVMRunPasses(raw, passes.as_ptr(), machine.raw(), options);
            LLVMDisposePassBuilderOptions(options);
            if let Some(message) = take_error(err) {
                return Err(ipo_error(format!("the O3 pipeline failed: {message}")));
            }
        }
        module.verify()?;
        // What it was made from now includes the runtime (its object depends on it), and its
        // inlined code may register exit handlers with the runtime's handle.
        module.mix_into_key(IPO_RUNTIME, &runtime.bitcode);
        module.import_handle(runtime.handle_name.clone());
        Ok(module)
    }

    /// [`Jit::optimize_with_runtime`], then [`Jit::add_module`].
    pub fn add_module_with_runtime(
        &self,
        module: Module<'_>,
        runtime: &IpoRuntime,
    ) -> Result<ModuleHandle> {
        // What the optimised module is made of is known before optimising: with an object
        // cache, a hit skips the import, the O3 pipeline and code generation.
        let name = module.name().to_owned();
        if module.owner() != self.id() {
            return Err(Error::ForeignModule { name });
        }
        if module.has_structors() && !self.run_structors() {
            return Err(Error::Constructors { name });
        }
        let key = module.key().with(IPO_RUNTIME, &runtime.bitcode);
        let compiled = self.object_for(&name, key, || {
            let optimized = self.optimize_with_runtime(module, runtime)?;
            self.compile_here(optimized)
        })?;
        self.add_compiled(&name, compiled)
    }
}

/// Gives every private/internal function and global a unique external name with hidden
/// visibility, so imported bodies can refer to the runtime's single instance.
///
/// # Safety
/// `module` is live.
unsafe fn promote_locals(module: LLVMModuleRef, runtime: &str) -> Result<()> {
    // SAFETY: caller; renaming and relinking globals of a live module.
    unsafe {
        let mut values = functions(module);
        values.extend(globals(module));
        for (i, value) in values.into_iter().enumerate() {
            let linkage = LLVMGetLinkage(value);
            if !matches!(
                linkage,
                LLVMLinkage::LLVMPrivateLinkage | LLVMLinkage::LLVMInternalLinkage
            ) {
                continue;
            }
            let old = value_name(value);
            let base = if old.is_empty() {
                format!("anon{i}")
            } else {
                old
            };
            let new = c_string(&format!("__jit_ipo.{runtime}.{base}"))?;
            LLVMSetValueName2(value, new.as_ptr(), new.as_bytes().len());
            LLVMSetLinkage(value, LLVMLinkage::LLVMExternalLinkage);
            LLVMSetVisibility(value, LLVMVisibility::LLVMHiddenVisibility);
        }
    }
    Ok(())
}

/// Why a function's body must not be imported, or `None` when it can be.
///
/// # Safety
/// `function` is a live function definition.
unsafe fn not_importable(function: LLVMValueRef) -> Option<&'static str> {
    // SAFETY: caller; only reads attributes and walks instructions and their operands.
    unsafe {
        for attr in ["noinline", "optnone"] {
            let kind = LLVMGetEnumAttributeKindForName(attr.as_ptr() as *const c_char, attr.len());
            if !LLVMGetEnumAttributeAtIndex(function, llvm_sys::LLVMAttributeFunctionIndex, kind)
                .is_null()
            {
                return Some("marked noinline/optnone");
            }
        }
        if LLVMIsFunctionVarArg(LLVMGlobalGetValueType(function)) != 0 {
            return Some("variadic");
        }
        for inst in instructions(function) {
            for i in 0..LLVMGetNumOperands(inst).max(0) as u32 {
                let operand = LLVMGetOperand(inst, i);
                if operand.is_null() {
                    continue;
                }
                if !LLVMIsAInlineAsm(operand).is_null() {
                    return Some("contains inline assembly");
                }
                if !LLVMIsABlockAddress(operand).is_null() {
                    return Some("takes a block address");
                }
            }
        }
    }
    None
}

/// Turns a copy of the runtime into what a module imports: importable bodies
/// `available_externally`, other bodies `available_externally` + `noinline` (calls), mutable
/// globals declarations, constants `available_externally`, compiler-only globals removed.
///
/// # Safety
/// `module` is live and owned by the caller.
unsafe fn prepare_import(module: LLVMModuleRef, importable: &[String]) {
    // SAFETY: caller; changes linkage, visibility, attributes and initializers of its globals,
    // and deletes appending-linkage globals (llvm.used, llvm.global_ctors), which nothing
    // else refers to.
    unsafe {
        let context = LLVMGetModuleContext(module);
        let noinline = {
            let kind = LLVMGetEnumAttributeKindForName(c"noinline".as_ptr(), "noinline".len());
            LLVMCreateEnumAttribute(context, kind, 0)
        };
        // An alias must point at a definition, which `available_externally` is not: the copy
        // refers to what an alias stands for directly (the same address: a C++ constructor's
        // C1 is its C2), and the module's own uses of the alias's name stay declarations,
        // resolved to the runtime's alias when linked.
        for alias in aliases(module) {
            let target = match aliased_function(alias) {
                Some(function) => function,
                None => LLVMAliasGetAliasee(alias),
            };
            LLVMReplaceAllUsesWith(alias, LLVMConstPointerCast(target, LLVMTypeOf(alias)));
            LLVMDeleteGlobal(alias);
        }
        for function in functions(module) {
            if LLVMIsDeclaration(function) != 0 {
                continue;
            }
            if !importable.contains(&value_name(function)) {
                LLVMAddAttributeAtIndex(function, llvm_sys::LLVMAttributeFunctionIndex, noinline);
            }
            LLVMSetLinkage(function, LLVMLinkage::LLVMAvailableExternallyLinkage);
            LLVMSetVisibility(function, LLVMVisibility::LLVMDefaultVisibility);
        }
        for global in globals(module) {
            match LLVMGetLinkage(global) {
                LLVMLinkage::LLVMAppendingLinkage => LLVMDeleteGlobal(global),
                _ if LLVMIsDeclaration(global) != 0 => {}
                _ if LLVMIsGlobalConstant(global) != 0 => {
                    LLVMSetLinkage(global, LLVMLinkage::LLVMAvailableExternallyLinkage);
                    LLVMSetVisibility(global, LLVMVisibility::LLVMDefaultVisibility);
                }
                _ => {
                    LLVMSetInitializer(global, ptr::null_mut());
                    LLVMSetLinkage(global, LLVMLinkage::LLVMExternalLinkage);
                    LLVMSetVisibility(global, LLVMVisibility::LLVMDefaultVisibility);
                }
            }
        }
    }
}

impl Module<'_> {
    /// Whether function `caller` of this module contains a call to a function named `callee`
    /// (after optimisation: whether the call was inlined away).
    pub fn calls(&self, caller: &str, callee: &str) -> bool {
        let Ok(c_caller) = c_string(caller) else {
            return false;
        };
        // SAFETY: the module is live; we walk one function's instructions read-only.
        unsafe {
            let function = LLVMGetNamedFunction(self.raw(), c_caller.as_ptr());
            if function.is_null() {
                return false;
            }
            instructions(function).into_iter().any(|inst| {
                let is_call =
                    !LLVMIsACallInst(inst).is_null() || !LLVMIsAInvokeInst(inst).is_null();
                let target = if is_call {
                    LLVMGetCalledValue(inst)
                } else {
                    ptr::null_mut()
                };
                !target.is_null() && value_name(target) == callee
            })
        }
    }
}
