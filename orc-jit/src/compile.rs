//! One module to one relocatable object file, the same way whichever process does it (the
//! host for [`crate::Jit::add_module`], a worker for [`crate::Jit::add_module_isolated`]): take
//! out the constructors, apply lower.rs's rewrites, note the IR's symbols, generate code.

use std::ffi::c_char;

use llvm_sys::target_machine::{LLVMCodeGenFileType, LLVMTargetMachineEmitToMemoryBuffer};

use crate::error::{Error, Result};
use crate::key::ModuleKey;
use crate::llvm::take_message;
use crate::module::Module;
use crate::symbols::ModuleSymbols;
use crate::target::TargetMachine;

/// A module compiled to an object file, with what its IR says about its symbols.
pub(crate) struct Compiled {
    pub(crate) object: Vec<u8>,
    /// The IR's view (names, signatures, declarations, constructors); the object's own symbol
    /// table is checked against it before linking.
    pub(crate) symbols: ModuleSymbols,
    pub(crate) key: ModuleKey,
    /// The module came through the isolated path (untrusted input): the host bounds what it
    /// allocates for its object, whether a worker compiled it or the cache had it
    /// ([`crate::IsolationLimits::object_bytes`]).
    pub(crate) isolated: bool,
}

/// Compiles `module` with `machine` (which must not be used by another thread meanwhile).
pub(crate) fn compile(mut module: Module<'_>, machine: &TargetMachine) -> Result<Compiled> {
    let key = module.key();
    let name = module.name().to_owned();
    let structors = module.take_structors();
    // SAFETY: the module is live and ours until it is dropped at the end of this function.
    unsafe { crate::lower::prepare(module.raw(), &key, machine) }.map_err(|reason| {
        Error::Unsupported {
            name: name.clone(),
            reason,
        }
    })?;
    let mut symbols = module.symbols();
    symbols.structors = structors;
    symbols.imported_handles = module.imported_handles().to_vec();
    // SAFETY: the module is live and not changed meanwhile.
    if let Some(address) = unsafe { crate::checks::embedded_address(module.raw()) } {
        symbols.process_specific = Some(format!(
            "holds the absolute address {address:#x} (an inttoptr constant), valid only in the \
             process that wrote the IR"
        ));
    }
    let mut message: *mut c_char = std::ptr::null_mut();
    let mut buffer = std::ptr::null_mut();
    // SAFETY: the module and the machine are live and ours; the message and the buffer LLVM
    // hands back are freed once.
    let (failed, error, object) = unsafe {
        let failed = LLVMTargetMachineEmitToMemoryBuffer(
            machine.raw(),
            module.raw(),
            LLVMCodeGenFileType::LLVMObjectFile,
            &mut message,
            &mut buffer,
        ) != 0;
        let error = take_message(message);
        let object = if buffer.is_null() {
            Vec::new()
        } else {
            let start = llvm_sys::core::LLVMGetBufferStart(buffer) as *const u8;
            let size = llvm_sys::core::LLVMGetBufferSize(buffer);
            let object = std::slice::from_raw_parts(start, size).to_vec();
            llvm_sys::core::LLVMDisposeMemoryBuffer(buffer);
            object
        };
        (failed, error, object)
    };
    // Code generation reports some errors (inline assembly, for one) as diagnostics and goes on.
    let said = module.diagnostics().take_errors();
    if failed || !said.is_empty() {
        let mut lines: Vec<String> = said.iter().map(|s| s.trim_end().to_owned()).collect();
        if !error.is_empty() {
            lines.push(error);
        }
        return Err(Error::Compile {
            module: name,
            message: lines.join("\n"),
        });
    }
    Ok(Compiled {
        object,
        symbols,
        key,
        isolated: false,
    })
}
