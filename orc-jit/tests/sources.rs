//! Every symbol source, against real artifacts: a .so loaded by path, a .a linked into the JIT,
//! Rust host functions, a custom lookup, the process — and their errors.

mod common;

use common::{CALLS_EXTERNAL, c_library, scratch};
use orc_jit::{Error, Jit};

fn call_f(jit: &Jit, ir: &str) -> Result<i32, Error> {
    jit.add_module(jit.parse_module("m.ll", ir.as_bytes())?)?;
    let f = jit.lookup::<extern "C" fn() -> i32>("f")?;
    // SAFETY: each test's `f` calls a C helper or a host function with plain integers.
    Ok(unsafe { f.call() })
}

#[test]
fn shared_library_by_path_without_process_symbols() {
    let jit = Jit::builder()
        .process_symbols(false)
        .shared_library(&c_library().shared_lib)
        .build()
        .unwrap();
    assert_eq!(call_f(&jit, CALLS_EXTERNAL).unwrap(), 42);
}

#[test]
fn static_archive_linked_into_the_jit_functions_and_globals() {
    let jit = Jit::builder()
        .static_archive(&c_library().static_lib)
        .build()
        .unwrap();
    assert_eq!(call_f(&jit, CALLS_EXTERNAL).unwrap(), 42);
    // The archive's global variable, shared by its functions and by JIT code.
    let ir = "@external_counter = external global i64\ndeclare i64 @external_accumulate(i64)\n\ndefine i64 @g() {\nentry:\n  %a = call i64 @external_accumulate(i64 5)\n  %b = call i64 @external_accumulate(i64 7)\n  %c = load i64, i64* @external_counter\n  %s = add i64 %b, %c\n  ret i64 %s\n}\n";
    jit.add_module(jit.parse_module("g.ll", ir.as_bytes()).unwrap())
        .unwrap();
    let g = jit.lookup::<extern "C" fn() -> i64>("g").unwrap();
    // SAFETY: g calls the archive's accumulate and reads its counter.
    assert_eq!(unsafe { g.call() }, 24);
}

extern "C" fn host_add(a: i32, b: i32) -> i32 {
    a + b
}

extern "C" fn host_abs_is_mine(x: i32) -> i32 {
    1000 + x
}

#[test]
fn rust_host_functions_come_first() {
    let jit = Jit::builder()
        .host_function("host_add", host_add as extern "C" fn(i32, i32) -> i32)
        // Shadows libc's abs, which the process source would find: host functions win.
        .host_function("abs", host_abs_is_mine as extern "C" fn(i32) -> i32)
        .build()
        .unwrap();
    let ir = "declare i32 @host_add(i32, i32)\ndeclare i32 @abs(i32)\n\ndefine i32 @f() {\nentry:\n  %a = call i32 @host_add(i32 40, i32 2)\n  %b = call i32 @abs(i32 -1)\n  %r = add i32 %a, %b\n  ret i32 %r\n}\n";
    assert_eq!(call_f(&jit, ir).unwrap(), 42 + 999);
}

extern "C" fn doubled(x: i32) -> i32 {
    2 * x
}

#[test]
fn custom_lookup_callback() {
    let mut builder = Jit::builder();
    // SAFETY: the one address returned is `doubled`, an `i32 (i32)` function as declared.
    unsafe {
        builder.symbol_lookup(|name| {
            (name == "external_function")
                .then_some(doubled as extern "C" fn(i32) -> i32 as usize as u64)
        })
    };
    let jit = builder.process_symbols(false).build().unwrap();
    assert_eq!(call_f(&jit, CALLS_EXTERNAL).unwrap(), 42);
}

#[test]
fn a_panicking_lookup_is_a_missing_symbol_not_an_abort() {
    let mut builder = Jit::builder();
    // SAFETY: the callback returns no address at all.
    unsafe { builder.symbol_lookup(|name| panic!("lookup of {name} panicked")) };
    let jit = builder.process_symbols(false).build().unwrap();
    let err = call_f(&jit, CALLS_EXTERNAL).unwrap_err();
    assert!(matches!(err, Error::MissingSymbols { .. }), "{err:?}");
}

#[test]
fn missing_symbol_names_every_source_searched_in_order() {
    let lib = &c_library().shared_lib;
    let jit = Jit::builder()
        .static_archive(&c_library().static_lib)
        .shared_library(lib)
        .host_function("host_add", host_add as extern "C" fn(i32, i32) -> i32)
        .build()
        .unwrap();
    let ir = "declare i32 @nowhere_a(i32)\ndeclare i32 @nowhere_b(i32)\n\ndefine i32 @f() {\nentry:\n  %a = call i32 @nowhere_a(i32 1)\n  %b = call i32 @nowhere_b(i32 %a)\n  ret i32 %b\n}\n";
    match call_f(&jit, ir).unwrap_err() {
        Error::MissingSymbols { symbols, hint } => {
            assert_eq!(symbols, ["nowhere_a", "nowhere_b"]);
            let order = [
                "host functions (host_add)",
                "shared library",
                "static archive",
                "this process",
            ];
            let positions: Vec<usize> = order
                .iter()
                .map(|s| hint.find(s).unwrap_or_else(|| panic!("{s}: {hint}")))
                .collect();
            assert!(positions.windows(2).all(|w| w[0] < w[1]), "{hint}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_missing_or_broken_library_is_a_named_error() {
    let missing = std::path::Path::new("/nonexistent/libgone.so");
    let corrupt_archive = scratch(
        "corrupt.a",
        b"!<arch>\nthis is not a member header at all\n",
    );
    let not_a_library = scratch("not-a-library.so", b"hello\n");
    for (builder, path) in [
        (
            Jit::builder().shared_library(missing).clone(),
            missing.to_path_buf(),
        ),
        (
            Jit::builder().static_archive(missing).clone(),
            missing.to_path_buf(),
        ),
        (
            Jit::builder().static_archive(&corrupt_archive).clone(),
            corrupt_archive.clone(),
        ),
        (
            Jit::builder().shared_library(&not_a_library).clone(),
            not_a_library.clone(),
        ),
    ] {
        let err = builder.build().unwrap_err();
        assert!(matches!(err, Error::Library { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }
}

/// A buffer passed to C by pointer and a C global used through a pointer, in typed-pointer IR
/// (every version reads it; from LLVM 15 on as opaque pointers) and, where the version has
/// them, in opaque-pointer IR.
#[test]
fn pointers_to_c_typed_and_opaque() {
    let typed = "@external_counter = external global i64\n\
        @values = constant [4 x i64] [i64 1, i64 2, i64 3, i64 4]\n\
        declare i64 @external_sum(i64*, i64)\n\
        define i64 @sum_global() {\nentry:\n  %p = getelementptr [4 x i64], [4 x i64]* @values, i64 0, i64 0\n  %s = call i64 @external_sum(i64* %p, i64 4)\n  ret i64 %s\n}\n\
        define i64 @sum_buffer(i64* %p, i64 %n) {\nentry:\n  %s = call i64 @external_sum(i64* %p, i64 %n)\n  ret i64 %s\n}\n\
        define i64 @bump_counter(i64 %by) {\nentry:\n  %c = load i64, i64* @external_counter\n  %n = add i64 %c, %by\n  store i64 %n, i64* @external_counter\n  ret i64 %n\n}\n";
    let opaque = "@external_counter = external global i64\n\
        declare i64 @external_sum(ptr, i64)\n\
        define i64 @sum_buffer(ptr %p, i64 %n) {\nentry:\n  %s = call i64 @external_sum(ptr %p, i64 %n)\n  ret i64 %s\n}\n\
        define i64 @bump_counter(i64 %by) {\nentry:\n  %c = load i64, ptr @external_counter\n  %n = add i64 %c, %by\n  store i64 %n, ptr @external_counter\n  ret i64 %n\n}\n";
    let mut modules = vec![("typed.ll", typed)];
    if orc_jit::LLVM_VERSION >= 15 {
        modules.push(("opaque.ll", opaque));
    }
    for (name, ir) in modules {
        // The archive linked into the JIT: its own copy of external_counter, starting at 0.
        let jit = Jit::builder()
            .process_symbols(false)
            .static_archive(&c_library().static_lib)
            .build()
            .unwrap();
        jit.add_module(jit.parse_module(name, ir.as_bytes()).unwrap())
            .unwrap();
        let buffer: Vec<i64> = (1..=100).collect();
        let sum = jit
            .lookup::<extern "C" fn(*const i64, i64) -> i64>("sum_buffer")
            .unwrap();
        // SAFETY: sum_buffer passes the pointer and length on to external_sum, which reads
        // exactly `n` values of the live buffer.
        assert_eq!(unsafe { sum.call(buffer.as_ptr(), 100) }, 5050, "{name}");
        let bump = jit
            .lookup::<extern "C" fn(i64) -> i64>("bump_counter")
            .unwrap();
        // SAFETY: bump_counter reads and writes the archive's counter.
        assert_eq!(unsafe { (bump.call(5), bump.call(7)) }, (5, 12), "{name}");
        if name == "typed.ll" {
            let global = jit.lookup::<extern "C" fn() -> i64>("sum_global").unwrap();
            // SAFETY: sum_global sums its own constant array.
            assert_eq!(unsafe { global.call() }, 10);
        }
    }
}
