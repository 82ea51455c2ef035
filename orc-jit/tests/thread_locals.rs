//! Emulated thread-locals (lower.rs, emutls.rs) on unusual IR, and what they cost; and odd
//! declarations of `atexit`. The adversarial review's attacks, kept as regression tests. The IR
//! has typed pointers, which LLVM 14 needs and later versions read as `ptr`.

use orc_jit::{Jit, WorkerProgram};

fn jit() -> Jit {
    Jit::builder()
        .compile_worker(WorkerProgram::Path(
            env!("CARGO_BIN_EXE_orc-jit-worker").into(),
        ))
        .build()
        .unwrap()
}

fn add_both(
    jit: &Jit,
    isolated: bool,
    name: &str,
    ir: &str,
) -> orc_jit::Result<orc_jit::ModuleHandle> {
    if isolated {
        jit.add_module_isolated(name, ir.as_bytes())
    } else {
        jit.add_module(jit.parse_module(name, ir.as_bytes())?)
    }
}

fn resident_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4
}

/// With libgcc's emutls, each module instance's thread-local got a new index (never reused)
/// and this thread's copy was freed only when the thread exited: adding, using and removing
/// one module in a loop grew by 1 MiB a round on a long-lived thread. orc-jit's own frees it
/// at removal and reuses the slot.
#[test]
fn removing_a_module_frees_this_threads_copies_of_its_thread_locals() {
    let mut jit = jit();
    // 1 MiB per thread, written so its pages are resident.
    let ir = "@big = thread_local global [1048576 x i8] zeroinitializer\n\
        define i32 @touch() {\nentry:\n  br label %loop\n\
        loop:\n  %i = phi i64 [0, %entry], [%n, %loop]\n  %p = getelementptr [1048576 x i8], [1048576 x i8]* @big, i64 0, i64 %i\n  store i8 1, i8* %p\n  %n = add i64 %i, 4096\n  %c = icmp ult i64 %n, 1048576\n  br i1 %c, label %loop, label %out\n\
        out:\n  ret i32 0\n}\n";
    let mut first = 0;
    for round in 0..200 {
        let h = add_both(&jit, round % 2 == 1, "big-tls.ll", ir).unwrap();
        {
            let f = jit.lookup::<extern "C" fn() -> i32>("touch").unwrap();
            // SAFETY: writes this thread's copy of its own thread-local.
            unsafe { f.call() };
        }
        jit.remove_module(&h).unwrap();
        if round == 9 {
            first = resident_kib();
        }
    }
    let grown = resident_kib().saturating_sub(first);
    println!("resident memory grew by {grown} KiB over 190 add/use/remove rounds");
    assert!(
        grown < 50 * 1024,
        "grew by {grown} KiB: each removed module's thread-local stays"
    );
}

/// An alias of a thread-local: the alias must stand for this thread's copy, not the control
/// variable emulated TLS makes of it.
#[test]
fn an_alias_of_a_thread_local_reads_the_thread_local() {
    let ir = "@t = thread_local global i32 42\n\
        @a = thread_local alias i32, i32* @t\n\
        define i32 @read_alias() {\nentry:\n  %v = load i32, i32* @a\n  ret i32 %v\n}\n\
        define i32 @read_direct() {\nentry:\n  %v = load i32, i32* @t\n  ret i32 %v\n}\n";
    for isolated in [false, true] {
        let jit = jit();
        match add_both(&jit, isolated, "alias-tls.ll", ir) {
            Err(e) => assert!(
                e.to_string()
                    .contains("alias `a` stands for a thread-local"),
                "{e}"
            ),
            Ok(_) => {
                let direct = jit.lookup::<extern "C" fn() -> i32>("read_direct").unwrap();
                let alias = jit.lookup::<extern "C" fn() -> i32>("read_alias").unwrap();
                // SAFETY: both read this thread's copy of @t.
                let (d, a) = unsafe { (direct.call(), alias.call()) };
                println!("isolated {isolated}: direct {d}, through the alias {a}");
                assert_eq!((d, a), (42, 42), "isolated {isolated}");
            }
        }
    }
}

/// An alias (not itself marked thread_local) of a thread-local, used from another module.
#[test]
fn an_exported_alias_of_a_thread_local() {
    let ir = "@t = thread_local global i32 42\n\
        @a = alias i32, i32* @t\n\
        define i32 @read_direct() {\nentry:\n  %v = load i32, i32* @t\n  ret i32 %v\n}\n";
    let user = "@a = external global i32\ndefine i32 @read_other() {\nentry:\n  %v = load i32, i32* @a\n  ret i32 %v\n}\n";
    for isolated in [false, true] {
        let jit = jit();
        match add_both(&jit, isolated, "alias-tls2.ll", ir) {
            Err(e) => assert!(
                e.to_string()
                    .contains("alias `a` stands for a thread-local"),
                "{e}"
            ),
            Ok(_) => {
                add_both(&jit, isolated, "user.ll", user).unwrap();
                let other = jit.lookup::<extern "C" fn() -> i32>("read_other").unwrap();
                // SAFETY: reads @a.
                let v = unsafe { other.call() };
                println!("isolated {isolated}: through the alias from another module: {v}");
                assert_eq!(v, 42, "isolated {isolated}");
            }
        }
    }
}

/// A PHI with two edges from one block (a switch): LLVM requires one incoming value per block.
#[test]
fn a_phi_with_two_edges_from_one_block() {
    let ir = "@t = thread_local global i32 42\n\
        define i32 @f(i32 %x) {\nentry:\n  switch i32 %x, label %other [ i32 0, label %join\n i32 1, label %join ]\n\
        other:\n  br label %join\n\
        join:\n  %p = phi i32* [ @t, %entry ], [ @t, %entry ], [ @t, %other ]\n  %v = load i32, i32* %p\n  ret i32 %v\n}\n";
    for isolated in [false, true] {
        let jit = jit();
        let r = add_both(&jit, isolated, "phi-tls.ll", ir);
        match r {
            Err(e) => panic!("isolated {isolated}: a valid module is refused: {e}"),
            Ok(_) => {
                let f = jit.lookup::<extern "C" fn(i32) -> i32>("f").unwrap();
                // SAFETY: reads the thread-local.
                assert_eq!(unsafe { f.call(1) }, 42);
            }
        }
    }
}

/// `atexit` declared with another type than C's: each is refused with a message that says so
/// (never a crash, nor a call with the wrong arguments).
#[test]
fn odd_atexit_declarations_are_errors_not_crashes() {
    // (return type, parameter type, an argument of it)
    for (ret, param, arg) in [
        ("i32", "i64", "i64 0"),
        ("i32", "double", "double 0.0"),
        ("i32", "i8 addrspace(1)*", "i8 addrspace(1)* null"),
        ("i32", "{ i8*, i8* }", "{ i8*, i8* } zeroinitializer"),
        ("i8", "i8*", "i8* null"),
        ("void", "i8*", "i8* null"),
    ] {
        let decl = format!("declare {ret} @atexit({param})");
        let call = if ret == "void" {
            format!("  call void @atexit({arg})\n  ret i32 0")
        } else {
            format!("  %r = call {ret} @atexit({arg})\n  ret i32 0")
        };
        let ir = format!("{decl}\ndefine i32 @f() {{\nentry:\n{call}\n}}\n");
        for isolated in [false, true] {
            let jit = jit();
            match add_both(&jit, isolated, "atexit.ll", &ir) {
                Err(e) => assert!(
                    e.to_string()
                        .contains("`atexit` is declared with another type than the C runtime's"),
                    "{decl} (isolated {isolated}): {e}"
                ),
                Ok(_) => panic!("{decl} (isolated {isolated}): accepted"),
            }
        }
    }
}

/// A slot a removed module's thread-local had is reused by the next module's: each new module
/// sees its initial value, on this thread and on a thread that used the old one, never an old
/// copy.
#[test]
fn a_reused_slot_starts_from_the_initial_value_on_every_thread() {
    let ir = "@t = thread_local global i32 5\n\
        define i32 @bump() {\nentry:\n  %v = load i32, i32* @t\n  %n = add i32 %v, 1\n  store i32 %n, i32* @t\n  ret i32 %n\n}\n";
    let mut jit = jit();
    let bump_twice = |jit: &Jit| {
        let f = jit.lookup::<extern "C" fn() -> i32>("bump").unwrap();
        // SAFETY: increments this thread's copy of its own thread-local.
        unsafe { (f.call(), f.call()) }
    };
    for round in 0..20 {
        let h = add_both(&jit, round % 2 == 1, &format!("bump-{round}.ll"), ir).unwrap();
        assert_eq!(bump_twice(&jit), (6, 7), "round {round}, this thread");
        let other = std::thread::scope(|s| s.spawn(|| bump_twice(&jit)).join().unwrap());
        assert_eq!(other, (6, 7), "round {round}, another thread");
        jit.remove_module(&h).unwrap();
    }
    // A long-lived other thread that used round N's copy sees round N+1's initial value.
    let (to_thread, from_main) = std::sync::mpsc::channel::<Option<usize>>();
    let (to_main, from_thread) = std::sync::mpsc::channel::<(i32, i32)>();
    let shared = std::sync::Arc::new(std::sync::Mutex::new(jit));
    let theirs = shared.clone();
    let thread = std::thread::spawn(move || {
        while let Ok(Some(_)) = from_main.recv() {
            let jit = theirs.lock().unwrap();
            to_main.send(bump_twice(&jit)).unwrap();
        }
    });
    for round in 0..5 {
        let h = {
            let jit = shared.lock().unwrap();
            add_both(&jit, false, &format!("long-{round}.ll"), ir).unwrap()
        };
        to_thread.send(Some(round)).unwrap();
        assert_eq!(
            from_thread.recv().unwrap(),
            (6, 7),
            "round {round}, the long-lived thread"
        );
        shared.lock().unwrap().remove_module(&h).unwrap();
    }
    to_thread.send(None).unwrap();
    thread.join().unwrap();
}
