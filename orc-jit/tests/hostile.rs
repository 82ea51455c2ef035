//! Modules that would crash LLVM or the host, refused with a clear error before any code is
//! generated, in-process (this test process would die otherwise) and through a worker.

use orc_jit::{Error, Jit, WorkerProgram};

fn both_ways(name: &str, ir: &str) -> [Error; 2] {
    let jit = Jit::builder()
        .compile_worker(WorkerProgram::Path(
            env!("CARGO_BIN_EXE_orc-jit-worker").into(),
        ))
        .build()
        .unwrap();
    let in_process = jit
        .parse_module(name, ir.as_bytes())
        .and_then(|m| jit.add_module(m).map(drop))
        .unwrap_err();
    let isolated = jit.add_module_isolated(name, ir.as_bytes()).unwrap_err();
    [in_process, isolated]
}

#[test]
fn an_intrinsic_of_another_architecture_is_named() {
    let ir = "declare i32 @llvm.aarch64.crc32b(i32, i32)\ndefine i32 @crc(i32 %a) {\nentry:\n  %r = call i32 @llvm.aarch64.crc32b(i32 %a, i32 1)\n  ret i32 %r\n}\n";
    for err in both_ways("crc.ll", ir) {
        assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("llvm.aarch64.crc32b") && text.contains("aarch64"),
            "{text}"
        );
    }
}

#[test]
fn an_unknown_intrinsic_is_not_a_link_problem() {
    let ir = "declare i32 @llvm.x86.no.such.thing(i32)\ndefine i32 @f(i32 %a) {\nentry:\n  %r = call i32 @llvm.x86.no.such.thing(i32 %a)\n  ret i32 %r\n}\n";
    for err in both_ways("unknown.ll", ir) {
        assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("not an intrinsic"), "{text}");
        assert!(!text.contains("whole-archive"), "{text}");
    }
}

/// A real x86 feature this host lacks, by /proc/cpuinfo's name for it.
fn missing_feature() -> Option<&'static str> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let flags: Vec<&str> = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    [
        ("avx512_fp16", "avx512fp16"),
        ("amx_tile", "amx-tile"),
        ("avx512_vp2intersect", "avx512vp2intersect"),
        ("avx_vnni_int16", "avxvnniint16"),
        ("sha512", "sha512"),
    ]
    .into_iter()
    .find(|(flag, _)| !flags.contains(flag))
    .map(|(_, feature)| feature)
}

#[test]
fn a_cpu_feature_the_host_lacks_is_named_instead_of_sigill() {
    let Some(feature) = missing_feature() else {
        eprintln!("this CPU has every feature the test knows of");
        return;
    };
    let ir = format!(
        "define i32 @f() #0 {{\nentry:\n  ret i32 1\n}}\nattributes #0 = {{ \"target-features\"=\"+sse2,+{feature}\" }}\n"
    );
    for err in both_ways("features.ll", &ir) {
        assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
        assert!(err.to_string().contains(feature), "{err}");
    }
}

#[test]
fn another_cpu_is_named() {
    let ir = "define i32 @f() #0 {\nentry:\n  ret i32 1\n}\nattributes #0 = { \"target-cpu\"=\"no-such-cpu-x\" }\n";
    for err in both_ways("cpu.ll", ir) {
        assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
        assert!(err.to_string().contains("no-such-cpu-x"), "{err}");
    }
}

#[test]
fn a_constant_expression_nested_10000_deep_parses_in_process() {
    // 10,000 nested `add` constant expressions (LLVM 14 and 15 have them; later versions
    // dropped `add` from constant expressions, and then it is a parse error, not a crash).
    let mut expr = String::from("i64 1");
    for _ in 0..10_000 {
        expr = format!("i64 add ({expr}, i64 1)");
    }
    let ir = format!("@g = global i64 0\ndefine i64 @f() {{\nentry:\n  ret {expr}\n}}\n");
    assert!(ir.len() > 150_000);
    let jit = Jit::new().unwrap();
    match jit.parse_module("deep.ll", ir.as_bytes()) {
        Ok(module) => {
            jit.add_module(module).unwrap();
            let f = jit.lookup::<extern "C" fn() -> i64>("f").unwrap();
            // SAFETY: f returns a constant.
            assert_eq!(unsafe { f.call() }, 10_001);
        }
        Err(err) => assert!(matches!(err, Error::Parse { .. }), "{err:?}"),
    }
}

/// Inline assembly llc rejects: an invalid mnemonic, an invalid register constraint, `i` given
/// a register. Each is LLVM's error, not garbage code.
#[test]
fn inline_asm_errors_fail_the_compile_with_llvms_text() {
    let cases = [
        (
            "mnemonic.ll",
            "define i32 @f() {\nentry:\n  call void asm sideeffect \"no_such_mnemonic %eax\", \"~{eax}\"()\n  ret i32 1\n}\n",
        ),
        (
            "constraint.ll",
            "define i32 @f() {\nentry:\n  %r = call i32 asm \"mov $$1, $0\", \"={no_such_register}\"()\n  ret i32 %r\n}\n",
        ),
        (
            "immediate.ll",
            "define i32 @f(i32 %x) {\nentry:\n  call void asm sideeffect \"nop # $0\", \"i\"(i32 %x)\n  ret i32 1\n}\n",
        ),
    ];
    for (name, ir) in cases {
        let jit = Jit::builder()
            .compile_worker(WorkerProgram::Path(
                env!("CARGO_BIN_EXE_orc-jit-worker").into(),
            ))
            .build()
            .unwrap();
        // In-process: adding (which compiles) is the error, as isolated.
        let err = jit
            .add_module(jit.parse_module(name, ir.as_bytes()).unwrap())
            .unwrap_err();
        assert!(matches!(err, Error::Compile { .. }), "{name}: {err:?}");
        assert!(
            jit.lookup_address("f").is_err(),
            "{name}: nothing was added"
        );
        // Isolated: adding is the error.
        let other = Jit::builder()
            .compile_worker(WorkerProgram::Path(
                env!("CARGO_BIN_EXE_orc-jit-worker").into(),
            ))
            .build()
            .unwrap();
        let err = other.add_module_isolated(name, ir.as_bytes()).unwrap_err();
        assert!(matches!(err, Error::Compile { .. }), "{name}: {err:?}");
    }
}
