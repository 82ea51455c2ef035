//! The host's target machine and the code generation settings it is built with: one owning
//! handle, and the settings every compile of a JIT uses, in-process and in a worker alike.

use std::ptr::{self, NonNull};

use llvm_sys::target_machine::{
    LLVMCodeGenOptLevel, LLVMCodeModel, LLVMCreateTargetMachine, LLVMDisposeTargetMachine,
    LLVMGetDefaultTargetTriple, LLVMGetHostCPUFeatures, LLVMGetHostCPUName,
    LLVMGetTargetFromTriple, LLVMNormalizeTargetTriple, LLVMOpaqueTargetMachine, LLVMRelocMode,
    LLVMTargetMachineRef, LLVMTargetRef,
};

use crate::error::{Error, Result};
use crate::llvm::{c_string, init, take_message};

/// How code refers to addresses. JIT code should be position-independent, like the host.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum RelocModel {
    /// Position-independent code (the default).
    #[default]
    Pic,
    /// Absolute addresses.
    Static,
    /// Position-dependent code that may refer to symbols in shared libraries.
    DynamicNoPic,
}

/// The code model of the target machine.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum CodeModel {
    /// LLVM's choice for JIT code (the default).
    #[default]
    JitDefault,
    /// Code and data within 2 GiB.
    Small,
    /// Code within 2 GiB, data anywhere.
    Medium,
    /// No assumptions.
    Large,
}

/// The code generator's optimisation level.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum OptLevel {
    /// `-O0`.
    O0,
    /// `-O1`.
    O1,
    /// `-O2` (the default).
    #[default]
    O2,
    /// `-O3`.
    O3,
}

/// Which of ORC's object linkers links a JIT's code.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum ObjectLayer {
    /// LLJIT's own choice (the default): RuntimeDyld on LLVM 14, 15 and 16, JITLink on 19 and
    /// 22 (x86-64 Linux); RuntimeDyld on every version when the JIT has a debugger
    /// ([`crate::JitBuilder::debugger`] says why).
    #[default]
    Default,
    /// RuntimeDyld (MCJIT's linker), on every version.
    RuntimeDyld,
    /// JITLink, LLVM 19 and later (earlier C APIs cannot create it).
    JitLink,
}

/// What tools outside the process see of the JIT's code: a debugger (the GDB JIT interface)
/// and profilers (a perf map, a jitdump).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub(crate) struct Tools {
    pub(crate) debugger: bool,
    pub(crate) perf_map: bool,
    pub(crate) jitdump: bool,
}

/// The code generation settings of one JIT: every module it adds is compiled with them,
/// in-process or by a worker.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub(crate) struct Codegen {
    pub(crate) opt: OptLevel,
    pub(crate) reloc: RelocModel,
    pub(crate) code_model: CodeModel,
}

/// The host as LLVM names it: the normalised default triple, the CPU and its features.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Host {
    pub(crate) triple: String,
    pub(crate) cpu: String,
    pub(crate) features: String,
}

impl Host {
    /// Asks LLVM (once per process).
    pub(crate) fn get() -> &'static Host {
        static HOST: std::sync::OnceLock<Host> = std::sync::OnceLock::new();
        HOST.get_or_init(|| {
            // SAFETY: every string LLVM hands us is freed once (take_message).
            unsafe {
                let default = LLVMGetDefaultTargetTriple();
                let triple = take_message(LLVMNormalizeTargetTriple(default));
                take_message(default);
                Host {
                    triple,
                    cpu: take_message(LLVMGetHostCPUName()),
                    features: take_message(LLVMGetHostCPUFeatures()),
                }
            }
        })
    }
}

/// An LLVM target machine for the host, freed on drop unless handed to LLVM.
pub(crate) struct TargetMachine(NonNull<LLVMOpaqueTargetMachine>);

// SAFETY: an LLVM TargetMachine is not tied to the thread that created it; it must not be used
// by two threads at once, which `&mut`/ownership (and the JIT's pool of machines) ensures.
unsafe impl Send for TargetMachine {}

impl TargetMachine {
    /// The host's triple, CPU and CPU features, with the given code generation settings.
    pub(crate) fn host(codegen: Codegen) -> Result<Self> {
        init()?;
        let host = Host::get();
        let c_triple = c_string(&host.triple)?;
        let c_cpu = c_string(&host.cpu)?;
        let c_features = c_string(&host.features)?;
        // SAFETY: the strings are valid C strings that LLVM copies; the target comes from
        // LLVM's registry and is not owned; an error message is freed once (take_message).
        unsafe {
            let mut target: LLVMTargetRef = ptr::null_mut();
            let mut message = ptr::null_mut();
            if LLVMGetTargetFromTriple(c_triple.as_ptr(), &mut target, &mut message) != 0 {
                return Err(Error::Llvm(format!(
                    "no target for {}: {}",
                    host.triple,
                    take_message(message)
                )));
            }
            let machine = LLVMCreateTargetMachine(
                target,
                c_triple.as_ptr(),
                c_cpu.as_ptr(),
                c_features.as_ptr(),
                codegen.opt.into(),
                codegen.reloc.into(),
                codegen.code_model.into(),
            );
            NonNull::new(machine).map(TargetMachine).ok_or_else(|| {
                Error::Llvm(format!(
                    "cannot create a target machine for {}",
                    host.triple
                ))
            })
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

impl From<RelocModel> for LLVMRelocMode {
    fn from(model: RelocModel) -> Self {
        match model {
            RelocModel::Pic => LLVMRelocMode::LLVMRelocPIC,
            RelocModel::Static => LLVMRelocMode::LLVMRelocStatic,
            RelocModel::DynamicNoPic => LLVMRelocMode::LLVMRelocDynamicNoPic,
        }
    }
}

impl From<CodeModel> for LLVMCodeModel {
    fn from(model: CodeModel) -> Self {
        match model {
            CodeModel::JitDefault => LLVMCodeModel::LLVMCodeModelJITDefault,
            CodeModel::Small => LLVMCodeModel::LLVMCodeModelSmall,
            CodeModel::Medium => LLVMCodeModel::LLVMCodeModelMedium,
            CodeModel::Large => LLVMCodeModel::LLVMCodeModelLarge,
        }
    }
}

impl From<OptLevel> for LLVMCodeGenOptLevel {
    fn from(level: OptLevel) -> Self {
        match level {
            OptLevel::O0 => LLVMCodeGenOptLevel::LLVMCodeGenLevelNone,
            OptLevel::O1 => LLVMCodeGenOptLevel::LLVMCodeGenLevelLess,
            OptLevel::O2 => LLVMCodeGenOptLevel::LLVMCodeGenLevelDefault,
            OptLevel::O3 => LLVMCodeGenOptLevel::LLVMCodeGenLevelAggressive,
        }
    }
}
