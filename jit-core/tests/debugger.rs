//! gdb sees JIT code when the JIT is built with `debugger(true)`: it stops at a source line of
//! a JIT-compiled function, prints its locals, and a backtrace shows the JIT frames and the
//! host's below them; on both object layers the LLVM version has (issue 24, points 1, 3, 4).
//!
//! The debugged program is this test binary itself, started again by gdb with
//! `JIT_CORE_DEBUGGEE` set (so the real tools drive it: `gdb -batch`).

use std::path::{Path, PathBuf};
use std::process::Command;

use jit_core::{Jit, ObjectLayer};

const SOURCE: &str = "int jit_helper(int x) {\n  int doubled = x * 2;\n  return doubled + 1;\n}\n\nint jit_entry(int x) {\n  int result = jit_helper(x);\n  return result;\n}\n";

/// The C source compiled by clang-N with `-g` to textual IR (what a user's helper is).
fn module_with_debug_info(dir: &Path) -> PathBuf {
    let c = dir.join("jit_debug.c");
    let ll = dir.join("jit_debug.ll");
    std::fs::write(&c, SOURCE).unwrap();
    let clang = format!("clang-{}", jit_core::LLVM_VERSION);
    let status = Command::new(&clang)
        .args(["-g", "-O0", "-S", "-emit-llvm", "-o"])
        .arg(&ll)
        .arg(&c)
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "{clang}: {e} (cargo xtask deps --llvm {} installs it)",
                jit_core::LLVM_VERSION
            )
        });
    assert!(status.success(), "{clang} failed");
    ll
}

/// The debuggee: JIT the module with the debugger switch on and call into it.
fn debuggee(module: &str, layer: &str) -> ! {
    let layer = match layer {
        "rtdyld" => ObjectLayer::RuntimeDyld,
        _ => ObjectLayer::Default,
    };
    let jit = Jit::builder()
        .debugger(true)
        .object_layer(layer)
        .build()
        .unwrap();
    jit.add_module(jit.load_module(module).unwrap()).unwrap();
    let entry = jit
        .lookup::<extern "C" fn(i32) -> i32>("jit_entry")
        .unwrap();
    // SAFETY: jit_entry is the C above: arithmetic on its argument.
    let result = unsafe { entry.call(20) };
    println!("jit_entry(20) = {result}");
    std::process::exit(if result == 41 { 0 } else { 1 })
}

fn gdb(layer: &str) -> String {
    let dir =
        std::env::temp_dir().join(format!("jit-core-debugger-{layer}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let module = module_with_debug_info(&dir);
    let out = Command::new("gdb")
        .args([
            "-batch",
            "-nx",
            "-ex",
            "set breakpoint pending on",
            "-ex",
            "set debuginfod enabled off",
            "-ex",
            "break jit_debug.c:3",
            "-ex",
            "run",
            "-ex",
            "print doubled",
            "-ex",
            "print x",
            "-ex",
            "bt",
            "-ex",
            "continue",
            "--args",
        ])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "gdb_stops_in_jit_code_and_prints_its_locals",
            "--nocapture",
        ])
        .env("JIT_CORE_DEBUGGEE", &module)
        .env("JIT_CORE_DEBUGGEE_LAYER", layer)
        .output()
        .unwrap_or_else(|e| panic!("gdb: {e} (cargo xtask deps installs it)"));
    let _ = std::fs::remove_dir_all(&dir);
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn gdb_stops_in_jit_code_and_prints_its_locals() {
    if let Ok(module) = std::env::var("JIT_CORE_DEBUGGEE") {
        let layer = std::env::var("JIT_CORE_DEBUGGEE_LAYER").unwrap_or_default();
        debuggee(&module, &layer);
    }
    // LLJIT's own layer (RuntimeDyld on 14-16, JITLink from 19), and RuntimeDyld explicitly.
    for layer in ["default", "rtdyld"] {
        let said = gdb(layer);
        assert!(
            said.contains("Breakpoint 1, jit_helper (x=20) at") && said.contains("jit_debug.c:3"),
            "{layer}: gdb did not stop at the source line:\n{said}"
        );
        assert!(said.contains("$1 = 40"), "{layer}: a local:\n{said}");
        assert!(said.contains("$2 = 20"), "{layer}: an argument:\n{said}");
        // The backtrace: both JIT frames, then the host's (this test's function).
        let bt = &said[said.find("#0").unwrap_or(0)..];
        assert!(
            bt.contains("jit_helper") && bt.contains("jit_entry"),
            "{layer}:\n{said}"
        );
        assert!(
            bt.contains("debuggee") && bt.contains("gdb_stops_in_jit_code"),
            "{layer}: the host frames below the JIT's:\n{said}"
        );
        assert!(
            said.contains("jit_entry(20) = 41"),
            "{layer}: it ran on:\n{said}"
        );
    }
}
