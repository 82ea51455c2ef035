//! One JIT shared by 8 threads looking up and calling at the same time.

mod common;

use common::{CALLS_EXTERNAL, c_library};
use jit_core::Jit;

#[test]
fn eight_threads_look_up_and_call_at_once() {
    let jit = Jit::builder()
        .static_archive(&c_library().static_lib)
        .build()
        .unwrap();
    jit.add_module(jit.parse_module("f.ll", CALLS_EXTERNAL.as_bytes()).unwrap())
        .unwrap();
    // Each thread also adds a module of its own, compiled on first lookup from that thread.
    let barrier = std::sync::Barrier::new(8);
    std::thread::scope(|scope| {
        for t in 0..8i32 {
            let (jit, barrier) = (&jit, &barrier);
            scope.spawn(move || {
                let ir = format!("define i32 @t{t}(i32 %x) {{\nentry:\n  %r = add i32 %x, {t}\n  ret i32 %r\n}}\n");
                jit.add_module(jit.parse_module(&format!("t{t}.ll"), ir.as_bytes()).unwrap())
                    .unwrap();
                barrier.wait();
                for i in 0..500 {
                    let f = jit.lookup::<extern "C" fn() -> i32>("f").unwrap();
                    assert_eq!(f.call(), 42);
                    let own = jit.lookup::<extern "C" fn(i32) -> i32>(&format!("t{t}")).unwrap();
                    assert_eq!(own.call(i), i + t);
                }
            });
        }
    });
}
