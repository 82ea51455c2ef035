//! 100,000 add/compile/call/remove cycles of a small module, each with names of its own and a
//! call into libc, every other one registering an exit handler (as a C++ global with a
//! destructor does: a handle, a record in exits.rs, one of the module's own symbols):
//! resident memory stays flat. Its own test binary, so no other test's allocations move the
//! numbers.

use orc_jit::Jit;

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

fn cycle(jit: &mut Jit, i: i32) {
    let name = format!("cycle_{i}");
    let (handler, register) = if i % 2 == 1 {
        (
            "@__dso_handle = external hidden global i8\n\
             declare i32 @__cxa_atexit(void (i8*)*, i8*, i8*)\n\
             define internal void @h(i8* %x) {\nentry:\n  ret void\n}\n",
            "  %z = call i32 @__cxa_atexit(void (i8*)* @h, i8* null, i8* @__dso_handle)\n",
        )
    } else {
        ("", "")
    };
    let ir = format!(
        "{handler}declare i32 @abs(i32)\ndefine i32 @{name}(i32 %x) {{\nentry:\n{register}  %a = call i32 @abs(i32 %x)\n  %r = mul i32 %a, 3\n  ret i32 %r\n}}\n"
    );
    let handle = jit
        .add_module(jit.parse_module(&name, ir.as_bytes()).unwrap())
        .unwrap();
    let f = jit.lookup::<extern "C" fn(i32) -> i32>(&name).unwrap();
    // SAFETY: the function registers an empty exit handler of its own module (every other
    // cycle), calls libc's abs and multiplies.
    assert_eq!(unsafe { f.call(-i) }, 3 * i);
    jit.remove_module(&handle).unwrap();
}

#[test]
fn a_hundred_thousand_cycles_grow_resident_memory_by_less_than_1_mib() {
    let mut jit = Jit::new().unwrap();
    // Warm up: allocator pools, LLVM's one-time tables.
    for i in 0..2_000 {
        cycle(&mut jit, i);
    }
    let before = resident_bytes();
    for i in 0..100_000 {
        cycle(&mut jit, i);
    }
    let growth = resident_bytes().saturating_sub(before);
    eprintln!(
        "resident memory growth over 100,000 cycles: {} KiB",
        growth >> 10
    );
    assert!(
        growth < 1 << 20,
        "resident memory grew by {} KiB",
        growth >> 10
    );
}
