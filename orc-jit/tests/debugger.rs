//! gdb sees JIT code when the JIT is built with `debugger(true)`: it stops at a source line of
//! a JIT-compiled function, prints its locals, and a backtrace shows the JIT frames and the
//! host's below them; on both object layers the LLVM version has (issue 24, points 1, 3, 4).
//!
//! The debugged program is this test binary itself, started again by gdb with
//! `ORC_JIT_DEBUGGEE` set (so the real tools drive it: `gdb -batch`).

use std::path::{Path, PathBuf};
use std::process::Command;

use orc_jit::{Jit, ObjectLayer};

const SOURCE: &str = "int jit_helper(int x) {\n  int doubled = x * 2;\n  return doubled + 1;\n}\n\nint jit_entry(int x) {\n  int result = jit_helper(x);\n  return result;\n}\n";

/// A C helper library (compiled with `-g`), and JIT code that calls it.
const HELPER: &str = "int c_helper(int x) {\n  int tripled = x * 3;\n  return tripled + 1;\n}\n";
const CALLS_HELPER: &str = "declare i32 @c_helper(i32)\ndefine i32 @jit_entry(i32 %x) {\nentry:\n  %r = call i32 @c_helper(i32 %x)\n  ret i32 %r\n}\n";
/// The JIT code of the IPO case, in C with `-g` too: the helper's inlined code keeps its source
/// lines only in a caller that has some.
const CALLS_HELPER_C: &str = "int c_helper(int x);\n\nint jit_entry(int x) {\n  int result = c_helper(x);\n  return result;\n}\n";

/// The C source compiled by clang-N with `-g` to textual IR (what a user's helper is).
fn module_with_debug_info(dir: &Path) -> PathBuf {
    let c = dir.join("jit_debug.c");
    let ll = dir.join("jit_debug.ll");
    std::fs::write(&c, SOURCE).unwrap();
    let clang = format!("clang-{}", orc_jit::LLVM_VERSION);
    let status = Command::new(&clang)
        .args(["-g", "-O0", "-S", "-emit-llvm", "-o"])
        .arg(&ll)
        .arg(&c)
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "{clang}: {e} (cargo xtask deps --llvm {} installs it)",
                orc_jit::LLVM_VERSION
            )
        });
    assert!(status.success(), "{clang} failed");
    ll
}

/// The debuggee: JIT the module with the debugger switch on and call into it. `how` says where
/// the code with debug information is: the module itself, or a C helper in a static archive, a
/// shared library or IPO bitcode.
fn debuggee(module: &str, how: &str) -> ! {
    let dir = Path::new(module).parent().unwrap();
    let mut builder = Jit::builder();
    builder.debugger(true);
    if how == "rtdyld" {
        builder.object_layer(ObjectLayer::RuntimeDyld);
    }
    match how {
        "archive" => {
            builder.static_archive(dir.join("libhelper.a"));
        }
        "shared" => {
            builder.shared_library(dir.join("libhelper.so"));
        }
        _ => {}
    }
    let jit = builder.build().unwrap();
    match how {
        "archive" | "shared" => {
            jit.add_module(
                jit.parse_module("calls.ll", CALLS_HELPER.as_bytes())
                    .unwrap(),
            )
            .unwrap();
        }
        "ipo" => {
            let runtime = jit.add_ipo_runtime(dir.join("helper.bc")).unwrap();
            let module = jit.load_module(dir.join("calls.ll")).unwrap();
            jit.add_module_with_runtime(module, &runtime).unwrap();
        }
        _ => {
            jit.add_module(jit.load_module(module).unwrap()).unwrap();
        }
    }
    let entry = jit
        .lookup::<extern "C" fn(i32) -> i32>("jit_entry")
        .unwrap();
    // SAFETY: jit_entry is the C above: arithmetic on its argument.
    let result = unsafe { entry.call(20) };
    println!("jit_entry(20) = {result}");
    std::process::exit(0)
}

/// The helper as a static archive, a shared library and bitcode, each with debug information,
/// and the IPO case's JIT code (C with `-g` too).
fn build_helper(dir: &Path) {
    std::fs::write(dir.join("c_helper.c"), HELPER).unwrap();
    std::fs::write(dir.join("calls.c"), CALLS_HELPER_C).unwrap();
    let run = |program: &str, args: &[&str]| {
        let status = Command::new(program)
            .args(args)
            .current_dir(dir)
            .status()
            .unwrap_or_else(|e| panic!("{program}: {e} (cargo xtask deps installs it)"));
        assert!(status.success(), "{program} {args:?}");
    };
    run(
        "cc",
        &["-g", "-O0", "-fPIC", "-c", "c_helper.c", "-o", "c_helper.o"],
    );
    run("ar", &["rcs", "libhelper.a", "c_helper.o"]);
    run(
        "cc",
        &[
            "-g",
            "-O0",
            "-fPIC",
            "-shared",
            "c_helper.c",
            "-o",
            "libhelper.so",
        ],
    );
    let clang = format!("clang-{}", orc_jit::LLVM_VERSION);
    // -O1, not -O0: IPO imports the helper's body (an -O0 body is optnone).
    run(
        &clang,
        &[
            "-g",
            "-O1",
            "-emit-llvm",
            "-c",
            "c_helper.c",
            "-o",
            "helper.bc",
        ],
    );
    run(
        &clang,
        &["-g", "-O1", "-S", "-emit-llvm", "calls.c", "-o", "calls.ll"],
    );
}

fn gdb(layer: &str) -> String {
    let dir = std::env::temp_dir().join(format!("orc-jit-debugger-{layer}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let module = module_with_debug_info(&dir);
    build_helper(&dir);
    // Optimised (IPO runs O3), the inlined helper's line 3 is no statement boundary (LLVM 22's
    // key instructions put it on the caller's return): its line 2 is.
    let (line, local, local_value) = match layer {
        "ipo" => ("c_helper.c:2", "tripled", "60"),
        "archive" | "shared" => ("c_helper.c:3", "tripled", "60"),
        _ => ("jit_debug.c:3", "doubled", "40"),
    };
    let out = Command::new("gdb")
        .args([
            "-batch",
            "-nx",
            "-ex",
            "set breakpoint pending on",
            "-ex",
            "set debuginfod enabled off",
            "-ex",
            &format!("break {line}"),
            "-ex",
            "run",
            "-ex",
            &format!("print {local}"),
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
        .env("ORC_JIT_DEBUGGEE", &module)
        .env("ORC_JIT_DEBUGGEE_LAYER", layer)
        .output()
        .unwrap_or_else(|e| panic!("gdb: {e} (cargo xtask deps installs it)"));
    let _ = std::fs::remove_dir_all(&dir);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // An inlined helper's locals may be optimised out (IPO runs O3): its line is what counts.
    if layer != "ipo" {
        assert!(
            said.contains(&format!("$1 = {local_value}")),
            "{layer}: the local {local}:\n{said}"
        );
    }
    said
}

#[test]
fn gdb_stops_in_jit_code_and_prints_its_locals() {
    if let Ok(module) = std::env::var("ORC_JIT_DEBUGGEE") {
        let layer = std::env::var("ORC_JIT_DEBUGGEE_LAYER").unwrap_or_default();
        debuggee(&module, &layer);
    }
    // LLJIT's own layer (RuntimeDyld on 14-16, JITLink from 19), and RuntimeDyld explicitly.
    for layer in ["default", "rtdyld"] {
        let said = gdb(layer);
        assert!(
            said.contains("Breakpoint 1, jit_helper (x=20) at") && said.contains("jit_debug.c:3"),
            "{layer}: gdb did not stop at the source line:\n{said}"
        );
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
    // A C helper compiled with -g, reached from JIT code three ways: its source line too.
    for way in ["archive", "shared", "ipo"] {
        let said = gdb(way);
        assert!(
            said.contains("c_helper (x=20) at") && said.contains("c_helper.c:"),
            "{way}: gdb did not stop in the helper:\n{said}"
        );
        let bt = &said[said.find("#0").unwrap_or(0)..];
        assert!(
            bt.contains("jit_entry") && bt.contains("debuggee"),
            "{way}:\n{said}"
        );
        assert!(
            said.contains("jit_entry(20) = 61"),
            "{way}: it ran on:\n{said}"
        );
    }
}
