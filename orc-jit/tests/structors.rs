//! Global constructors run when a module is added (in priority order, like lli), destructors
//! when it is removed or the JIT dropped, in-process and through a worker; only when allowed.

use std::sync::Mutex;

use orc_jit::{Error, Jit, WorkerProgram};

static CALLS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

extern "C" fn record(what: i32) {
    CALLS.lock().unwrap().push(what);
}

/// Constructors of priority 200 (records 2, sets @g to 99) and 100 (records 1), listed in that
/// order; a destructor (records -1).
const MODULE: &str = "@g = global i32 0\n\
    @llvm.global_ctors = appending global [2 x { i32, void ()*, i8* }] [{ i32, void ()*, i8* } { i32 200, void ()* @late, i8* null }, { i32, void ()*, i8* } { i32 100, void ()* @early, i8* null }]\n\
    @llvm.global_dtors = appending global [1 x { i32, void ()*, i8* }] [{ i32, void ()*, i8* } { i32 65535, void ()* @bye, i8* null }]\n\
    declare void @record(i32)\n\
    define internal void @early() {\nentry:\n  call void @record(i32 1)\n  ret void\n}\n\
    define internal void @late() {\nentry:\n  call void @record(i32 2)\n  store i32 99, i32* @g\n  ret void\n}\n\
    define internal void @bye() {\nentry:\n  call void @record(i32 -1)\n  ret void\n}\n\
    define i32 @f() {\nentry:\n  %v = load i32, i32* @g\n  ret i32 %v\n}\n";

fn jit(allowed: bool) -> Jit {
    let mut builder = Jit::builder();
    builder
        .host_function("record", record as extern "C" fn(i32))
        .compile_worker(WorkerProgram::Path(
            env!("CARGO_BIN_EXE_orc-jit-worker").into(),
        ));
    if allowed {
        // SAFETY: this file's constructors and destructors only call `record` and store to
        // their own global.
        unsafe { builder.run_constructors(true) };
    }
    builder.build().unwrap()
}

fn f(jit: &Jit) -> i32 {
    let f = jit.lookup::<extern "C" fn() -> i32>("f").unwrap();
    // SAFETY: f reads its own global.
    unsafe { f.call() }
}

// One test, so the calls of the in-process and the isolated runs do not interleave.
#[test]
fn constructors_and_destructors_run_in_order_when_allowed() {
    for isolated in [false, true] {
        CALLS.lock().unwrap().clear();
        let mut jit = jit(true);
        let handle = if isolated {
            jit.add_module_isolated("ctors.ll", MODULE.as_bytes())
                .unwrap()
        } else {
            jit.add_module(jit.parse_module("ctors.ll", MODULE.as_bytes()).unwrap())
                .unwrap()
        };
        assert_eq!(*CALLS.lock().unwrap(), [1, 2], "isolated: {isolated}");
        assert_eq!(f(&jit), 99);
        jit.remove_module(&handle).unwrap();
        assert_eq!(*CALLS.lock().unwrap(), [1, 2, -1], "isolated: {isolated}");

        // Dropping the JIT runs the destructors of what is still there.
        CALLS.lock().unwrap().clear();
        let jit = self::jit(true);
        jit.add_module(jit.parse_module("ctors.ll", MODULE.as_bytes()).unwrap())
            .unwrap();
        drop(jit);
        assert_eq!(*CALLS.lock().unwrap(), [1, 2, -1]);
    }

    // Not allowed: refused by name, nothing runs.
    CALLS.lock().unwrap().clear();
    let jit = jit(false);
    let err = jit
        .add_module(jit.parse_module("ctors.ll", MODULE.as_bytes()).unwrap())
        .unwrap_err();
    assert!(matches!(err, Error::Constructors { .. }), "{err:?}");
    assert!(err.to_string().contains("run_constructors"), "{err}");
    let err = jit
        .add_module_isolated("ctors.ll", MODULE.as_bytes())
        .unwrap_err();
    assert!(matches!(err, Error::Constructors { .. }), "{err:?}");
    assert!(CALLS.lock().unwrap().is_empty());
}
