//! Inlining C helpers from bitcode into JIT modules, with one instance of every helper global.

mod common;

use common::{WRAPPED, helper_bitcode, scratch};
use orc_jit::{Error, Jit};

#[repr(C)]
struct WrappedValue {
    kind: i32,
    as_int: i32,
}

type Wrapper = extern "C" fn(*mut u8, *mut u8) -> *mut u8;

/// A copy of the forum's module whose functions carry `suffix`, so many can live in one JIT.
fn wrapped_module(suffix: &str) -> String {
    WRAPPED
        .replace("@f_(", &format!("@f{suffix}_("))
        .replace("@f_()", &format!("@f{suffix}_()"))
        .replace("@f_WRAPPED", &format!("@f{suffix}_WRAPPED"))
}

fn count(jit: &Jit) -> i64 {
    let count = jit
        .lookup::<extern "C" fn() -> i64>("WrappedValueCreateCount")
        .unwrap();
    // SAFETY: the helper reads its counter.
    unsafe { count.call() }
}

/// Calls a wrapper function (`Wrapper`, which ignores its arguments and boxes an int).
fn call_wrapper(f: &orc_jit::Function<'_, Wrapper>) -> *mut u8 {
    // SAFETY: the forum's f_WRAPPED ignores its pointer arguments and returns a new box.
    unsafe { f.call(std::ptr::null_mut(), std::ptr::null_mut()) }
}

fn unwrap_and_free(jit: &Jit, boxed: *mut u8) -> i32 {
    let get = jit
        .lookup::<extern "C" fn(*const u8) -> i32>("WrappedValueGetInt")
        .unwrap();
    let free = jit
        .lookup::<extern "C" fn(*mut u8)>("WrappedValueFree")
        .unwrap();
    // SAFETY: `boxed` is a live box from the helper library, read and then freed once.
    unsafe {
        let value = get.call(boxed);
        free.call(boxed);
        value
    }
}

#[test]
fn the_helper_call_is_inlined_and_the_result_is_right() {
    let jit = Jit::new().unwrap();
    let runtime = jit.add_ipo_runtime(helper_bitcode()).unwrap();
    assert!(
        runtime
            .importable()
            .iter()
            .any(|f| f == "CreateWrappedValueFromInt")
    );
    let module = jit.parse_module("wrapped.ll", WRAPPED.as_bytes()).unwrap();
    assert!(module.calls("f_WRAPPED", "CreateWrappedValueFromInt"));
    let optimized = jit.optimize_with_runtime(module, &runtime).unwrap();
    assert!(
        !optimized.calls("f_WRAPPED", "CreateWrappedValueFromInt"),
        "{}",
        optimized.to_ir()
    );
    assert!(
        !optimized
            .to_ir()
            .contains("call %struct.WrappedValue* @CreateWrappedValueFromInt")
    );
    jit.add_module(optimized).unwrap();
    let wrapped = jit.lookup::<Wrapper>("f_WRAPPED").unwrap();
    let boxed = call_wrapper(&wrapped);
    // SAFETY: the helper returns a live WrappedValue.
    assert_eq!(unsafe { (*(boxed as *const WrappedValue)).kind }, 1);
    assert_eq!(unwrap_and_free(&jit, boxed), 23333);
}

#[test]
fn one_static_counter_for_the_runtime_and_every_module() {
    let jit = Jit::new().unwrap();
    let runtime = jit.add_ipo_runtime(helper_bitcode()).unwrap();
    for (i, suffix) in ["a", "b"].iter().enumerate() {
        let module = jit
            .parse_module("m.ll", wrapped_module(suffix).as_bytes())
            .unwrap();
        jit.add_module_with_runtime(module, &runtime).unwrap();
        let f = jit
            .lookup::<Wrapper>(&format!("f{suffix}_WRAPPED"))
            .unwrap();
        unwrap_and_free(&jit, call_wrapper(&f));
        assert_eq!(count(&jit), i as i64 + 1);
    }
    // The runtime's own, out-of-line copy updates the same counter.
    let create = jit
        .lookup::<extern "C" fn(i32) -> *mut u8>("CreateWrappedValueFromInt")
        .unwrap();
    // SAFETY: the helper allocates and fills a box.
    unwrap_and_free(&jit, unsafe { create.call(7) });
    assert_eq!(count(&jit), 3);
}

#[test]
fn a_hundred_modules_import_the_same_helpers_and_one_can_be_removed() {
    let mut jit = Jit::new().unwrap();
    let runtime = jit.add_ipo_runtime(helper_bitcode()).unwrap();
    let mut handles = Vec::new();
    for i in 0..100 {
        let module = jit
            .parse_module("m.ll", wrapped_module(&i.to_string()).as_bytes())
            .unwrap();
        handles.push(jit.add_module_with_runtime(module, &runtime).unwrap());
    }
    for i in 0..100 {
        let f = jit.lookup::<Wrapper>(&format!("f{i}_WRAPPED")).unwrap();
        assert_eq!(unwrap_and_free(&jit, call_wrapper(&f)), 23333);
    }
    assert_eq!(count(&jit), 100);
    jit.remove_module(&handles.remove(50)).unwrap();
    assert!(jit.lookup::<Wrapper>("f50_WRAPPED").is_err());
    for i in [0, 49, 51, 99] {
        let f = jit.lookup::<Wrapper>(&format!("f{i}_WRAPPED")).unwrap();
        assert_eq!(unwrap_and_free(&jit, call_wrapper(&f)), 23333);
    }
    assert_eq!(count(&jit), 104);
}

#[test]
fn bad_helper_bitcode_is_a_clear_error() {
    let jit = Jit::new().unwrap();
    let good = std::fs::read(helper_bitcode()).unwrap();

    let mut corrupt = good.clone();
    corrupt.truncate(good.len() / 2);
    let err = jit
        .add_ipo_runtime_bitcode("corrupt.bc", &corrupt)
        .unwrap_err();
    assert!(matches!(err, Error::Parse { .. }), "{err:?}");
    assert!(err.to_string().starts_with("corrupt.bc"), "{err}");

    // Genuine bitcode of LLVM 15 and 22 (tests/data): refused, with the producer named, by
    // every older JIT; read by the same version and later ones.
    for (name, bytes, producer) in [
        (
            "llvm15.bc",
            &include_bytes!("data/llvm15-answer.bc")[..],
            15,
        ),
        (
            "llvm22.bc",
            &include_bytes!("data/llvm22-answer.bc")[..],
            22,
        ),
    ] {
        let fresh = Jit::new().unwrap();
        let result = fresh.add_ipo_runtime_bitcode(name, bytes);
        if orc_jit::LLVM_VERSION < producer {
            let err = result.unwrap_err();
            assert!(matches!(err, Error::Parse { .. }), "{err:?}");
            let msg = err.to_string();
            assert!(
                msg.starts_with(name) && msg.contains(&format!("Producer: 'LLVM{producer}")),
                "{msg}"
            );
        } else {
            result.unwrap();
        }
    }

    let unverifiable = "define i32 @h() {\nentry:\n  br label %next\nnext:\n  %x = add i32 %y, 1\n  %y = add i32 %x, 1\n  ret i32 %x\n}\n";
    let path = scratch("unverifiable-helper.ll", unverifiable.as_bytes());
    let err = jit.add_ipo_runtime(&path).unwrap_err();
    assert!(matches!(err, Error::Verify { .. }), "{err:?}");

    // The JIT is still fine.
    let runtime = jit.add_ipo_runtime_bitcode("good.bc", &good).unwrap();
    let module = jit.parse_module("wrapped.ll", WRAPPED.as_bytes()).unwrap();
    jit.add_module_with_runtime(module, &runtime).unwrap();
}

#[test]
fn a_runtime_or_module_of_another_jit_is_refused() {
    let first = Jit::new().unwrap();
    let second = Jit::new().unwrap();
    let runtime = first.add_ipo_runtime(helper_bitcode()).unwrap();
    let module = second
        .parse_module("wrapped.ll", WRAPPED.as_bytes())
        .unwrap();
    let err = second.optimize_with_runtime(module, &runtime).unwrap_err();
    assert!(matches!(err, Error::Ipo { .. }), "{err:?}");
    assert!(err.to_string().contains("another JIT"), "{err}");
    let module = first
        .parse_module("wrapped.ll", WRAPPED.as_bytes())
        .unwrap();
    let own_runtime = second.add_ipo_runtime(helper_bitcode()).unwrap();
    let err = second
        .optimize_with_runtime(module, &own_runtime)
        .unwrap_err();
    assert!(matches!(err, Error::ForeignModule { .. }), "{err:?}");
}

/// (From the adversarial review; typed pointers, which LLVM 14 needs and later versions read as
/// `ptr`.) A C helper with a lazily made static (as a C++ function-local static is): the first `get()`
/// allocates it and registers its cleanup with `__cxa_atexit` and the runtime's `__dso_handle`;
/// the cleanup frees it (and, as C++ does with a guard, does not reset `buf`).
const LAZY_STATIC_RUNTIME: &str = "@__dso_handle = external hidden global i8\n\
    @buf = internal global i32* null\n\
    declare i32 @__cxa_atexit(void (i8*)*, i8*, i8*)\n\
    declare i8* @malloc(i64)\n\
    declare void @free(i8*)\n\
    define internal void @cleanup(i8* %unused) {\nentry:\n  %b = load i32*, i32** @buf\n  %c = bitcast i32* %b to i8*\n  call void @free(i8* %c)\n  ret void\n}\n\
    define i32 @get() {\nentry:\n  %b = load i32*, i32** @buf\n  %none = icmp eq i32* %b, null\n  br i1 %none, label %init, label %done\n\
    init:\n  %m = call i8* @malloc(i64 64)\n  %mi = bitcast i8* %m to i32*\n  store i32 42, i32* %mi\n  store i32* %mi, i32** @buf\n  %r = call i32 @__cxa_atexit(void (i8*)* @cleanup, i8* null, i8* @__dso_handle)\n  br label %done\n\
    done:\n  %p = load i32*, i32** @buf\n  %v = load i32, i32* %p\n  ret i32 %v\n}\n";

const LAZY_STATIC_USER: &str = "declare i32 @get()\ndefine i32 @use_NAME() {\nentry:\n  %v = call i32 @get()\n  ret i32 %v\n}\n";

#[test]
fn an_inlined_helpers_exit_handler_belongs_to_the_runtime_not_the_module() {
    let mut jit = Jit::new().unwrap();
    let runtime = jit
        .add_ipo_runtime_bitcode("runtime.ll", LAZY_STATIC_RUNTIME.as_bytes())
        .unwrap();
    let m = jit
        .parse_module("m.ll", LAZY_STATIC_USER.replace("NAME", "m").as_bytes())
        .unwrap();
    let m = jit.add_module_with_runtime(m, &runtime).unwrap();
    {
        let f = jit.lookup::<extern "C" fn() -> i32>("use_m").unwrap();
        // SAFETY: sound C: reads the helper's static.
        assert_eq!(unsafe { f.call() }, 42);
    }
    // Removing the module runs the runtime's cleanup: the runtime's static is freed while the
    // runtime (and `buf`, which still points to it) stays.
    jit.remove_module(&m).unwrap();
    let n = jit
        .parse_module("n.ll", LAZY_STATIC_USER.replace("NAME", "n").as_bytes())
        .unwrap();
    jit.add_module_with_runtime(n, &runtime).unwrap();
    let f = jit.lookup::<extern "C" fn() -> i32>("use_n").unwrap();
    // SAFETY: sound C, as above: the static was made once and is never freed while in use.
    let v = unsafe { f.call() };
    println!("use_n() = {v}");
    assert_eq!(v, 42, "the helper's static was freed under it");
}
