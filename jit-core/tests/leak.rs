//! 10,000 add/remove cycles of a small module: resident memory must not keep growing.
//! Its own test binary, so no other test's allocations move the numbers.

use jit_core::Jit;

const MODULE: &str = "define i32 @cycle(i32 %x) {\nentry:\n  %r = mul i32 %x, 3\n  ret i32 %r\n}\n";

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

fn cycle(jit: &mut Jit, i: i32) {
    let handle = jit
        .add_module(jit.parse_module("cycle.ll", MODULE.as_bytes()).unwrap())
        .unwrap();
    assert_eq!(
        jit.lookup::<extern "C" fn(i32) -> i32>("cycle")
            .unwrap()
            .call(i),
        3 * i
    );
    jit.remove_module(handle).unwrap();
}

#[test]
fn ten_thousand_add_remove_cycles_stay_under_10_mib() {
    let mut jit = Jit::new().unwrap();
    // Warm up: allocator pools, LLVM's one-time tables.
    for i in 0..200 {
        cycle(&mut jit, i);
    }
    let before = resident_bytes();
    for i in 0..10_000 {
        cycle(&mut jit, i);
    }
    let growth = resident_bytes().saturating_sub(before);
    assert!(
        growth < 10 << 20,
        "resident memory grew by {} KiB",
        growth >> 10
    );
    eprintln!(
        "resident memory growth over 10,000 cycles: {} KiB",
        growth >> 10
    );
}
