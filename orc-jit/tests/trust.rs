//! What the host links is the object file, in both paths: its own symbol table says what a
//! module defines, its unwind information may describe only its own code, and what linking it
//! would allocate is bounded before anything is linked (issue 21, points 2 to 4).

use orc_jit::{Error, IsolationLimits, Jit, WorkerProgram};

fn jit() -> Jit {
    Jit::builder()
        .compile_worker(WorkerProgram::Path(
            env!("CARGO_BIN_EXE_orc-jit-worker").into(),
        ))
        .build()
        .unwrap()
}

fn add(jit: &Jit, isolated: bool, name: &str, ir: &str) -> Result<orc_jit::ModuleHandle, Error> {
    if isolated {
        jit.add_module_isolated(name, ir.as_bytes())
    } else {
        jit.add_module(jit.parse_module(name, ir.as_bytes())?)
    }
}

fn asm(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|l| format!("module asm \"{}\"\n", l.replace('"', "\\22")))
        .collect()
}

/// Issue 21, point 2: a strong `h` that only `module asm` defines, as data, replacing another
/// module's weak function `h`: checked against the object, not the IR.
#[test]
fn a_symbol_only_module_asm_defines_is_checked_as_what_the_object_says() {
    let data_h = asm(&[".data", ".globl h", "h: .quad 0x1234"]);
    let weak_h = "define weak i32 @h() {\nentry:\n  ret i32 1\n}\n\
                  define i32 @calls_h() {\nentry:\n  %r = call i32 @h()\n  ret i32 %r\n}\n";
    for isolated in [false, true] {
        // After a weak function, the strong data would replace it for the first module's own
        // calls: refused.
        let jit = jit();
        add(&jit, false, "weak.ll", weak_h).unwrap();
        let err = add(&jit, isolated, "asm-data.ll", &data_h).unwrap_err();
        assert!(matches!(err, Error::ModuleRejected { .. }), "{err:?}");
        assert!(err.to_string().contains("data"), "{err}");
        let h = jit.lookup::<extern "C" fn() -> i32>("h").unwrap();
        // SAFETY: h is the weak function, which returns a constant.
        assert_eq!(unsafe { h.call() }, 1);

        // Alone, it is data: looking it up as a function is an error, not a jump into data.
        let jit = self::jit();
        add(&jit, isolated, "asm-data.ll", &data_h).unwrap();
        let err = jit.lookup::<extern "C" fn() -> i32>("h").unwrap_err();
        assert!(matches!(err, Error::NotAFunction { .. }), "{err:?}");
        assert!(
            jit.lookup_address("h").is_ok(),
            "its address is still there"
        );

        // Code that only module asm defines has no signature to check a call against.
        let jit = self::jit();
        let code = asm(&[
            ".text",
            ".globl g",
            ".type g,@function",
            "g: movl $7, %eax",
            "ret",
        ]);
        add(&jit, isolated, "asm-code.ll", &code).unwrap();
        let err = jit.lookup::<extern "C" fn() -> i32>("g").unwrap_err();
        assert!(err.to_string().contains("module asm"), "{err}");
    }
}

/// A function and an FDE written in `module asm`, with `pc_begin` and `pc_range` as given.
fn hand_written_fde(pc_begin: &str, pc_range: &str, encoding: &str) -> String {
    asm(&[
        ".section .text.handwritten,\"ax\",@progbits",
        ".Llocal_label:",
        "ret",
        ".section .eh_frame,\"a\",@unwind",
        ".Lcie: .long .Lcie_end - .Lcie_id",
        ".Lcie_id: .long 0",
        ".byte 1",
        ".asciz \"zR\"",
        ".uleb128 1",
        ".sleb128 -8",
        ".byte 16",
        ".uleb128 1",
        &format!(".byte {encoding}"),
        ".balign 4, 0",
        ".Lcie_end:",
        ".long .Lfde_end - .Lfde_ptr",
        ".Lfde_ptr: .long .Lfde_ptr - .Lcie",
        pc_begin,
        pc_range,
        ".uleb128 0",
        ".balign 4, 0",
        ".Lfde_end:",
    ]) + "define i32 @f() {\nentry:\n  ret i32 1\n}\n"
}

/// Issue 21, point 3: unwind information covering most of the address space is refused
/// before it reaches the unwinder, so the host's next ordinary panic still unwinds.
#[test]
fn unwind_information_for_memory_outside_the_module_is_refused() {
    let hostile = hand_written_fde(".quad 0", ".quad 0x7fffffff00000000", "0x04");
    let past_its_code = hand_written_fde(".long .Llocal_label - .", ".long 0x100000", "0x1b");
    for isolated in [false, true] {
        for (name, ir) in [("hostile.ll", &hostile), ("too-long.ll", &past_its_code)] {
            let jit = jit();
            let err = add(&jit, isolated, name, ir).unwrap_err();
            assert!(
                matches!(err, Error::ModuleRejected { .. }),
                "{name}: {err:?}"
            );
            assert!(err.to_string().contains(".eh_frame"), "{name}: {err}");
            assert!(
                jit.lookup_address("f").is_err(),
                "{name}: nothing was linked"
            );
            let caught = std::panic::catch_unwind(|| panic!("an ordinary panic"));
            assert!(caught.is_err(), "the host still unwinds");
        }
        // An FDE for its own code is fine.
        let jit = jit();
        let fine = hand_written_fde(".long .Llocal_label - .", ".long 1", "0x1b");
        add(&jit, isolated, "fine.ll", &fine).unwrap();
        assert!(jit.lookup_address("f").is_ok());
    }
}

/// Issue 21, point 4: a 150-byte module that declares 6 GiB of zeros, and one that forces
/// its zeros into `.data`, are refused by the limit before the host allocates them.
#[test]
fn what_linking_would_allocate_is_bounded_before_anything_is_linked() {
    let limited = Jit::builder()
        .compile_worker(WorkerProgram::Path(
            env!("CARGO_BIN_EXE_orc-jit-worker").into(),
        ))
        .isolation_limits(IsolationLimits {
            object_bytes: 64 << 20,
            ..IsolationLimits::default()
        })
        .build()
        .unwrap();
    let bss = "@big = global [6442450944 x i8] zeroinitializer\n\
               define i64 @f() {\nentry:\n  ret i64 ptrtoint ([6442450944 x i8]* @big to i64)\n}\n";
    let before = resident_bytes();
    let err = limited
        .add_module_isolated("bss.ll", bss.as_bytes())
        .unwrap_err();
    assert!(matches!(err, Error::ModuleRejected { .. }), "{err:?}");
    assert!(err.to_string().contains("limit"), "{err}");
    // Forced into .data, the zeros are in the object itself: refused as the worker sends it.
    let data = "@big = global [100000000 x i8] zeroinitializer, section \".data\"\n\
                define i64 @f() {\nentry:\n  ret i64 ptrtoint ([100000000 x i8]* @big to i64)\n}\n";
    let err = limited
        .add_module_isolated("data.ll", data.as_bytes())
        .unwrap_err();
    assert!(err.to_string().contains("limit"), "{err}");
    let grown = resident_bytes().saturating_sub(before);
    assert!(grown < 32 << 20, "the host grew by {} MiB", grown >> 20);
    // The JIT stays usable.
    limited
        .add_module_isolated("ok.ll", b"define i32 @g() {\nentry:\n  ret i32 1\n}\n")
        .unwrap();
    assert!(limited.lookup_address("g").is_ok());
}

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}
