//! A safe Rust API over LLVM 14's ORC v2 JIT, for JIT code that calls C libraries.
//!
//! ```
//! use jit_core::Jit;
//!
//! let jit = Jit::new()?; // host CPU, PIC, symbols from this process
//! let module = jit.parse_module(
//!     "answer.ll",
//!     b"define i32 @f() {\nentry:\n  ret i32 42\n}\n",
//! )?;
//! jit.add_module(module)?;
//! let f = jit.lookup::<extern "C" fn() -> i32>("f")?;
//! assert_eq!(f.call(), 42);
//! # Ok::<(), jit_core::Error>(())
//! ```
//!
//! Parse and verification errors carry LLVM's own `file:line:col` diagnostic; a symbol the JIT
//! cannot find is an [`Error::MissingSymbols`] naming it and the likely link-time cause. LLVM's
//! diagnostics and session errors are captured into these values, never printed by LLVM.

mod error;
mod jit;
mod llvm;
mod module;
mod signature;
mod sources;

pub use error::{Error, Result};
pub use jit::{CodeModel, Function, Jit, JitBuilder, ModuleHandle, OptLevel, RelocModel};
pub use module::Module;
pub use signature::{JitFn, JitReturn, JitValue, Signature, ValueType};
pub use sources::{LookupFn, SymbolSource};
