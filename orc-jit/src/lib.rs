//! A Rust API over LLVM's ORC v2 JIT (LLJIT), for JIT code that calls C libraries.
//!
//! One code base for LLVM 14, 15, 16, 19 and 22, chosen by a cargo feature (`llvm14` ...
//! `llvm22`; the default is `llvm22`, the newest); [`LLVM_VERSION`] says which one a build
//! uses. Those features link libLLVM as the shared library; `llvm14-static` ... `llvm22-static`
//! link LLVM's static libraries into the binary instead (a faster start, a larger binary; the
//! system needs the version's `libpolly-N-dev`). From LLVM 15 on, every module is read with opaque pointers (typed-pointer IR such as
//! `i8*` still parses, as `ptr`).
//!
//! ```
//! use orc_jit::Jit;
//!
//! let jit = Jit::new()?; // host CPU and features, PIC, O2, symbols from this process
//! let module = jit.parse_module("answer.ll", b"define i32 @f() {\nentry:\n  ret i32 42\n}\n")?;
//! jit.add_module(module)?;
//! let f = jit.lookup::<extern "C" fn() -> i32>("f")?; // checked against f's LLVM ABI
//! // SAFETY: f is our own code and only returns a constant.
//! assert_eq!(unsafe { f.call() }, 42);
//! # Ok::<(), orc_jit::Error>(())
//! ```
//!
//! # Safety model
//!
//! JIT code is foreign code, like a C library the program links: Rust cannot see what it does.
//! So, as in inkwell (`unsafe fn call`) and cranelift-jit (a raw `*const u8` to transmute),
//! **calling JIT code is `unsafe`** ([`Function::call`]): the caller promises that the code
//! behaves like sound C for the arguments it passes. **Everything else is safe**, and every
//! mistake orc-jit can detect is an [`Error`], never undefined behaviour:
//!
//! - a lookup checks the definition ORC will actually call (not a weak or
//!   `available_externally` copy another definition overrides) against the Rust type: types,
//!   calling convention, `zeroext`/`signext` (a Rust `bool` is `i1 zeroext`), `byval`/`sret`/
//!   `inalloca`/`inreg`, varargs ([`Error::SignatureMismatch`]);
//! - a host function keeps its Rust signature, and every IR declaration of it (and of any
//!   function another module defines) must match when the module is added
//!   ([`Error::DeclarationMismatch`]);
//! - modules and handles carry their JIT's process-unique id ([`Error::ForeignModule`],
//!   [`Error::ForeignHandle`]); each module has its own diagnostics sink, so nothing LLVM says
//!   outlives or crosses into another JIT, module or thread;
//! - removing a module needs `&mut Jit`, so no [`Function`] (which borrows the JIT) survives
//!   it, and is refused while other modules refer to its symbols ([`Error::ModuleInUse`]),
//!   because ORC does not track which compiled code calls which;
//! - a module with global constructors or destructors is refused unless the `unsafe`
//!   [`JitBuilder::run_constructors`] allows the JIT to call them (on add, remove and drop);
//! - a module that fails to compile stays failed ([`Error::Compile`] with LLVM's message), and
//!   a missing symbol is found before compiling ([`Error::MissingSymbols`]), so a later lookup
//!   succeeds once it is added;
//! - what hands orc-jit a raw address is `unsafe`: [`JitBuilder::host_address`],
//!   [`JitBuilder::symbol_lookup`], [`HostFunction::from_address`], [`SymbolLookup::new`], and
//!   [`Function::into_raw`] for the reverse direction. A lookup callback that calls back into
//!   its JIT gets [`Error::Reentrant`] instead of a deadlock.
//!
//! Why `unsafe` on the call and not on the lookup: the contract is about what the code does
//! with the arguments of one call (pointers in particular), which only the call site knows.
//! Why dependency tracking rather than an `unsafe` `remove_module`: the JIT knows, by name,
//! which modules refer to which, so it can refuse the one removal that would leave dangling
//! calls, and removal stays usable in safe code. What remains the caller's promise is what no
//! checker can see: the behaviour of the code itself. LLVM itself may abort on hostile input
//! it parses or compiles in-process; for input you do not trust, use
//! [`Jit::add_module_isolated`], where only a worker process can die
//! ([`Error::CompilerCrashed`]).
//!
//! A safe program cannot call JIT code without `unsafe`:
//! ```compile_fail,E0133
//! # let jit = orc_jit::Jit::new().unwrap();
//! let f = jit.lookup::<extern "C" fn() -> i32>("f").unwrap();
//! f.call(); // error: call to unsafe function
//! ```
//! nor keep a handle past the removal of its module (or the JIT):
//! ```compile_fail,E0502
//! # let mut jit = orc_jit::Jit::new().unwrap();
//! # let handle = jit.add_module(jit.parse_module("m", b"define i32 @f() {\nentry:\n  ret i32 1\n}\n").unwrap()).unwrap();
//! let f = jit.lookup::<extern "C" fn() -> i32>("f").unwrap();
//! jit.remove_module(&handle).unwrap(); // error: `jit` is borrowed by `f`
//! unsafe { f.call() };
//! ```
//! nor give the JIT a raw address without `unsafe`:
//! ```compile_fail,E0133
//! let mut builder = orc_jit::Jit::builder();
//! builder.host_address("f", 0x10); // error: call to unsafe function
//! ```
//! ```compile_fail,E0133
//! let mut builder = orc_jit::Jit::builder();
//! builder.symbol_lookup(|_| Some(0x10)); // error: call to unsafe function
//! ```
//! nor send a [`Module`] (one LLVM context, used by one thread) to another thread:
//! ```compile_fail,E0277
//! let jit = orc_jit::Jit::new().unwrap();
//! let module = jit.parse_module("m", b"").unwrap();
//! std::thread::scope(|s| {
//!     s.spawn(move || drop(module)); // error: `Module` cannot be sent between threads
//! });
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
//! # use orc_jit::Jit;
//! let jit = Jit::new()?;
//! let ir = "declare i32 @abs(i32)\ndefine i32 @f(i32 %x) {\nentry:\n  %r = call i32 @abs(i32 %x)\n  ret i32 %r\n}\n";
//! jit.add_module(jit.parse_module("abs.ll", ir.as_bytes())?)?;
//! let f = jit.lookup::<extern "C" fn(i32) -> i32>("f")?;
//! // SAFETY: f calls libc's abs.
//! assert_eq!(unsafe { f.call(-42) }, 42);
//! # Ok::<(), orc_jit::Error>(())
//! ```
//!
//! **A shared library by path**, loaded permanently (lli's `--dlopen`); no link-time
//! dependency:
//! ```
//! # use orc_jit::Jit;
//! # let libm = ["/lib/x86_64-linux-gnu/libm.so.6", "/lib/aarch64-linux-gnu/libm.so.6", "/lib64/libm.so.6"]
//! #     .into_iter().find(|p| std::path::Path::new(p).exists()).expect("libm.so.6");
//! let jit = Jit::builder().process_symbols(false).shared_library(libm).build()?;
//! let ir = "declare double @cos(double)\ndefine double @f() {\nentry:\n  %r = call double @cos(double 0.0)\n  ret double %r\n}\n";
//! jit.add_module(jit.parse_module("cos.ll", ir.as_bytes())?)?;
//! let f = jit.lookup::<extern "C" fn() -> f64>("f")?;
//! // SAFETY: f calls libm's cos.
//! assert_eq!(unsafe { f.call() }, 1.0);
//! # Ok::<(), orc_jit::Error>(())
//! ```
//!
//! **A static archive**, whose members are linked into the JIT on demand (lli's
//! `--extra-archive`); no host linker flags at all. Here gcc's own `libgcc.a`:
//! ```
//! # use orc_jit::Jit;
//! # let out = std::process::Command::new("cc").arg("-print-libgcc-file-name").output().unwrap();
//! # let libgcc = String::from_utf8(out.stdout).unwrap().trim().to_owned();
//! let jit = Jit::builder().process_symbols(false).static_archive(&libgcc).build()?;
//! let ir = "declare i32 @__popcountdi2(i64)\ndefine i32 @f() {\nentry:\n  %r = call i32 @__popcountdi2(i64 255)\n  ret i32 %r\n}\n";
//! jit.add_module(jit.parse_module("popcount.ll", ir.as_bytes())?)?;
//! let f = jit.lookup::<extern "C" fn() -> i32>("f")?;
//! // SAFETY: f calls libgcc's popcount on a constant.
//! assert_eq!(unsafe { f.call() }, 8);
//! # Ok::<(), orc_jit::Error>(())
//! ```
//!
//! **Rust host functions**, any `extern "C" fn`, under the name JIT code uses; every IR
//! declaration of the name is checked against the Rust signature:
//! ```
//! # use orc_jit::Jit;
//! extern "C" fn add(a: i32, b: i32) -> i32 { a + b }
//!
//! let jit = Jit::builder().host_function("add", add as extern "C" fn(i32, i32) -> i32).build()?;
//! let ir = "declare i32 @add(i32, i32)\ndefine i32 @f() {\nentry:\n  %r = call i32 @add(i32 40, i32 2)\n  ret i32 %r\n}\n";
//! jit.add_module(jit.parse_module("add.ll", ir.as_bytes())?)?;
//! let f = jit.lookup::<extern "C" fn() -> i32>("f")?;
//! // SAFETY: f calls `add` with two integers.
//! assert_eq!(unsafe { f.call() }, 42);
//!
//! let wrong = "declare i64 @add(i64, i64)\ndefine i64 @g() {\nentry:\n  %r = call i64 @add(i64 1, i64 2)\n  ret i64 %r\n}\n";
//! let err = jit.add_module(jit.parse_module("wrong.ll", wrong.as_bytes())?).unwrap_err();
//! assert!(matches!(err, orc_jit::Error::DeclarationMismatch { .. }));
//! # Ok::<(), orc_jit::Error>(())
//! ```
//!
//! **A custom lookup**, asked for each name the sources before it did not define. It returns
//! raw addresses, so installing it is `unsafe`:
//! ```
//! # use orc_jit::Jit;
//! extern "C" fn seven() -> i32 { 7 }
//!
//! let mut builder = Jit::builder();
//! // SAFETY: the only address returned is `seven`, an `i32 ()` function as the IR declares it.
//! unsafe {
//!     builder.symbol_lookup(|name| (name == "seven").then_some(seven as extern "C" fn() -> i32 as usize as u64));
//! }
//! let jit = builder.build()?;
//! let ir = "declare i32 @seven()\ndefine i32 @f() {\nentry:\n  %r = call i32 @seven()\n  ret i32 %r\n}\n";
//! jit.add_module(jit.parse_module("seven.ll", ir.as_bytes())?)?;
//! let f = jit.lookup::<extern "C" fn() -> i32>("f")?;
//! // SAFETY: f calls `seven`.
//! assert_eq!(unsafe { f.call() }, 7);
//! # Ok::<(), orc_jit::Error>(())
//! ```
//!
//! # Modules
//!
//! [`Jit::add_module`] returns a [`ModuleHandle`]; [`Jit::remove_module`] frees the module's
//! code and symbols (an ORC resource tracker), after which it can be added again. Removal needs
//! `&mut Jit`, so no [`Function`] (which borrows the JIT) can outlive the code it points to,
//! and is refused while another module refers to the module's symbols.
//!
//! # Errors
//!
//! One [`Error`] enum. Parse and verification errors carry LLVM's own `file:line:col`
//! diagnostic; a symbol no source provides is an [`Error::MissingSymbols`] naming every missing
//! symbol, the sources searched and the likely link-time fix; a lookup with the wrong Rust
//! signature is an [`Error::SignatureMismatch`]; a code generation error (inline assembly, for
//! example) is an [`Error::Compile`]. LLVM's diagnostics and ORC's session errors are captured
//! per module and per lookup into these values, never printed by LLVM and never attributed to
//! another thread's operation. After any error the JIT stays usable.
//!
//! # Threads
//!
//! [`Jit`] is `Send` and `Sync`: share `&Jit` across threads to add modules, look up and call.
//! ORC's session is thread-safe; compilation, which the default LLJIT does with one shared
//! target machine, happens only inside lookups, which a lock serialises. Calls into compiled
//! code run in parallel. [`Module`] is neither (it is one LLVM context, used by one thread).

// The llvm-sys line of the chosen LLVM version, under one name (see version.rs).
#[cfg(jit_llvm = "14")]
extern crate llvm_sys_140 as llvm_sys;
#[cfg(jit_llvm = "15")]
extern crate llvm_sys_150 as llvm_sys;
#[cfg(jit_llvm = "16")]
extern crate llvm_sys_160 as llvm_sys;
#[cfg(jit_llvm = "19")]
extern crate llvm_sys_191 as llvm_sys;
#[cfg(jit_llvm = "22")]
extern crate llvm_sys_221 as llvm_sys;

#[cfg(jit_llvm_choice = "none")]
compile_error!(
    "orc-jit needs one LLVM version: enable exactly one of the features llvm14, llvm15, \
     llvm16, llvm19, llvm22 (libLLVM as a shared library) or llvm14-static ... llvm22-static \
     (LLVM linked statically); the default is llvm22; with default-features = false, choose one"
);

#[cfg(jit_llvm_choice = "several")]
compile_error!(
    "orc-jit links one LLVM, once: its features llvm14 ... llvm22 and llvm14-static ... \
     llvm22-static are mutually exclusive, and more than one is enabled (a dependency with \
     default features brings in llvm22: depend on orc-jit with default-features = false and \
     one version feature)"
);

mod bitcode;
mod builder;
mod cache;
mod cache_writer;
mod checks;
mod compile;
mod emutls;
mod error;
mod exits;
mod ipo;
mod ir;
mod isolate;
mod jit;
mod key;
mod llvm;
mod lookup;
mod lower;
mod module;
mod object_file;
mod objects;
mod profiler;
mod registry;
mod signature;
mod sources;
mod structors;
mod symbols;
mod target;
mod tools;
mod version;

pub use builder::JitBuilder;
pub use error::{Error, Result};
pub use ipo::IpoRuntime;
pub use isolate::{IsolationLimits, WorkerProgram, serve_if_worker};
pub use jit::{Function, Jit, ModuleHandle};
pub use module::Module;
pub use objects::CacheStats;
pub use signature::{
    CallingConvention, Extension, JitFn, JitReturn, JitValue, Signature, Value, ValueType,
};
pub use sources::{HostFunction, LookupFn, SymbolLookup, SymbolSource};
pub use target::{CodeModel, ObjectLayer, OptLevel, RelocModel};
pub use version::LLVM_VERSION;
