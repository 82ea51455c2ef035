//! The IPO demo: the forum's `f_WRAPPED` with its C helper inlined from precompiled bitcode,
//! and the forum's C++ helpers (global objects, a call back into this program) as a second IPO
//! runtime.
//!
//! `demo-ipo [BITCODE] [--print-ir]` prints the unwrapped value, whether the helper call was
//! inlined, and the helper's call counter; then what the C++ helpers' global objects hold
//! (constructed by the JIT when it added them) after JIT code recorded the value through them,
//! and, when the JIT is dropped, their destructor's line; it exits 0. `demo-ipo [BITCODE] --bench N` times N helper calls
//! in JIT code, inlined (checked: the call is gone) and as a plain call through this process's
//! symbol, each twice in the order inlined, plain, plain, inlined, and prints
//! `inlined NS plain NS result R` (the mean nanoseconds per call) for `cargo xtask bench ipo`.
//! Without BITCODE it uses the helpers' bitcode its build compiled, which it carries: a copy of
//! the binary alone (`cargo xtask dist` ships one) needs no file next to it.

use std::ffi::{CStr, c_char};
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Instant;

use orc_jit::{Error, IpoRuntime, Jit};

const WRAPPED: &str = include_str!("../wrapped.ll");
const SCALE_LOOP: &str = include_str!("../scale_loop.ll");
/// The helpers' bitcode this binary's build script compiled (jit-linkage, with clang-N of the
/// JIT's LLVM).
const BUILT_HELPERS: &[u8] = include_bytes!(env!("JIT_LINKAGE_BITCODE_WRAPPED"));
/// JIT code that records a value with the C++ helpers.
const REGISTRY: &str = include_str!("../registry.ll");
/// The forum's C++ helpers (c-libs/src/registry.cpp) as bitcode, compiled by the build script.
const BUILT_REGISTRY: &[u8] = include_bytes!(env!("JIT_LINKAGE_BITCODE_REGISTRY"));

const USAGE: &str = "usage: demo-ipo [HELPERS.bc] [--print-ir | --bench N]

JITs the forum's f_WRAPPED with the C helpers of HELPERS.bc (default: the helpers' bitcode this
binary's build compiled, which it carries; cargo xtask build-libs writes target/c-libs/wrapped.bc)
imported for inlining, and prints the result, whether the helper call was inlined, and the
helper's call counter. Then JIT code records the value with the forum's C++ helpers (built in),
whose global std::string and std::vector the JIT constructed when it added them and destroys
when it is dropped. --print-ir also prints the optimised IR; --bench N times N helper calls,
inlined and through the process symbol (ns per call).";

#[repr(C)]
struct WrappedValue {
    kind: i32,
    as_int: i32,
}

/// How often the C++ helpers called back into this program.
static OBSERVED: AtomicI32 = AtomicI32::new(0);

/// The host function the C++ helpers call (`host_observe`, registry.h): counts the calls.
extern "C" fn host_observe(value: i32) -> i32 {
    OBSERVED.fetch_add(1, Ordering::Relaxed);
    value
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    if matches!(args.as_slice(), ["-h" | "--help"]) {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    // A first argument that is not a flag is the bitcode file.
    let (bitcode, rest) = match args.as_slice() {
        [first, rest @ ..] if !first.starts_with('-') => (Some(*first), rest),
        rest => (None, rest),
    };
    let result = match rest {
        [] => demo(bitcode, false),
        ["--print-ir"] => demo(bitcode, true),
        ["--bench", n] => match n.parse() {
            Ok(n) => bench(bitcode, n),
            Err(_) => {
                eprintln!("error: --bench takes a number of calls, not `{n}`");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The helpers as `jit`'s IPO runtime: from the file `bitcode`, or the ones this binary carries.
fn runtime(jit: &Jit, bitcode: Option<&str>) -> Result<IpoRuntime, Error> {
    match bitcode {
        Some(path) => jit.add_ipo_runtime(path),
        None => jit.add_ipo_runtime_bitcode("wrapped.bc (built in)", BUILT_HELPERS),
    }
}

fn demo(bitcode: Option<&str>, print_ir: bool) -> Result<(), Error> {
    let mut builder = Jit::builder();
    builder.host_function("host_observe", host_observe as extern "C" fn(i32) -> i32);
    // SAFETY: the only modules with constructors and destructors are the C++ helpers this
    // binary carries (registry.cpp): they build and free a std::string and a std::vector, and
    // the destructor prints one line.
    unsafe {
        builder.run_constructors(true);
    }
    let jit = builder.build()?;
    let value = wrapped(&jit, bitcode, print_ir)?;

    // The forum's C++ helpers: their global objects are constructed when the runtime is added.
    let registry = jit.add_ipo_runtime_bitcode("registry.bc (built in)", BUILT_REGISTRY)?;
    let module = jit.parse_module("registry.ll", REGISTRY.as_bytes())?;
    jit.add_module_with_runtime(module, &registry)?;
    let record = jit.lookup::<extern "C" fn(i32) -> i64>("record_value")?;
    // SAFETY: record_value (registry.ll) passes an integer to RegistryRecord, which pushes it
    // onto the registry's vector and calls host_observe.
    let recorded = unsafe { record.call(value) };
    let name = jit.lookup::<extern "C" fn() -> *const c_char>("RegistryName")?;
    // SAFETY: RegistryName returns the global std::string's buffer, NUL-terminated, which lives
    // as long as the JIT (the string is only read here, while the JIT lives).
    let name = unsafe { CStr::from_ptr(name.call()) }
        .to_string_lossy()
        .into_owned();
    println!(
        "C++ helpers: global registry \"{name}\" constructed · values recorded: {recorded} · \
         host_observe calls: {}",
        OBSERVED.load(Ordering::Relaxed)
    );
    // Runs the registry's destructor (it prints its line), before the JIT's memory goes.
    drop(jit);
    Ok(())
}

/// The forum's f_WRAPPED with the C helpers of `bitcode` (or the built-in ones) inlined: prints
/// its line and returns the unwrapped value.
fn wrapped(jit: &Jit, bitcode: Option<&str>, print_ir: bool) -> Result<i32, Error> {
    let runtime = runtime(jit, bitcode)?;
    let module = jit.parse_module("wrapped.ll", WRAPPED.as_bytes())?;
    let optimized = jit.optimize_with_runtime(module, &runtime)?;
    let inlined = !optimized.calls("f_WRAPPED", "CreateWrappedValueFromInt");
    if print_ir {
        eprintln!("{}", optimized.to_ir());
    }
    jit.add_module(optimized)?;
    let wrapped =
        jit.lookup::<extern "C" fn(*mut u8, *mut u8) -> *mut WrappedValue>("f_WRAPPED")?;
    // SAFETY: f_WRAPPED (this file's IR) ignores its arguments and returns a new box from the
    // helper library.
    let boxed = unsafe { wrapped.call(std::ptr::null_mut(), std::ptr::null_mut()) };
    if boxed.is_null() {
        return Err(Error::Llvm(
            "CreateWrappedValueFromInt returned NULL (out of memory)".into(),
        ));
    }
    // SAFETY: the helper returned a live, initialised WrappedValue.
    let value = unsafe { (*boxed).as_int };
    let free = jit.lookup::<extern "C" fn(*mut WrappedValue)>("WrappedValueFree")?;
    // SAFETY: `boxed` came from CreateWrappedValueFromInt and is freed once, here.
    unsafe { free.call(boxed) };
    let count = jit.lookup::<extern "C" fn() -> i64>("WrappedValueCreateCount")?;
    // SAFETY: the helper only reads its counter.
    let calls = unsafe { count.call() };
    println!(
        "f_WRAPPED() = {value} · helper call inlined: {} · CreateWrappedValueFromInt calls: {calls}",
        if inlined { "yes" } else { "no" }
    );
    Ok(value)
}

/// Nanoseconds per call of `scale_loop(n)` looked up in `jit`.
fn time_loop(jit: &Jit, n: i64) -> Result<(f64, i64), Error> {
    let scale_loop = jit.lookup::<extern "C" fn(i64) -> i64>("scale_loop")?;
    let start = Instant::now();
    // SAFETY: scale_loop (this file's IR) only does arithmetic through the C helper.
    let result = std::hint::black_box(unsafe { scale_loop.call(std::hint::black_box(n)) });
    Ok((start.elapsed().as_nanos() as f64 / n as f64, result))
}

fn bench(bitcode: Option<&str>, n: i64) -> Result<(), Error> {
    let inlined_jit = Jit::new()?;
    let runtime = runtime(&inlined_jit, bitcode)?;
    let module = inlined_jit.parse_module("scale_loop.ll", SCALE_LOOP.as_bytes())?;
    let optimized = inlined_jit.optimize_with_runtime(module, &runtime)?;
    // A benchmark of inlining that did not inline would measure nothing.
    if optimized.calls("scale_loop", "WrappedScale") {
        return Err(Error::Llvm(
            "scale_loop still calls WrappedScale after the IPO pipeline: not inlined".into(),
        ));
    }
    inlined_jit.add_module(optimized)?;

    // No IPO: WrappedScale is this binary's own (statically linked, exported) symbol.
    let plain_jit = Jit::new()?;
    plain_jit.add_module(plain_jit.parse_module("scale_loop.ll", SCALE_LOOP.as_bytes())?)?;

    // In the order inlined, plain, plain, inlined: each side once first and once second.
    let (inlined_1, a) = time_loop(&inlined_jit, n)?;
    let (plain_1, b) = time_loop(&plain_jit, n)?;
    let (plain_2, c) = time_loop(&plain_jit, n)?;
    let (inlined_2, d) = time_loop(&inlined_jit, n)?;
    if a != b || b != c || c != d {
        return Err(Error::Llvm(format!(
            "the loops disagree: {a}, {b}, {c}, {d}"
        )));
    }
    let (inlined, plain) = ((inlined_1 + inlined_2) / 2.0, (plain_1 + plain_2) / 2.0);
    println!("inlined {inlined:.4} plain {plain:.4} result {a}");
    Ok(())
}
