//! The host's target machine: its triple, CPU and features, as one owning handle.

use std::ptr::{self, NonNull};

use llvm_sys::target_machine::{
    LLVMCreateTargetMachine, LLVMDisposeTargetMachine, LLVMGetDefaultTargetTriple,
    LLVMGetHostCPUFeatures, LLVMGetHostCPUName, LLVMGetTargetFromTriple, LLVMNormalizeTargetTriple,
    LLVMOpaqueTargetMachine, LLVMTargetMachineRef, LLVMTargetRef,
};

use crate::builder::{CodeModel, OptLevel, RelocModel};
use crate::llvm::{c_string, init, take_message};
use crate::{Error, Result};

/// An LLVM target machine for the host, freed on drop unless handed to LLVM.
pub(crate) struct TargetMachine(NonNull<LLVMOpaqueTargetMachine>);

impl TargetMachine {
    /// The host's triple, CPU and CPU features, with the given code generation settings.
    pub(crate) fn host(opt: OptLevel, reloc: RelocModel, model: CodeModel) -> Result<Self> {
        init()?;
        // SAFETY: every string LLVM hands us is freed once (take_message); the target comes
        // from LLVM's registry and is not owned.
        unsafe {
            let default = LLVMGetDefaultTargetTriple();
            let triple = take_message(LLVMNormalizeTargetTriple(default));
            take_message(default);
            let c_triple = c_string(&triple)?;
            let mut target: LLVMTargetRef = ptr::null_mut();
            let mut message = ptr::null_mut();
            if LLVMGetTargetFromTriple(c_triple.as_ptr(), &mut target, &mut message) != 0 {
                return Err(Error::Llvm(format!(
                    "no target for {triple}: {}",
                    take_message(message)
                )));
            }
            let cpu = LLVMGetHostCPUName();
            let features = LLVMGetHostCPUFeatures();
            let machine = LLVMCreateTargetMachine(
                target,
                c_triple.as_ptr(),
                cpu,
                features,
                opt.into(),
                reloc.into(),
                model.into(),
            );
            take_message(cpu);
            take_message(features);
            NonNull::new(machine)
                .map(TargetMachine)
                .ok_or_else(|| Error::Llvm(format!("cannot create a target machine for {triple}")))
        }
    }

    pub(crate) fn raw(&self) -> LLVMTargetMachineRef {
        self.0.as_ptr()
    }

    /// Hands ownership to LLVM (e.g. to a JIT target machine builder).
    pub(crate) fn into_raw(self) -> LLVMTargetMachineRef {
        let raw = self.0.as_ptr();
        std::mem::forget(self);
        raw
    }
}

impl Drop for TargetMachine {
    fn drop(&mut self) {
        // SAFETY: owned and not handed over (into_raw forgets self).
        unsafe { LLVMDisposeTargetMachine(self.0.as_ptr()) }
    }
}
