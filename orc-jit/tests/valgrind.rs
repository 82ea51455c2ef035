//! valgrind over 1,000 add/compile/call/remove cycles: no invalid access, and no byte that
//! orc-jit allocated (or asked LLVM to allocate) is definitely lost.
//!
//! The test runs its own binary again under valgrind with `ORC_JIT_VALGRIND_CHILD` set; the
//! child does the cycles, the parent reads valgrind's report.

use std::process::Command;

use orc_jit::Jit;

const CHILD: &str = "ORC_JIT_VALGRIND_CHILD";
const MODULE: &str = "declare i32 @abs(i32)\n\ndefine i32 @cycle(i32 %x) {\nentry:\n  %a = call i32 @abs(i32 %x)\n  %r = mul i32 %a, 3\n  ret i32 %r\n}\n";

fn cycles(n: i32) {
    let mut jit = Jit::new().unwrap();
    for i in 0..n {
        let handle = jit
            .add_module(jit.parse_module("cycle.ll", MODULE.as_bytes()).unwrap())
            .unwrap();
        let f = jit.lookup::<extern "C" fn(i32) -> i32>("cycle").unwrap();
        // SAFETY: cycle calls libc's abs and multiplies.
        assert_eq!(unsafe { f.call(-i) }, 3 * i);
        // An error path too: a missing symbol, every 10th cycle.
        if i % 10 == 0 {
            let bad = "declare i32 @nowhere()\ndefine i32 @g() {\nentry:\n  %r = call i32 @nowhere()\n  ret i32 %r\n}\n";
            let h = jit
                .add_module(jit.parse_module("bad.ll", bad.as_bytes()).unwrap())
                .unwrap();
            assert!(jit.lookup::<extern "C" fn() -> i32>("g").is_err());
            jit.remove_module(&h).unwrap();
            assert!(jit.parse_module("broken.ll", b"define i32 @x( {").is_err());
        }
        jit.remove_module(&handle).unwrap();
    }
}

#[test]
fn a_thousand_cycles_lose_no_memory_under_valgrind() {
    if std::env::var_os(CHILD).is_some() {
        cycles(1_000);
        return;
    }
    let output = Command::new("valgrind")
        .args([
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--error-exitcode=99",
            "--num-callers=40",
        ])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_thousand_cycles_lose_no_memory_under_valgrind",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .expect("valgrind runs (cargo xtask deps installs it)");
    let report = String::from_utf8_lossy(&output.stderr);
    let summary: Vec<&str> = report
        .lines()
        .filter(|l| l.contains("ERROR SUMMARY") || l.contains("definitely lost"))
        .collect();
    eprintln!("{}", summary.join("\n"));
    assert!(
        output.status.success(),
        "valgrind found errors or definite leaks (exit {:?}):\n{report}",
        output.status.code()
    );
    assert!(
        report.contains("ERROR SUMMARY: 0 errors"),
        "valgrind did not report a clean run:\n{report}"
    );
}
