//! Small helpers at the C boundary: one-time initialisation, owned LLVM strings and errors, and
//! the sink that catches what LLVM would otherwise print (or `exit(1)` on).

use std::ffi::{CStr, CString, c_char, c_void};
use std::sync::{Mutex, OnceLock};

use llvm_sys::LLVMDiagnosticSeverity;
use llvm_sys::core::{LLVMDisposeMessage, LLVMGetDiagInfoDescription, LLVMGetDiagInfoSeverity};
use llvm_sys::error::{LLVMDisposeErrorMessage, LLVMErrorRef, LLVMGetErrorMessage};
use llvm_sys::prelude::LLVMDiagnosticInfoRef;
use llvm_sys::target::{
    LLVM_InitializeNativeAsmParser, LLVM_InitializeNativeAsmPrinter, LLVM_InitializeNativeTarget,
};

use crate::error::{Error, Result};

/// Initialises LLVM's native target once per process.
pub(crate) fn init() -> Result<()> {
    static INIT: OnceLock<bool> = OnceLock::new();
    // SAFETY: the initialisers only register the native target with LLVM's registries; OnceLock
    // runs them once, so they never race with each other.
    let ok = *INIT.get_or_init(|| unsafe {
        LLVM_InitializeNativeTarget() == 0
            && LLVM_InitializeNativeAsmPrinter() == 0
            && LLVM_InitializeNativeAsmParser() == 0
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Llvm(format!(
            "LLVM has no native target for this machine (libLLVM-{} was built without it)",
            crate::version::LLVM_VERSION
        )))
    }
}

/// Takes an `LLVMErrorRef`: `None` for success, else its message. The error is consumed.
///
/// # Safety
/// `err` is null or a live error that nothing else consumes.
pub(crate) unsafe fn take_error(err: LLVMErrorRef) -> Option<String> {
    if err.is_null() {
        return None;
    }
    // SAFETY: `err` is live and unconsumed (caller); LLVMGetErrorMessage consumes it and returns
    // a string that we free exactly once with LLVMDisposeErrorMessage.
    unsafe {
        let msg = LLVMGetErrorMessage(err);
        let text = CStr::from_ptr(msg).to_string_lossy().into_owned();
        LLVMDisposeErrorMessage(msg);
        Some(text)
    }
}

/// Copies and frees a string that LLVM allocated for us (`LLVMDisposeMessage`).
///
/// # Safety
/// `msg` is null or a string from an LLVM function documented to be freed with
/// `LLVMDisposeMessage`, not freed elsewhere.
pub(crate) unsafe fn take_message(msg: *mut c_char) -> String {
    if msg.is_null() {
        return String::new();
    }
    // SAFETY: non-null and owned by us (caller); freed once here.
    unsafe {
        let text = CStr::from_ptr(msg).to_string_lossy().into_owned();
        LLVMDisposeMessage(msg);
        text
    }
}

/// A name for the C API. Interior NULs (impossible in symbol names LLVM accepts) are an error.
pub(crate) fn c_string(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::InvalidName(s.to_owned()))
}

/// Collects what LLVM says through one context's diagnostic handler (one per module), or ORC's
/// session errors (one per JIT), so it ends up in error values instead of on stderr — and so a
/// diagnostic of error severity does not make LLVM call `exit`.
///
/// LLVM keeps a raw pointer to it: whoever registers it keeps it boxed (a stable address) until
/// the context or session it was registered on is gone.
#[derive(Debug, Default)]
pub(crate) struct Diagnostics(Mutex<Vec<(bool, String)>>);

impl Diagnostics {
    fn push(&self, error: bool, text: String) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((error, text));
    }

    /// Everything collected since the last call.
    pub(crate) fn take(&self) -> Vec<String> {
        self.drain().into_iter().map(|(_, text)| text).collect()
    }

    /// The errors collected since the last call (warnings and remarks are dropped).
    pub(crate) fn take_errors(&self) -> Vec<String> {
        self.drain()
            .into_iter()
            .filter_map(|(error, text)| error.then_some(text))
            .collect()
    }

    fn drain(&self) -> Vec<(bool, String)> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub(crate) fn as_context(&self) -> *mut c_void {
        self as *const Diagnostics as *mut c_void
    }
}

/// `LLVMDiagnosticHandler`: `ctx` is the `Diagnostics` of the module that owns the context.
pub(crate) extern "C" fn diagnostic_handler(info: LLVMDiagnosticInfoRef, ctx: *mut c_void) {
    // SAFETY: LLVM passes a live diagnostic; the description is ours to free (take_message).
    let (severity, text) = unsafe {
        (
            LLVMGetDiagInfoSeverity(info),
            take_message(LLVMGetDiagInfoDescription(info)),
        )
    };
    let label = match severity {
        LLVMDiagnosticSeverity::LLVMDSError => "error",
        LLVMDiagnosticSeverity::LLVMDSWarning => "warning",
        LLVMDiagnosticSeverity::LLVMDSRemark => "remark",
        LLVMDiagnosticSeverity::LLVMDSNote => "note",
    };
    // SAFETY: `ctx` is the boxed Diagnostics registered with this context, which outlives the
    // context: a Module frees it after disposing of its context, and once the module is in the
    // JIT, the Jit keeps it until the module's resource tracker is removed or the LLJIT disposed.
    let sink = unsafe { &*(ctx as *const Diagnostics) };
    sink.push(
        severity == LLVMDiagnosticSeverity::LLVMDSError,
        format!("{label}: {text}"),
    );
}

/// `LLVMOrcErrorReporterFunction`: session errors (failed materialisation) go to the sink.
pub(crate) extern "C" fn session_error_reporter(ctx: *mut c_void, err: LLVMErrorRef) {
    // SAFETY: ORC hands us ownership of `err`; `ctx` is the live boxed Diagnostics of the Jit
    // that owns the session, freed only after the LLJIT is disposed.
    unsafe {
        if let Some(text) = take_error(err) {
            (*(ctx as *const Diagnostics)).push(true, text);
        }
    }
}
