//! One JIT shared by 8 threads compiling, looking up and calling at the same time.

mod common;

use common::{CALLS_EXTERNAL, c_library};
use orc_jit::Jit;

/// Exercises the compile lock: after a barrier, every thread's first lookup compiles a module
/// of its own at the same moment (without the lock, LLJIT's one shared TargetMachine is used
/// by several threads at once and the process crashes). Then they all use a shared module.
#[test]
fn eight_threads_compile_look_up_and_call_at_once() {
    let jit = Jit::builder()
        .static_archive(&c_library().static_lib)
        .build()
        .unwrap();
    jit.add_module(jit.parse_module("f.ll", CALLS_EXTERNAL.as_bytes()).unwrap())
        .unwrap();
    for t in 0..8i32 {
        // Big enough that compiling takes a while, so the threads overlap.
        let mut ir = format!("define i32 @t{t}(i32 %x) {{\nentry:\n  %v0 = add i32 %x, {t}\n");
        for i in 1..400 {
            ir.push_str(&format!("  %v{i} = mul i32 %v{}, {}\n", i - 1, i % 7 + 1));
        }
        ir.push_str("  %r = sub i32 %v399, %v399\n  %s = add i32 %r, %x\n  %u = add i32 %s, ");
        ir.push_str(&format!("{t}\n  ret i32 %u\n}}\n"));
        jit.add_module(
            jit.parse_module(&format!("t{t}.ll"), ir.as_bytes())
                .unwrap(),
        )
        .unwrap();
    }
    let barrier = std::sync::Barrier::new(8);
    std::thread::scope(|scope| {
        for t in 0..8i32 {
            let (jit, barrier) = (&jit, &barrier);
            scope.spawn(move || {
                barrier.wait();
                let own = jit
                    .lookup::<extern "C" fn(i32) -> i32>(&format!("t{t}"))
                    .unwrap();
                for i in 0..500 {
                    // SAFETY: t{t} only does arithmetic.
                    assert_eq!(unsafe { own.call(i) }, i + t);
                    let f = jit.lookup::<extern "C" fn() -> i32>("f").unwrap();
                    // SAFETY: f calls the archive's external_function(21).
                    assert_eq!(unsafe { f.call() }, 42);
                }
            });
        }
    });
}
