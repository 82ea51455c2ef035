//! Races between threads sharing one `&Jit` (the adversarial review's, kept as regression
//! tests): copies of one module added at once, which would share one exit-handler handle. The
//! IR has typed pointers, which LLVM 14 needs and later versions read as `ptr`.

use std::sync::{Barrier, Mutex};

use orc_jit::Jit;

static CALLS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

extern "C" fn record(what: i32) {
    CALLS.lock().unwrap().push(what);
}

/// A module whose exit handler is its own: `reg` (weak, so that a second copy of the module is
/// not a duplicate definition) registers `handler` with the module's `__dso_handle`.
const OWNS_EXITS: &str = "@__dso_handle = external hidden global i8\n\
    declare i32 @__cxa_atexit(void (i8*)*, i8*, i8*)\n\
    declare void @record(i32)\n\
    define internal void @handler(i8* %x) {\nentry:\n  call void @record(i32 1)\n  ret void\n}\n\
    define weak i32 @reg() {\nentry:\n  %r = call i32 @__cxa_atexit(void (i8*)* @handler, i8* null, i8* @__dso_handle)\n  ret i32 %r\n}\n";

fn jit() -> Jit {
    Jit::builder()
        .host_function("record", record as extern "C" fn(i32))
        .build()
        .unwrap()
}

/// Added one after the other, the second copy is refused ("the same module is already in the
/// JIT"); added at once from several threads, the check (exits::is_loaded, before the modules
/// lock) and the record (exits::module_added, after it) leave a window.
#[test]
fn the_same_module_added_at_once_from_several_threads_is_added_once() {
    let jit = jit();
    jit.add_module_bytes("first.ll", OWNS_EXITS.as_bytes())
        .unwrap();
    let second = jit.add_module_bytes("second.ll", OWNS_EXITS.as_bytes());
    println!(
        "one after the other: {:?}",
        second.as_ref().map(|_| ()).map_err(|e| e.to_string())
    );
    assert!(second.is_err());

    let mut most = 0;
    for round in 0..50 {
        let jit = self::jit();
        let threads = 8;
        let barrier = Barrier::new(threads);
        let added: Vec<bool> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|i| {
                    let jit = &jit;
                    let barrier = &barrier;
                    s.spawn(move || {
                        // Parsed before the barrier, so that the adds start together.
                        let module = jit
                            .parse_module(&format!("copy-{i}.ll"), OWNS_EXITS.as_bytes())
                            .unwrap();
                        barrier.wait();
                        jit.add_module(module).is_ok()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let n = added.iter().filter(|&&a| a).count();
        most = most.max(n);
        if n > 1 {
            println!("round {round}: {n} copies of one module were added");
            break;
        }
    }
    assert_eq!(most, 1, "copies of the same module added at once");
}

/// What two copies sharing one handle would do: the handler frees the module's lazily made
/// buffer (as a C++ global's destructor would), and removing one copy would run it while the
/// other still reads the buffer. Of two copies added at once, exactly one is added; the other
/// gets the error that says why; the one added works, and its removal runs its handler once.
const OWNS_BUFFER: &str = "@__dso_handle = external hidden global i8\n\
    @buf = internal global i32* null\n\
    declare i32 @__cxa_atexit(void (i8*)*, i8*, i8*)\n\
    declare i8* @malloc(i64)\n\
    declare void @free(i8*)\n\
    declare void @record(i32)\n\
    define internal void @cleanup(i8* %x) {\nentry:\n  %b = load i32*, i32** @buf\n  %c = bitcast i32* %b to i8*\n  call void @free(i8* %c)\n  call void @record(i32 2)\n  ret void\n}\n\
    define weak i32 @get() {\nentry:\n  %b = load i32*, i32** @buf\n  %none = icmp eq i32* %b, null\n  br i1 %none, label %init, label %done\n\
    init:\n  %m = call i8* @malloc(i64 64)\n  %mi = bitcast i8* %m to i32*\n  store i32 42, i32* %mi\n  store i32* %mi, i32** @buf\n  %r = call i32 @__cxa_atexit(void (i8*)* @cleanup, i8* null, i8* @__dso_handle)\n  br label %done\n\
    done:\n  %p = load i32*, i32** @buf\n  %v = load i32, i32* %p\n  ret i32 %v\n}\n";

#[test]
fn of_two_copies_added_at_once_one_is_added_and_the_other_told_why() {
    for round in 0..100 {
        let mut jit = jit();
        let barrier = Barrier::new(2);
        let results: Vec<_> = std::thread::scope(|s| {
            let spawned: Vec<_> = (0..2)
                .map(|i| {
                    let jit = &jit;
                    let barrier = &barrier;
                    s.spawn(move || {
                        let module = jit
                            .parse_module(&format!("copy-{i}.ll"), OWNS_BUFFER.as_bytes())
                            .unwrap();
                        barrier.wait();
                        jit.add_module(module)
                    })
                })
                .collect();
            spawned.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let (added, refused): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
        assert_eq!(
            added.len(),
            1,
            "round {round}: {} copies added",
            added.len()
        );
        let why = refused[0].as_ref().map(|_| ()).unwrap_err().to_string();
        assert!(
            why.contains("is already in the JIT"),
            "round {round}: {why}"
        );
        CALLS.lock().unwrap().clear();
        let get = jit.lookup::<extern "C" fn() -> i32>("get").unwrap();
        // SAFETY: sound C: makes the buffer once and reads it; frees it only at removal.
        assert_eq!(unsafe { get.call() }, 42);
        jit.remove_module(added[0].as_ref().unwrap()).unwrap();
        assert_eq!(*CALLS.lock().unwrap(), [2], "round {round}");
    }
}
