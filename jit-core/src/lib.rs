//! A safe Rust API over LLVM 14's ORC v2 JIT (LLJIT), for JIT code that calls C libraries.
//!
//! ```
//! use jit_core::Jit;
//!
//! let jit = Jit::new()?; // host CPU and features, PIC, O2, symbols from this process
//! let module = jit.parse_module("answer.ll", b"define i32 @f() {\nentry:\n  ret i32 42\n}\n")?;
//! jit.add_module(module)?;
//! let f = jit.lookup::<extern "C" fn() -> i32>("f")?; // checked against f's LLVM type
//! assert_eq!(f.call(), 42);
//! # Ok::<(), jit_core::Error>(())
//! ```
//!
//! # Symbol sources
//!
//! JIT code calls functions it does not define through [`SymbolSource`]s, chosen on the
//! [`JitBuilder`] and searched in this order: host functions, shared libraries, static
//! archives, the custom lookup, then the process (see [`SymbolSource`]).
//!
//! **The host process** (the default), like `dlsym`: the binary must export the symbols
//! (the jit-linkage crate generates the link settings; here, libc's `abs`):
//! ```
//! # use jit_core::Jit;
//! let jit = Jit::new()?;
//! let ir = "declare i32 @abs(i32)\ndefine i32 @f(i32 %x) {\nentry:\n  %r = call i32 @abs(i32 %x)\n  ret i32 %r\n}\n";
//! jit.add_module(jit.parse_module("abs.ll", ir.as_bytes())?)?;
//! assert_eq!(jit.lookup::<extern "C" fn(i32) -> i32>("f")?.call(-42), 42);
//! # Ok::<(), jit_core::Error>(())
//! ```
//!
//! **A shared library by path**, loaded permanently (lli's `--dlopen`); no link-time
//! dependency:
//! ```
//! # use jit_core::Jit;
//! # let libm = ["/lib/x86_64-linux-gnu/libm.so.6", "/lib/aarch64-linux-gnu/libm.so.6", "/lib64/libm.so.6"]
//! #     .into_iter().find(|p| std::path::Path::new(p).exists()).expect("libm.so.6");
//! let jit = Jit::builder().process_symbols(false).shared_library(libm).build()?;
//! let ir = "declare double @cos(double)\ndefine double @f() {\nentry:\n  %r = call double @cos(double 0.0)\n  ret double %r\n}\n";
//! jit.add_module(jit.parse_module("cos.ll", ir.as_bytes())?)?;
//! assert_eq!(jit.lookup::<extern "C" fn() -> f64>("f")?.call(), 1.0);
//! # Ok::<(), jit_core::Error>(())
//! ```
//!
//! **A static archive**, whose members are linked into the JIT on demand (lli's
//! `--extra-archive`); no host linker flags at all. Here gcc's own `libgcc.a`:
//! ```
//! # use jit_core::Jit;
//! # let out = std::process::Command::new("cc").arg("-print-libgcc-file-name").output().unwrap();
//! # let libgcc = String::from_utf8(out.stdout).unwrap().trim().to_owned();
//! let jit = Jit::builder().process_symbols(false).static_archive(&libgcc).build()?;
//! let ir = "declare i32 @__popcountdi2(i64)\ndefine i32 @f() {\nentry:\n  %r = call i32 @__popcountdi2(i64 255)\n  ret i32 %r\n}\n";
//! jit.add_module(jit.parse_module("popcount.ll", ir.as_bytes())?)?;
//! assert_eq!(jit.lookup::<extern "C" fn() -> i32>("f")?.call(), 8);
//! # Ok::<(), jit_core::Error>(())
//! ```
//!
//! **Rust host functions**, any `extern "C" fn`, under the name JIT code uses:
//! ```
//! # use jit_core::Jit;
//! extern "C" fn add(a: i32, b: i32) -> i32 { a + b }
//!
//! let jit = Jit::builder().host_function("add", add as extern "C" fn(i32, i32) -> i32).build()?;
//! let ir = "declare i32 @add(i32, i32)\ndefine i32 @f() {\nentry:\n  %r = call i32 @add(i32 40, i32 2)\n  ret i32 %r\n}\n";
//! jit.add_module(jit.parse_module("add.ll", ir.as_bytes())?)?;
//! assert_eq!(jit.lookup::<extern "C" fn() -> i32>("f")?.call(), 42);
//! # Ok::<(), jit_core::Error>(())
//! ```
//!
//! **A custom lookup**, asked for each name the sources before it did not define:
//! ```
//! # use jit_core::Jit;
//! extern "C" fn seven() -> i32 { 7 }
//!
//! let jit = Jit::builder()
//!     .symbol_lookup(|name| (name == "seven").then_some(seven as extern "C" fn() -> i32 as usize as u64))
//!     .build()?;
//! let ir = "declare i32 @seven()\ndefine i32 @f() {\nentry:\n  %r = call i32 @seven()\n  ret i32 %r\n}\n";
//! jit.add_module(jit.parse_module("seven.ll", ir.as_bytes())?)?;
//! assert_eq!(jit.lookup::<extern "C" fn() -> i32>("f")?.call(), 7);
//! # Ok::<(), jit_core::Error>(())
//! ```
//!
//! # Modules
//!
//! [`Jit::add_module`] returns a [`ModuleHandle`]; [`Jit::remove_module`] frees the module's
//! code and symbols (an ORC resource tracker), after which it can be added again. Removal needs
//! `&mut Jit`, so no [`Function`] (which borrows the JIT) can outlive the code it points to.
//!
//! # Errors
//!
//! One [`Error`] enum. Parse and verification errors carry LLVM's own `file:line:col`
//! diagnostic; a symbol no source provides is an [`Error::MissingSymbols`] naming every missing
//! symbol, the sources searched and the likely link-time fix; a lookup with the wrong Rust
//! signature is an [`Error::SignatureMismatch`]. LLVM's diagnostics and ORC's session errors are
//! captured into these values, never printed by LLVM. After any error the JIT stays usable.
//!
//! # Threads
//!
//! [`Jit`] is `Send` and `Sync`: share `&Jit` across threads to add modules, look up and call.
//! ORC's session is thread-safe; compilation, which LLVM 14's default LLJIT does with one shared
//! target machine, happens only inside lookups, which a lock serialises. Calls into compiled
//! code run in parallel. [`Module`] is neither (it is one LLVM context, used by one thread).

mod error;
mod ipo;
mod jit;
mod llvm;
mod module;
mod signature;
mod sources;
mod target;

pub use error::{Error, Result};
pub use ipo::IpoRuntime;
pub use jit::{CodeModel, Function, Jit, JitBuilder, ModuleHandle, OptLevel, RelocModel};
pub use module::Module;
pub use signature::{JitFn, JitReturn, JitValue, Signature, ValueType};
pub use sources::{LookupFn, SymbolSource};
