//! Whether a debugger will see a binary's JIT code, on programs made with the system `cc` that
//! have what LLVM gives a JIT host: gdb's JIT interface (`__jit_debug_register_code`,
//! `__jit_debug_descriptor`) and LLVM's registrar, defined in the binary (LLVM linked
//! statically) or exported by a libLLVM it loads; exported, in `.symtab` only, or stripped.
//! The real thing (a static LLVM, gdb stopping in JIT code) is xtask's tests/debugger_linkage.rs.

use std::path::{Path, PathBuf};
use std::process::Command;

use verify_symbols::{DebuggerReport, verify};

/// What LLVM defines for gdb's JIT interface and its registrar (as JITLoaderGDB.cpp does).
const INTERFACE: &str = "struct jit_descriptor { int version; int action; void *relevant; void *first; };\n\
    __attribute__((noinline)) void __jit_debug_register_code(void) { __asm__ volatile(\"\"); }\n\
    struct jit_descriptor __jit_debug_descriptor = { 1, 0, 0, 0 };\n\
    long llvm_orc_registerJITLoaderGDBWrapper(const char *d, long s) { return s; }\n\
    long llvm_orc_registerJITLoaderGDBAllocAction(const char *d, long s) { return s; }\n";

fn cc(dir: &Path, args: &[&str]) {
    let out = Command::new("cc")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cc {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("verify-symbols-debugger-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A jit-linkage note (format 2) that asked for a debugger with LLVM linked statically.
const NOTE: &str = ".section .note.jit-linkage,\"a\",@note\n.balign 4\n.long 12\n.long 2f-1f\n\
    .long 0x4a495401\n.asciz \"jit-linkage\"\n.balign 4\n\
    1: .ascii \"jit-linkage-symbols 2\\nmanifest\\tc-libs/libraries.toml\\ndebugger\\tstatic\\n\"\n\
    2: .balign 4\n.section .note.GNU-stack,\"\",@progbits\n";

fn debugger(binary: &Path) -> DebuggerReport {
    verify(binary, &["main"])
        .unwrap()
        .debugger
        .unwrap_or_else(|| panic!("{}: no debugger answer", binary.display()))
}

fn strip(binary: &Path) -> PathBuf {
    let out = binary.with_extension("stripped");
    let status = Command::new("strip")
        .arg(binary)
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    out
}

#[test]
fn static_llvm_is_seen_when_exported_and_lost_when_stripped_otherwise() {
    let dir = scratch("static");
    std::fs::write(
        dir.join("main.c"),
        format!("{INTERFACE}int main(void) {{ __jit_debug_register_code(); return 0; }}\n"),
    )
    .unwrap();
    std::fs::write(dir.join("note.s"), NOTE).unwrap();
    // Not exported: gdb finds them in .symtab, until the binary is stripped.
    cc(&dir, &["main.c", "note.s", "-o", "symtab"]);
    let answer = debugger(&dir.join("symtab"));
    assert!(
        !answer.sees_jit_code,
        "the registrar is not exported: {}",
        answer.why
    );
    assert!(
        answer.why.contains(".symtab only") && answer.why.contains("Symbols not found"),
        "{}",
        answer.why
    );
    let answer = debugger(&strip(&dir.join("symtab")));
    assert!(!answer.sees_jit_code, "{}", answer.why);
    assert!(
        answer
            .why
            .contains("static LLVM, stripped: gdb will not see JIT code")
            && answer.why.contains("`__jit_debug_descriptor`"),
        "{}",
        answer.why
    );
    // Exported, exactly these four (what jit-linkage's `debugger = true` does): seen, stripped
    // or not.
    std::fs::write(
        dir.join("list"),
        "{ __jit_debug_register_code; __jit_debug_descriptor; \
         llvm_orc_registerJITLoaderGDBWrapper; llvm_orc_registerJITLoaderGDBAllocAction; };\n",
    )
    .unwrap();
    cc(
        &dir,
        &[
            "main.c",
            "note.s",
            "-o",
            "exported",
            "-Wl,--dynamic-list=list",
        ],
    );
    for binary in [dir.join("exported"), strip(&dir.join("exported"))] {
        let answer = debugger(&binary);
        assert!(answer.sees_jit_code, "{}: {}", binary.display(), answer.why);
        assert!(answer.why.contains("stripped or not"), "{}", answer.why);
    }
    // gdb's two exported but not the registrar: JITLink's debug support fails.
    std::fs::write(
        dir.join("half.list"),
        "{ __jit_debug_register_code; __jit_debug_descriptor; };\n",
    )
    .unwrap();
    cc(
        &dir,
        &[
            "main.c",
            "note.s",
            "-o",
            "half",
            "-Wl,--dynamic-list=half.list",
        ],
    );
    let answer = debugger(&dir.join("half"));
    assert!(!answer.sees_jit_code, "{}", answer.why);
    assert!(
        answer.why.contains(
            "llvm_orc_registerJITLoaderGDBWrapper and llvm_orc_registerJITLoaderGDBAllocAction \
             are not exported"
        ),
        "{}",
        answer.why
    );
    // LLVM 22 defines no wrapper: the same list exports the other three, and that is enough.
    let llvm22 = INTERFACE.replace(
        "long llvm_orc_registerJITLoaderGDBWrapper",
        "static long unused",
    );
    std::fs::write(
        dir.join("main22.c"),
        format!("{llvm22}int main(void) {{ __jit_debug_register_code(); return 0; }}\n"),
    )
    .unwrap();
    cc(
        &dir,
        &[
            "main22.c",
            "note.s",
            "-o",
            "llvm22",
            "-Wl,--dynamic-list=list",
        ],
    );
    let answer = debugger(&strip(&dir.join("llvm22")));
    assert!(answer.sees_jit_code, "{}", answer.why);
    cc(
        &dir,
        &[
            "main22.c",
            "note.s",
            "-o",
            "llvm22-half",
            "-Wl,--dynamic-list=half.list",
        ],
    );
    let answer = debugger(&dir.join("llvm22-half"));
    assert!(!answer.sees_jit_code, "{}", answer.why);
    assert!(
        answer
            .why
            .contains("But llvm_orc_registerJITLoaderGDBAllocAction is not exported"),
        "{}",
        answer.why
    );
}

#[test]
fn a_shared_libllvm_that_exports_the_interface_is_seen() {
    let dir = scratch("shared");
    std::fs::write(dir.join("llvm.c"), INTERFACE).unwrap();
    cc(
        &dir,
        &[
            "-shared",
            "-fPIC",
            "-o",
            "libLLVM-test.so",
            "llvm.c",
            "-Wl,-soname,libLLVM-test.so",
        ],
    );
    std::fs::write(dir.join("main.c"), "int main(void) { return 0; }\n").unwrap();
    cc(
        &dir,
        &[
            "main.c",
            "-o",
            "program",
            "-Wl,--no-as-needed",
            "-L.",
            "-lLLVM-test",
            "-Wl,--enable-new-dtags",
            "-Wl,-rpath,$ORIGIN",
        ],
    );
    for binary in [dir.join("program"), strip(&dir.join("program"))] {
        let answer = debugger(&binary);
        assert!(answer.sees_jit_code, "{}", answer.why);
        assert!(
            answer.why.starts_with("libLLVM-test.so exports"),
            "{}",
            answer.why
        );
    }
    // A program with no LLVM and no note: nothing to say.
    cc(&dir, &["main.c", "-o", "plain"]);
    assert_eq!(
        verify(&dir.join("plain"), &["main"]).unwrap().debugger,
        None
    );
}
