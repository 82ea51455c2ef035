//! Exit handlers and thread-local destructors that would outlive their module (the adversarial
//! review of issue 21's exits.rs, each attack kept as a regression test). Each scenario runs in
//! a child process (it may crash); the parent checks how the child ended and what it printed.
//! Safe code only, except `unsafe { f.call() }` on JIT code that registers a handler.

use std::os::unix::process::ExitStatusExt;

use orc_jit::{Jit, WorkerProgram};

extern "C" fn print(what: i32) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "handler {what}");
    let _ = out.flush();
}

fn jit() -> Jit {
    Jit::builder()
        .host_function("record", print as extern "C" fn(i32))
        .compile_worker(WorkerProgram::Path(
            env!("CARGO_BIN_EXE_orc-jit-worker").into(),
        ))
        .build()
        .unwrap()
}

/// On LLVM 14 (no opaque pointers), the scenarios' IR in typed pointers: each `void (i8*)`
/// function passed as a pointer is cast, every other `ptr` is `i8*`.
fn typed(ir: &str) -> String {
    if orc_jit::LLVM_VERSION >= 15 {
        return ir.to_owned();
    }
    let mut ir = ir.replace(
        "ptr @__dso_handle",
        if ir.contains("declare void @__dso_handle()") {
            "i8* bitcast (void ()* @__dso_handle to i8*)"
        } else {
            "i8* @__dso_handle"
        },
    );
    for f in ["handler", "mine", "dtor", "tdtor", "global_dtor"] {
        // The function's parameter types, from its definition.
        let Some(at) = ir.find(&format!("define internal void @{f}(")) else {
            continue;
        };
        let params = &ir[at..][format!("define internal void @{f}(").len()..];
        let params = &params[..params.find(')').unwrap()];
        let types: Vec<&str> = params
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| p.trim().split(' ').next().unwrap())
            .collect();
        let ty = format!("void ({})*", types.join(", ")).replace("ptr", "i8*");
        ir = ir.replace(
            &format!("ptr @{f}"),
            &format!("i8* bitcast ({ty} @{f} to i8*)"),
        );
    }
    ir.replace("ptr", "i8*")
}

fn try_add(
    jit: &Jit,
    isolated: bool,
    name: &str,
    ir: &str,
) -> orc_jit::Result<orc_jit::ModuleHandle> {
    let ir = &typed(ir);
    if isolated {
        jit.add_module_isolated(name, ir.as_bytes())
    } else {
        jit.add_module(jit.parse_module(name, ir.as_bytes())?)
    }
}

fn add(jit: &Jit, isolated: bool, name: &str, ir: &str) -> orc_jit::ModuleHandle {
    try_add(jit, isolated, name, ir).unwrap()
}

fn call0(jit: &Jit, name: &str) -> i32 {
    let f = jit.lookup::<extern "C" fn() -> i32>(name).unwrap();
    // SAFETY: each `go` registers a handler of its own module's code and returns.
    unsafe { f.call() }
}

/// A handler that prints (through the host) and a `go` that registers it with `__cxa_atexit`
/// and the handle `handle` (an IR value of type ptr declared by `decl`).
fn registers_with(decl: &str, handle: &str, value: i32) -> String {
    format!(
        "{decl}\n\
         declare i32 @__cxa_atexit(ptr, ptr, ptr)\n\
         declare void @record(i32)\n\
         define internal void @handler(ptr %arg) {{\nentry:\n  call void @record(i32 {value})\n  ret void\n}}\n\
         define i32 @go() {{\nentry:\n  %r = call i32 @__cxa_atexit(ptr @handler, ptr null, ptr {handle})\n  ret i32 %r\n}}\n"
    )
}

fn sha_short(bytes: &[u8]) -> String {
    // The module key is SHA-256 of the bytes; its `short()` is the first 8 bytes in hex.
    // No sha2 dev-dependency: ask the coreutils.
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..16].to_owned()
}

fn scenario(name: &str) {
    let isolated = std::env::var("ATTACK_ISOLATED").is_ok();
    match name {
        // 1. `\01__dso_handle` is the symbol `__dso_handle` (ELF has no global prefix), but
        // lower.rs looks the global up by its IR name: LLJIT's `__dso_handle`, the JIT's own
        // handle, is what the module passes. The handler is kept for the JIT, not the module.
        "escaped_dso_handle" => {
            let mut jit = jit();
            let ir = registers_with(
                "@\"\\01__dso_handle\" = external global i8",
                "@\"\\01__dso_handle\"",
                1,
            );
            let h = add(&jit, isolated, "escaped.ll", &ir);
            println!("registered: {}", call0(&jit, "go"));
            jit.remove_module(&h).unwrap();
            println!("removed");
            drop(jit); // runs the handler: its code was freed with the module
            println!("dropped");
        }
        // 2. A module names another module's handle: `__jit_dso.<first 16 hex digits of the
        // SHA-256 of its bytes>`, which the JIT defines as an absolute symbol.
        "forged_handle" => {
            let mut jit = jit();
            let victim = typed(&registers_with(
                "@__dso_handle = external hidden global i8",
                "@__dso_handle",
                2,
            ));
            let short = sha_short(victim.as_bytes());
            let a = add(&jit, isolated, "victim.ll", &victim);
            println!("victim registered: {}", call0(&jit, "go"));
            let forged = registers_with(
                &format!("@\"__jit_dso.{short}\" = external global i8"),
                &format!("@\"__jit_dso.{short}\""),
                3,
            )
            .replace("@go", "@go_b");
            match try_add(&jit, isolated, "forger.ll", &forged) {
                Err(orc_jit::Error::ModuleRejected { name, message }) => {
                    let named = message.contains(&format!("__jit_dso.{short}"));
                    println!("{name} refused, naming the handle: {named}");
                }
                other => println!("forger added: {:?}", other.map(|_| ())),
            }
            jit.remove_module(&a).unwrap(); // runs the victim's own handler
            println!("victim removed");
        }
        // 3. Plain C: library A offers `a_at_exit(f)` which registers `f` with A's own
        // `__dso_handle` (a library's "call this at exit" API); module B passes its own
        // function. B is removed first (nothing depends on it); A's removal runs B's code.
        "registered_through_another_module" => {
            let mut jit = jit();
            let a = add(
                &jit,
                isolated,
                "lib_a.ll",
                "@__dso_handle = external hidden global i8\n\
                 declare i32 @__cxa_atexit(ptr, ptr, ptr)\n\
                 define i32 @a_at_exit(ptr %f) {\nentry:\n  %r = call i32 @__cxa_atexit(ptr %f, ptr null, ptr @__dso_handle)\n  ret i32 %r\n}\n",
            );
            let b = add(
                &jit,
                isolated,
                "user_b.ll",
                "declare i32 @a_at_exit(ptr)\ndeclare void @record(i32)\n\
                 define internal void @mine(ptr %x) {\nentry:\n  call void @record(i32 4)\n  ret void\n}\n\
                 define i32 @go() {\nentry:\n  %r = call i32 @a_at_exit(ptr @mine)\n  ret i32 %r\n}\n",
            );
            println!("registered: {}", call0(&jit, "go"));
            match jit.remove_module(&b) {
                Err(orc_jit::Error::ModuleStillNeeded { module, .. }) => {
                    println!("{module} still needed")
                }
                other => println!("b removed: {other:?}"),
            }
            // b calls a, so a cannot go first either: both stay until the JIT goes, which
            // runs the handler while both are there.
            match jit.remove_module(&a) {
                Err(orc_jit::Error::ModuleInUse { module, .. }) => println!("{module} in use"),
                other => println!("a removed: {other:?}"),
            }
            drop(jit);
            println!("dropped");
        }
        // 4. glibc's `on_exit` (exported by libc.so.6): an exit handler libc keeps.
        "on_exit" => {
            let jit = jit();
            add(
                &jit,
                isolated,
                "on_exit.ll",
                "declare i32 @on_exit(ptr, ptr)\ndeclare void @record(i32)\n\
                 define internal void @mine(i32 %status, ptr %x) {\nentry:\n  call void @record(i32 5)\n  ret void\n}\n\
                 define i32 @go() {\nentry:\n  %r = call i32 @on_exit(ptr @mine, ptr null)\n  ret i32 %r\n}\n",
            );
            println!("registered: {}", call0(&jit, "go"));
            drop(jit);
            println!("dropped");
            // returning from the scenario: process exit runs libc's handlers
        }
        // 5. A thread-local destructor registered with the JIT's own handle (`\01__dso_handle`)
        // on another thread: the module's removal is not refused, the thread exits later.
        "escaped_thread_dtor" => {
            let jit = jit();
            let ir = "@\"\\01__dso_handle\" = external global i8\n\
                 declare i32 @__cxa_thread_atexit(ptr, ptr, ptr)\n\
                 declare void @record(i32)\n\
                 define internal void @dtor(ptr %x) {\nentry:\n  call void @record(i32 6)\n  ret void\n}\n\
                 define i32 @go() {\nentry:\n  %r = call i32 @__cxa_thread_atexit(ptr @dtor, ptr null, ptr @\"\\01__dso_handle\")\n  ret i32 %r\n}\n";
            let h = add(&jit, isolated, "tdtor.ll", ir);
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let (tx2, rx2) = std::sync::mpsc::channel::<()>();
            let mut shared = std::sync::Arc::new(jit);
            let theirs = shared.clone();
            let t = std::thread::spawn(move || {
                {
                    let f = theirs.lookup::<extern "C" fn() -> i32>("go").unwrap();
                    // SAFETY: registers a thread-exit destructor of its own module.
                    println!("registered on thread: {}", unsafe { f.call() });
                }
                drop(theirs);
                tx.send(()).unwrap();
                rx2.recv().unwrap();
            });
            rx.recv().unwrap();
            let removed = std::sync::Arc::get_mut(&mut shared)
                .unwrap()
                .remove_module(&h);
            println!("removal: {removed:?}");
            tx2.send(()).unwrap();
            t.join().unwrap();
            println!("thread exited");
        }
        // 5b. The same on one thread, without raw pointers: the JIT's drop runs this thread's
        // destructor, after its module was removed.
        "escaped_thread_dtor_one_thread" => {
            let mut jit = jit();
            let ir = "@\"\\01__dso_handle\" = external global i8\n\
                 declare i32 @__cxa_thread_atexit(ptr, ptr, ptr)\n\
                 declare void @record(i32)\n\
                 define internal void @dtor(ptr %x) {\nentry:\n  call void @record(i32 7)\n  ret void\n}\n\
                 define i32 @go() {\nentry:\n  %r = call i32 @__cxa_thread_atexit(ptr @dtor, ptr null, ptr @\"\\01__dso_handle\")\n  ret i32 %r\n}\n";
            let h = add(&jit, isolated, "tdtor.ll", ir);
            println!("registered: {}", call0(&jit, "go"));
            jit.remove_module(&h).unwrap();
            println!("removed");
            drop(jit);
            println!("dropped");
        }
        // 6. A C++ global's destructor that touches a `thread_local` object for the first time
        // on this thread (so registers its destructor with `__cxa_thread_atexit`) while the
        // module is being removed: glibc keeps a dlclosed library mapped for that; here the
        // thread-local destructor is registered after this thread's were run, and stays.
        "thread_dtor_registered_by_exit_handler" => {
            let mut jit = jit();
            let ir = "@__dso_handle = external hidden global i8\n\
                 declare i32 @__cxa_atexit(ptr, ptr, ptr)\n\
                 declare i32 @__cxa_thread_atexit(ptr, ptr, ptr)\n\
                 declare void @record(i32)\n\
                 define internal void @tdtor(ptr %x) {\nentry:\n  call void @record(i32 9)\n  ret void\n}\n\
                 define internal void @global_dtor(ptr %x) {\nentry:\n  call void @record(i32 8)\n  %r = call i32 @__cxa_thread_atexit(ptr @tdtor, ptr null, ptr @__dso_handle)\n  ret void\n}\n\
                 define i32 @go() {\nentry:\n  %r = call i32 @__cxa_atexit(ptr @global_dtor, ptr null, ptr @__dso_handle)\n  ret i32 %r\n}\n";
            let h = add(&jit, isolated, "dtor-touches-tls.ll", ir);
            println!("registered: {}", call0(&jit, "go"));
            jit.remove_module(&h).unwrap();
            println!("removed");
            drop(jit);
            println!("dropped");
        }
        // 7. `__dso_handle` declared as a function: lower.rs looks for a global variable, so
        // the object refers to LLJIT's `__dso_handle`, the JIT's own handle (as in 1).
        "dso_handle_as_function" => {
            let mut jit = jit();
            let ir = registers_with("declare void @__dso_handle()", "@__dso_handle", 10);
            let h = add(&jit, isolated, "dso-fn.ll", &ir);
            println!("registered: {}", call0(&jit, "go"));
            jit.remove_module(&h).unwrap();
            println!("removed");
            drop(jit);
            println!("dropped");
        }
        // 8. A thread-local destructor that ends the program (`exit` is allowed anywhere): the
        // exit handler orc-jit installed waits for running thread-local destructors of its JITs,
        // and this one is its own caller.
        "exit_from_thread_dtor" => {
            let jit = jit();
            let ir = "@__dso_handle = external hidden global i8\n\
                 declare i32 @__cxa_thread_atexit(ptr, ptr, ptr)\n\
                 declare void @exit(i32)\n\
                 declare void @record(i32)\n\
                 define internal void @dtor(ptr %x) {\nentry:\n  call void @record(i32 11)\n  call void @exit(i32 0)\n  ret void\n}\n\
                 define i32 @go() {\nentry:\n  %r = call i32 @__cxa_thread_atexit(ptr @dtor, ptr null, ptr @__dso_handle)\n  ret i32 %r\n}\n";
            add(&jit, isolated, "exit-in-dtor.ll", ir);
            let shared = std::sync::Arc::new(jit);
            let theirs = shared.clone();
            let t = std::thread::spawn(move || {
                let f = theirs.lookup::<extern "C" fn() -> i32>("go").unwrap();
                // SAFETY: registers a thread-exit destructor of its own module.
                println!("registered on thread: {}", unsafe { f.call() });
            });
            t.join().unwrap();
            std::thread::sleep(std::time::Duration::from_secs(30));
            println!("not reached: the thread's exit() ends the process");
        }
        // 9. `atexit` declared returning void: lower.rs rewrites only an integer-returning
        // one, so the call reaches whatever else the JITDylib or process calls `atexit`.
        "void_atexit" => {
            let mut jit = jit();
            let ir = "declare void @atexit(ptr)\ndeclare void @record(i32)\n\
                 define internal void @mine() {\nentry:\n  call void @record(i32 12)\n  ret void\n}\n\
                 define i32 @go() {\nentry:\n  call void @atexit(ptr @mine)\n  ret i32 0\n}\n";
            let typed = typed(ir);
            let added = if isolated {
                jit.add_module_isolated("void-atexit.ll", typed.as_bytes())
            } else {
                jit.add_module(
                    jit.parse_module("void-atexit.ll", typed.as_bytes())
                        .unwrap(),
                )
            };
            let h = match added {
                Ok(h) => h,
                Err(e) => return println!("refused: {e}"),
            };
            match jit.lookup::<extern "C" fn() -> i32>("go") {
                // SAFETY: registers a handler of its own module's code.
                Ok(go) => println!("registered: {}", unsafe { go.call() }),
                Err(e) => return println!("refused at lookup: {e}"),
            }
            jit.remove_module(&h).unwrap();
            println!("removed");
            drop(jit);
            println!("dropped");
        }
        other => panic!("no scenario {other}"),
    }
}

/// Runs `name` in a child: (exit status, stdout, stderr).
fn run_child(name: &str, isolated: bool) -> (std::process::ExitStatus, String, String) {
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            "child",
            "--nocapture",
            "--test-threads=1",
            "--ignored",
        ])
        .env("ATTACK", name);
    if isolated {
        command.env("ATTACK_ISOLATED", "1");
    }
    command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            println!("{name}: still running after 20 s: killed (a hang)");
            break child.wait().unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    (
        status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
#[ignore = "run by the parent"]
fn child() {
    if let Ok(name) = std::env::var("ATTACK") {
        scenario(&name);
    }
}

/// What the child printed, without the test harness's lines.
fn printed(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(|l| l.strip_prefix("test child ... ").unwrap_or(l))
        .filter(|l| {
            !(l.is_empty()
                || *l == "ok"
                || l.starts_with("running ")
                || l.starts_with("test result:"))
        })
        .map(str::to_owned)
        .collect()
}

/// Runs `name` in a child, which must end normally having printed lines that start with
/// `expected`, in order and nothing else: each handler ran once, while its code was there.
fn check(name: &str, isolated: bool, expected: &[&str]) {
    let (status, stdout, stderr) = run_child(name, isolated);
    let lines = printed(&stdout);
    let matches = lines.len() == expected.len()
        && lines
            .iter()
            .zip(expected)
            .all(|(line, want)| line.starts_with(want));
    assert!(
        status.success() && matches,
        "{name} (isolated: {isolated}): {status:?} (signal {:?}), printed {lines:#?}, \
         expected {expected:#?}\n{stderr}",
        status.signal()
    );
}

/// Both paths: the in-process one and a compile worker's object.
fn check_both(name: &str, expected: &[&str]) {
    check(name, false, expected);
    check(name, true, expected);
}

/// `\01__dso_handle` is the ELF symbol `__dso_handle`: the module's own handle.
#[test]
fn a_handle_named_with_the_raw_prefix_is_the_modules_own() {
    check_both(
        "escaped_dso_handle",
        &["registered: 0", "handler 1", "removed", "dropped"],
    );
}

/// `__dso_handle` declared as a function is the module's handle too.
#[test]
fn a_handle_declared_as_a_function_is_the_modules_own() {
    check_both(
        "dso_handle_as_function",
        &["registered: 0", "handler 10", "removed", "dropped"],
    );
}

/// Naming another module's `__jit_dso.<key>` handle is refused; the victim's handler runs
/// once, at its own removal.
#[test]
fn another_modules_handle_cannot_be_named() {
    check_both(
        "forged_handle",
        &[
            "victim registered: 0",
            "forger.ll refused, naming the handle: true",
            "handler 2",
            "victim removed",
        ],
    );
}

/// A library's "call this at exit" given a function of another module: that module cannot be
/// removed while the handler points into it, the library cannot while the module calls it;
/// the JIT's drop runs the handler with both there.
#[test]
fn a_handler_registered_through_another_module_keeps_both() {
    check_both(
        "registered_through_another_module",
        &[
            "registered: 0",
            "user_b.ll still needed",
            "lib_a.ll in use",
            "handler 4",
            "dropped",
        ],
    );
}

/// glibc's `on_exit`: the handler is the JIT's, run when it goes.
#[test]
fn on_exit_handlers_run_when_the_jit_goes() {
    check_both("on_exit", &["registered: 0", "handler 5", "dropped"]);
}

/// A thread-local destructor on another thread blocks its module's removal until the thread
/// exits and runs it.
#[test]
fn a_thread_dtor_on_another_thread_blocks_removal() {
    check_both(
        "escaped_thread_dtor",
        &[
            "registered on thread: 0",
            "removal: Err(ModuleStillNeeded { module: \"tdtor.ll\"",
            "handler 6",
            "thread exited",
        ],
    );
}

/// On the removing thread, the module's thread-local destructors run at its removal.
#[test]
fn this_threads_dtors_run_at_removal() {
    check_both(
        "escaped_thread_dtor_one_thread",
        &["registered: 0", "handler 7", "removed", "dropped"],
    );
}

/// An exit handler that registers a thread-local destructor while its module is removed: the
/// destructor runs too, before the code goes.
#[test]
fn a_thread_dtor_registered_by_an_exit_handler_runs_before_removal() {
    check_both(
        "thread_dtor_registered_by_exit_handler",
        &[
            "registered: 0",
            "handler 8",
            "handler 9",
            "removed",
            "dropped",
        ],
    );
}

/// `exit` from a thread-local destructor ends the process normally (no deadlock with the
/// JIT's own exit handler).
#[test]
fn exit_from_a_thread_dtor_ends_the_process() {
    check(
        "exit_from_thread_dtor",
        false,
        &["registered on thread: 0", "handler 11"],
    );
}

/// `atexit` declared with another type than C's is refused with a message that says so.
#[test]
fn atexit_of_another_type_is_refused() {
    check_both(
        "void_atexit",
        &["refused: void-atexit.ll: error: `atexit` is declared with another type"],
    );
}
