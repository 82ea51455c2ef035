//! What JIT code hands the C runtime stays the JIT's: exit handlers (`__cxa_atexit`, `atexit`)
//! and thread-local destructors (`__cxa_thread_atexit`) run exactly once, the last registered
//! first, when their module is removed, when the JIT is dropped, or at process exit for a JIT
//! that was leaked, and never after their code is freed; thread-locals are per thread (emulated
//! TLS), in-process and isolated alike.

use std::sync::{Barrier, Mutex};

use orc_jit::{Error, Jit, WorkerProgram};

/// What the handlers record, per test (each test uses its own range of values).
static CALLS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

extern "C" fn record(what: i32) {
    CALLS.lock().unwrap().push(what);
}

fn calls_in(range: std::ops::Range<i32>) -> Vec<i32> {
    CALLS
        .lock()
        .unwrap()
        .iter()
        .copied()
        .filter(|c| range.contains(c))
        .collect()
}

fn jit() -> Jit {
    Jit::builder()
        .host_function("record", record as extern "C" fn(i32))
        .compile_worker(WorkerProgram::Path(
            env!("CARGO_BIN_EXE_orc-jit-worker").into(),
        ))
        .build()
        .unwrap()
}

fn add(jit: &Jit, isolated: bool, name: &str, ir: &str) -> orc_jit::ModuleHandle {
    if isolated {
        jit.add_module_isolated(name, ir.as_bytes()).unwrap()
    } else {
        jit.add_module(jit.parse_module(name, ir.as_bytes()).unwrap())
            .unwrap()
    }
}

/// A module whose `register_<tag>(v)` registers `record(v)` with `__cxa_atexit` (as C++ does
/// for a global's destructor) and whose `plain_<tag>()` registers `record(<plain>)` with
/// `atexit`. Typed-pointer IR, which every LLVM version reads.
fn exits_module(tag: &str, plain: i32) -> String {
    format!(
        "@__dso_handle = external hidden global i8\n\
         declare i32 @__cxa_atexit(void (i8*)*, i8*, i8*)\n\
         declare i32 @atexit(void ()*)\n\
         declare void @record(i32)\n\
         define internal void @handler(i8* %arg) {{\nentry:\n  %v = ptrtoint i8* %arg to i32\n  call void @record(i32 %v)\n  ret void\n}}\n\
         define internal void @plain() {{\nentry:\n  call void @record(i32 {plain})\n  ret void\n}}\n\
         define i32 @register_{tag}(i32 %v) {{\nentry:\n  %p = inttoptr i32 %v to i8*\n  %r = call i32 @__cxa_atexit(void (i8*)* @handler, i8* %p, i8* @__dso_handle)\n  ret i32 %r\n}}\n\
         define i32 @plain_{tag}() {{\nentry:\n  %r = call i32 @atexit(void ()* @plain)\n  ret i32 %r\n}}\n"
    )
}

fn register(jit: &Jit, tag: &str, value: i32) {
    let f = jit
        .lookup::<extern "C" fn(i32) -> i32>(&format!("register_{tag}"))
        .unwrap();
    // SAFETY: registers `record(value)` as an exit handler of its own module.
    assert_eq!(unsafe { f.call(value) }, 0);
}

fn register_plain(jit: &Jit, tag: &str) {
    let f = jit
        .lookup::<extern "C" fn() -> i32>(&format!("plain_{tag}"))
        .unwrap();
    // SAFETY: registers a handler that calls `record`.
    assert_eq!(unsafe { f.call() }, 0);
}

#[test]
fn exit_handlers_run_once_the_last_first_on_removal_and_drop() {
    for (isolated, base) in [(false, 1000), (true, 2000)] {
        let range = base..base + 1000;
        let mut jit = jit();
        let handle = add(&jit, isolated, "exits.ll", &exits_module("a", base + 100));
        register(&jit, "a", base + 1);
        register(&jit, "a", base + 2);
        register_plain(&jit, "a");
        assert!(calls_in(range.clone()).is_empty(), "nothing runs before");
        jit.remove_module(&handle).unwrap();
        assert_eq!(
            calls_in(range.clone()),
            [base + 100, base + 2, base + 1],
            "isolated: {isolated}"
        );
        // Removed and gone: the JIT's drop runs none of them again.
        drop(jit);
        assert_eq!(calls_in(range.clone()).len(), 3, "exactly once");

        // At drop, every module's remaining handlers, in the reverse order of registration
        // across modules.
        let jit = self::jit();
        add(&jit, isolated, "a.ll", &exits_module("a", base + 500));
        add(&jit, isolated, "b.ll", &exits_module("b", base + 600));
        register(&jit, "a", base + 11);
        register(&jit, "b", base + 12);
        register_plain(&jit, "a");
        register(&jit, "a", base + 13);
        drop(jit);
        assert_eq!(
            calls_in(range)[3..],
            [base + 13, base + 500, base + 12, base + 11],
            "isolated: {isolated}"
        );
    }
}

/// Thread-locals with an initial value, read and written by `get`/`set`; `@shared` is read by
/// another module.
const TLS: &str = "@t = thread_local global i32 5\n\
    @shared = thread_local global i64 7\n\
    define i32 @get() {\nentry:\n  %v = load i32, i32* @t\n  ret i32 %v\n}\n\
    define void @set(i32 %v) {\nentry:\n  store i32 %v, i32* @t\n  ret void\n}\n\
    define void @set_shared(i64 %v) {\nentry:\n  store i64 %v, i64* @shared\n  ret void\n}\n";

const TLS_READER: &str = "@shared = external thread_local global i64\n\
    define i64 @read_shared() {\nentry:\n  %p = getelementptr i64, i64* @shared, i64 0\n  %v = load i64, i64* %p\n  ret i64 %v\n}\n";

#[test]
fn each_of_eight_threads_sees_its_own_thread_locals_and_their_initial_values() {
    for isolated in [false, true] {
        let jit = jit();
        add(&jit, isolated, "tls.ll", TLS);
        add(&jit, isolated, "reader.ll", TLS_READER);
        let get = jit.lookup::<extern "C" fn() -> i32>("get").unwrap();
        let set = jit.lookup::<extern "C" fn(i32)>("set").unwrap();
        let set_shared = jit.lookup::<extern "C" fn(i64)>("set_shared").unwrap();
        let read_shared = jit.lookup::<extern "C" fn() -> i64>("read_shared").unwrap();
        let barrier = Barrier::new(8);
        std::thread::scope(|s| {
            for i in 0..8 {
                let (get, set, set_shared, read_shared, barrier) =
                    (&get, &set, &set_shared, &read_shared, &barrier);
                s.spawn(move || {
                    // SAFETY: the functions read and write this thread's thread-locals.
                    unsafe {
                        assert_eq!(get.call(), 5, "a new thread sees the initial value");
                        assert_eq!(read_shared.call(), 7);
                        set.call(100 + i);
                        set_shared.call(1000 + i as i64);
                        barrier.wait();
                        assert_eq!(get.call(), 100 + i, "isolated: {isolated}");
                        assert_eq!(read_shared.call(), 1000 + i as i64, "across modules");
                    }
                });
            }
        });
        // SAFETY: as above, on this thread.
        unsafe {
            assert_eq!(get.call(), 5, "the main thread's copy was never written");
        }
    }
}

/// A C++-style `thread_local` object with a destructor: `touch(v)` stores `v` in this thread's
/// object and, the first time on a thread, registers its destructor (which records the value)
/// with `__cxa_thread_atexit`, as clang does. Typed pointers, with constant-expression casts of
/// the thread-local (what LLVM 14's clang writes).
const THREAD_DTOR: &str = "@__dso_handle = external hidden global i8\n\
    @object = thread_local global i32 0\n\
    @guard = internal thread_local global i1 false\n\
    declare i32 @__cxa_thread_atexit(void (i8*)*, i8*, i8*)\n\
    declare void @record(i32)\n\
    define internal void @destroy(i8* %p) {\nentry:\n  %q = bitcast i8* %p to i32*\n  %v = load i32, i32* %q\n  call void @record(i32 %v)\n  ret void\n}\n\
    define i32 @touch(i32 %v) {\nentry:\n  %g = load i1, i1* @guard\n  br i1 %g, label %done, label %first\n\
    first:\n  store i1 true, i1* @guard\n  %r = call i32 @__cxa_thread_atexit(void (i8*)* @destroy, i8* bitcast (i32* @object to i8*), i8* @__dso_handle)\n  br label %done\n\
    done:\n  store i32 %v, i32* @object\n  ret i32 %v\n}\n";

fn touch(jit: &Jit, value: i32) {
    let f = jit.lookup::<extern "C" fn(i32) -> i32>("touch").unwrap();
    // SAFETY: touch writes this thread's object and registers its destructor.
    assert_eq!(unsafe { f.call(value) }, value);
}

/// `touch(value)` on a new thread, which has exited (thread-local destructors included: a
/// scoped thread's scope can end before them) when this returns.
fn touch_on_a_thread(jit: &Jit, value: i32) {
    let jit_ptr = jit as *const Jit as usize;
    std::thread::spawn(move || {
        // SAFETY: the caller's JIT outlives the thread, which is joined before returning.
        let jit = unsafe { &*(jit_ptr as *const Jit) };
        touch(jit, value);
    })
    .join()
    .unwrap();
}

#[test]
fn thread_local_destructors_run_at_thread_exit_never_after_their_code_is_gone() {
    for (isolated, base) in [(false, 3000), (true, 4000)] {
        let range = base..base + 1000;
        let mut jit = jit();
        let handle = add(&jit, isolated, "thread-dtor.ll", THREAD_DTOR);
        // A thread that ends runs its object's destructor.
        touch_on_a_thread(&jit, base + 1);
        assert_eq!(calls_in(range.clone()), [base + 1]);

        // One thread's object is not another's.
        touch_on_a_thread(&jit, base + 2);
        assert_eq!(calls_in(range.clone()), [base + 1, base + 2]);

        // This thread's own object is destroyed when the module is removed.
        touch(&jit, base + 3);
        jit.remove_module(&handle).unwrap();
        assert_eq!(calls_in(range.clone()), [base + 1, base + 2, base + 3]);
    }
}

#[test]
fn a_module_with_thread_locals_alive_on_another_thread_is_not_removed_until_it_exits() {
    let range = 5000..6000;
    let mut jit = jit();
    let handle = add(&jit, false, "thread-dtor.ll", THREAD_DTOR);
    let jit_ptr = &jit as *const Jit as usize;
    let (touched, is_touched) = std::sync::mpsc::channel::<()>();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        // SAFETY: the main thread does not move, remove from or drop the JIT until it has
        // joined this thread, except for the removal below, which must be refused (that is
        // what this test checks: a refused removal changes nothing).
        let jit = unsafe { &*(jit_ptr as *const Jit) };
        touch(jit, 5001);
        touched.send(()).unwrap();
        released.recv().unwrap();
    });
    is_touched.recv().unwrap();
    let err = jit.remove_module(&handle).unwrap_err();
    assert!(matches!(err, Error::ModuleStillNeeded { .. }), "{err:?}");
    assert!(err.to_string().contains("1 other thread"), "{err}");
    release.send(()).unwrap();
    thread.join().unwrap();
    assert_eq!(calls_in(range.clone()), [5001]);
    jit.remove_module(&handle).unwrap();
    assert_eq!(calls_in(range), [5001], "exactly once");
}

/// Runs `scenario` in a child process (this test binary, filtered to `test`): for what only
/// shows at process exit.
fn in_child(test: &str, scenario: &str) -> std::process::Output {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env("ORC_JIT_EXIT_SCENARIO", scenario)
        .output()
        .unwrap()
}

/// The `handler N` lines (libtest's own output may share a line with the first).
fn handlers(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter_map(|l| l.find("handler ").map(|at| &l[at..]))
        .collect()
}

extern "C" fn print(what: i32) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "handler {what}");
    let _ = out.flush();
}

/// The child's side: a JIT whose code registered handlers, then `leak` (forget it and exit) or
/// `drop` (drop it and exit, as a program whose JIT goes before `main` returns).
fn child(scenario: &str) -> ! {
    let jit = Jit::builder()
        .host_function("record", print as extern "C" fn(i32))
        .build()
        .unwrap();
    add(&jit, false, "exits.ll", &exits_module("a", 3));
    add(&jit, false, "thread-dtor.ll", THREAD_DTOR);
    register(&jit, "a", 1);
    touch(&jit, 2);
    register_plain(&jit, "a");
    match scenario {
        "leak" => std::mem::forget(jit),
        _ => {
            drop(jit);
            print(0);
        }
    }
    std::process::exit(0)
}

#[test]
fn a_leaked_jit_runs_its_handlers_at_process_exit() {
    if let Ok(scenario) = std::env::var("ORC_JIT_EXIT_SCENARIO") {
        child(&scenario);
    }
    let out = in_child("a_leaked_jit_runs_its_handlers_at_process_exit", "leak");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{:?}: {stdout}", out.status);
    // glibc runs thread-local destructors first, then exit handlers, the last first.
    assert_eq!(
        handlers(&stdout),
        ["handler 2", "handler 3", "handler 1"],
        "{stdout}"
    );
}

#[test]
fn a_dropped_jit_leaves_nothing_for_libc_to_call_at_exit() {
    if let Ok(scenario) = std::env::var("ORC_JIT_EXIT_SCENARIO") {
        child(&scenario);
    }
    let out = in_child(
        "a_dropped_jit_leaves_nothing_for_libc_to_call_at_exit",
        "drop",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Before orc-jit kept them, libc called the handlers after the JIT was gone: SIGSEGV.
    assert!(out.status.success(), "{:?}: {stdout}", out.status);
    assert_eq!(
        handlers(&stdout),
        ["handler 2", "handler 3", "handler 1", "handler 0"],
        "{stdout}"
    );
}

/// A static archive member's exit handler (C calling `__cxa_atexit` with its `__dso_handle`, as
/// a function-local static's destructor does): the JIT keeps it, and it runs when the JIT is
/// dropped. On LLVM 14-16, LLJIT's own platform support defines `__cxa_atexit` for what it links
/// itself (archive members included): it keeps the handler and never runs it (no crash either).
#[test]
fn an_archive_members_exit_handler_runs_when_the_jit_goes() {
    let dir = std::env::temp_dir().join(format!("orc-jit-archive-exits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("member.c"),
        "extern void *__dso_handle;\nint __cxa_atexit(void (*)(void *), void *, void *);\n\
         void record(int);\nstatic void handler(void *arg) { record((int)(long)arg); }\n\
         int member_register(int v) { return __cxa_atexit(handler, (void *)(long)v, &__dso_handle); }\n",
    )
    .unwrap();
    for (program, args) in [
        (
            "cc",
            &["-O1", "-fPIC", "-c", "member.c", "-o", "member.o"][..],
        ),
        ("ar", &["rcs", "libmember.a", "member.o"][..]),
    ] {
        let status = std::process::Command::new(program)
            .args(args)
            .current_dir(&dir)
            .status()
            .unwrap();
        assert!(status.success(), "{program}");
    }
    let jit = Jit::builder()
        .host_function("record", record as extern "C" fn(i32))
        .static_archive(dir.join("libmember.a"))
        .build()
        .unwrap();
    add(
        &jit,
        false,
        "uses-member.ll",
        "declare i32 @member_register(i32)\ndefine i32 @go(i32 %v) {\nentry:\n  %r = call i32 @member_register(i32 %v)\n  ret i32 %r\n}\n",
    );
    let go = jit.lookup::<extern "C" fn(i32) -> i32>("go").unwrap();
    // SAFETY: registers a handler that calls `record`.
    let registered = unsafe { go.call(6001) };
    // (LLJIT's own helper on 14-16 returns no meaningful value.)
    if orc_jit::LLVM_VERSION >= 19 {
        assert_eq!(registered, 0);
    }
    drop(jit);
    let ran = calls_in(6000..7000);
    if orc_jit::LLVM_VERSION >= 19 {
        assert_eq!(ran, [6001]);
    } else {
        assert!(ran.is_empty(), "LLJIT's own __cxa_atexit keeps it: {ran:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
