//! orc-jit against real LLVM: parsing, verification, process symbols, typed lookups, removal.

use orc_jit::{Error, Jit};

const ANSWER: &str = "define i32 @f() {\nentry:\n  ret i32 42\n}\n";

/// `abs` comes from libc, which every Rust test process has loaded: a real process symbol.
const CALLS_LIBC: &str = "declare i32 @abs(i32)\n\ndefine i32 @g(i32 %x) {\nentry:\n  %r = call i32 @abs(i32 %x)\n  ret i32 %r\n}\n";

/// Calls `i32 name()` of a module of this file.
fn call_i32(jit: &Jit, name: &str) -> i32 {
    let f = jit.lookup::<extern "C" fn() -> i32>(name).unwrap();
    // SAFETY: every `i32 ()` function in this file returns a constant.
    unsafe { f.call() }
}

#[test]
fn jits_and_calls_a_function() {
    let jit = Jit::new().unwrap();
    jit.add_module(jit.parse_module("answer.ll", ANSWER.as_bytes()).unwrap())
        .unwrap();
    let f = jit.lookup::<extern "C" fn() -> i32>("f").unwrap();
    // SAFETY: f returns a constant.
    assert_eq!(unsafe { f.call() }, 42);
}

#[test]
fn resolves_symbols_from_the_host_process() {
    let jit = Jit::new().unwrap();
    jit.add_module(jit.parse_module("libc.ll", CALLS_LIBC.as_bytes()).unwrap())
        .unwrap();
    let g = jit.lookup::<extern "C" fn(i32) -> i32>("g").unwrap();
    // SAFETY: g calls libc's abs.
    assert_eq!(unsafe { g.call(-42) }, 42);
}

#[test]
fn a_syntax_error_carries_llvms_file_line_col_diagnostic() {
    // The llvm-hs blog's module: the unnamed entry block takes %0, so its first value is %1.
    let text = "declare i32 @external_function(i32)\n\ndefine i32 @f() {\n  %0 = call i32 @external_function(i32 21)\n  ret i32 %0\n}\n";
    let jit = Jit::new().unwrap();
    let err = jit.parse_module("blog.ll", text.as_bytes()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Parse { .. }), "{msg}");
    assert!(
        msg.starts_with("blog.ll:4:3: error: instruction expected to be numbered '%1'"),
        "{msg}"
    );
}

#[test]
fn an_invalid_module_fails_verification() {
    let text = "define i32 @f() {\nentry:\n  ret i64 1\n}\n";
    let jit = Jit::new().unwrap();
    let err = jit.parse_module("bad.ll", text.as_bytes()).unwrap_err();
    // LLVM's parser already type-checks `ret`; either way it is a named error, not an abort.
    assert!(err.to_string().contains("bad.ll"), "{err}");

    let unverifiable = "define i32 @f() {\nentry:\n  br label %next\nnext:\n  %x = add i32 %y, 1\n  %y = add i32 %x, 1\n  ret i32 %x\n}\n";
    let err = jit
        .parse_module("cycle.ll", unverifiable.as_bytes())
        .unwrap_err();
    assert!(matches!(err, Error::Verify { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("Instruction does not dominate all uses"),
        "{err}"
    );
}

#[test]
fn bitcode_is_accepted_and_corrupt_bitcode_is_an_error() {
    let dir = std::env::temp_dir().join("orc-jit-bitcode");
    std::fs::create_dir_all(&dir).unwrap();
    let ll = dir.join("answer.ll");
    let bc = dir.join("answer.bc");
    std::fs::write(&ll, ANSWER).unwrap();
    let llvm_as = format!("llvm-as-{}", orc_jit::LLVM_VERSION);
    let status = std::process::Command::new(&llvm_as)
        .arg(&ll)
        .arg("-o")
        .arg(&bc)
        .status()
        .expect("llvm-as-N runs (cargo xtask deps --llvm N installs it)");
    assert!(status.success());

    let jit = Jit::new().unwrap();
    jit.add_module(jit.load_module(&bc).unwrap()).unwrap();
    assert_eq!(call_i32(&jit, "f"), 42);

    let mut corrupt = std::fs::read(&bc).unwrap();
    corrupt.truncate(corrupt.len() / 2);
    let err = jit.parse_module("corrupt.bc", &corrupt).unwrap_err();
    assert!(matches!(err, Error::Parse { .. }), "{err:?}");
    assert!(err.to_string().starts_with("corrupt.bc"), "{err}");
}

#[test]
fn a_missing_file_is_named() {
    let jit = Jit::new().unwrap();
    let err = jit.load_module("/nonexistent/module.ll").unwrap_err();
    assert!(err.to_string().contains("/nonexistent/module.ll"), "{err}");
}

#[test]
fn a_misspelt_external_symbol_is_offered_the_name_the_process_exports() {
    // `mallok` for `malloc` (libc is loaded in every process): the hint says which was meant.
    let text = "declare i64 @mallok(i64)\n\ndefine i64 @f() {\nentry:\n  %r = call i64 @mallok(i64 8)\n  ret i64 %r\n}\n";
    let jit = Jit::new().unwrap();
    jit.add_module(jit.parse_module("m.ll", text.as_bytes()).unwrap())
        .unwrap();
    let err = jit.lookup::<extern "C" fn() -> i64>("f").unwrap_err();
    match &err {
        Error::MissingSymbols { symbols, hint } => {
            assert_eq!(symbols, &["mallok"]);
            assert!(hint.contains("did you mean `malloc`?"), "{hint}");
        }
        other => panic!("expected MissingSymbols, got {other:?}"),
    }
}

#[test]
fn an_unknown_external_symbol_is_named_with_the_likely_cause() {
    let text = "declare i32 @no_such_function_anywhere(i32)\n\ndefine i32 @f() {\nentry:\n  %r = call i32 @no_such_function_anywhere(i32 21)\n  ret i32 %r\n}\n";
    let jit = Jit::new().unwrap();
    jit.add_module(jit.parse_module("m.ll", text.as_bytes()).unwrap())
        .unwrap();
    let err = jit.lookup::<extern "C" fn() -> i32>("f").unwrap_err();
    match &err {
        Error::MissingSymbols { symbols, hint } => {
            assert_eq!(symbols, &["no_such_function_anywhere"]);
            assert!(
                hint.contains("whole-archive") && hint.contains("DT_NEEDED"),
                "{hint}"
            );
            assert!(hint.contains("verify-symbols"), "{hint}");
        }
        other => panic!("expected MissingSymbols, got {other:?}"),
    }
    // The JIT stays usable.
    jit.add_module(
        jit.parse_module(
            "answer.ll",
            b"define i32 @other() {\nentry:\n  ret i32 7\n}\n",
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(call_i32(&jit, "other"), 7);
}

#[test]
fn lookups_check_the_signature() {
    let jit = Jit::new().unwrap();
    jit.add_module(jit.parse_module("libc.ll", CALLS_LIBC.as_bytes()).unwrap())
        .unwrap();
    for err in [
        jit.lookup::<extern "C" fn() -> i32>("g").unwrap_err(),
        jit.lookup::<extern "C" fn(i64) -> i32>("g").unwrap_err(),
        jit.lookup::<extern "C" fn(i32) -> f64>("g").unwrap_err(),
        jit.lookup::<extern "C" fn(i32)>("g").unwrap_err(),
    ] {
        assert!(matches!(err, Error::SignatureMismatch { .. }), "{err:?}");
        assert!(err.to_string().contains("defined as `i32 (i32)`"), "{err}");
    }
    let err = jit.lookup::<extern "C" fn() -> i32>("nope").unwrap_err();
    assert!(matches!(err, Error::NoSuchFunction { .. }), "{err:?}");
}

#[test]
fn a_removed_module_is_gone_and_can_be_added_again() {
    let mut jit = Jit::new().unwrap();
    let handle = jit
        .add_module(jit.parse_module("answer.ll", ANSWER.as_bytes()).unwrap())
        .unwrap();
    assert_eq!(call_i32(&jit, "f"), 42);
    jit.remove_module(&handle).unwrap();
    assert!(jit.lookup_address("f").is_err());
    let again = jit
        .add_module(jit.parse_module("answer.ll", ANSWER.as_bytes()).unwrap())
        .unwrap();
    assert_eq!(call_i32(&jit, "f"), 42);
    jit.remove_module(&again).unwrap();
}

#[test]
fn a_duplicate_definition_is_rejected_by_name() {
    let jit = Jit::new().unwrap();
    jit.add_module(jit.parse_module("a.ll", ANSWER.as_bytes()).unwrap())
        .unwrap();
    let err = jit
        .add_module(jit.parse_module("b.ll", ANSWER.as_bytes()).unwrap())
        .unwrap_err();
    assert!(matches!(err, Error::ModuleRejected { .. }), "{err:?}");
    assert!(err.to_string().contains("b.ll"), "{err}");
}

#[test]
fn every_code_generation_setting_builds_and_runs() {
    use orc_jit::{CodeModel, OptLevel, RelocModel};
    for reloc in [
        RelocModel::Pic,
        RelocModel::Static,
        RelocModel::DynamicNoPic,
    ] {
        for model in [CodeModel::JitDefault, CodeModel::Small, CodeModel::Large] {
            for opt in [OptLevel::O0, OptLevel::O1, OptLevel::O2, OptLevel::O3] {
                let jit = Jit::builder()
                    .relocation_model(reloc)
                    .code_model(model)
                    .opt_level(opt)
                    .build()
                    .unwrap();
                jit.add_module(jit.parse_module("libc.ll", CALLS_LIBC.as_bytes()).unwrap())
                    .unwrap();
                let g = jit.lookup::<extern "C" fn(i32) -> i32>("g").unwrap();
                // SAFETY: g calls libc's abs.
                assert_eq!(unsafe { g.call(-7) }, 7, "{reloc:?} {model:?} {opt:?}");
            }
        }
    }
}

#[test]
fn void_float_and_pointer_signatures() {
    let ir = "define void @store(i32* %p, i32 %v) {\nentry:\n  store i32 %v, i32* %p\n  ret void\n}\n\ndefine double @half(float %x) {\nentry:\n  %d = fpext float %x to double\n  %r = fmul double %d, 0.5\n  ret double %r\n}\n";
    let jit = Jit::new().unwrap();
    jit.add_module(jit.parse_module("types.ll", ir.as_bytes()).unwrap())
        .unwrap();
    let store = jit.lookup::<extern "C" fn(*mut i32, i32)>("store").unwrap();
    let mut slot = 0;
    // SAFETY: store writes one i32 through the pointer, which points to `slot`.
    unsafe { store.call(&mut slot, 42) };
    assert_eq!(slot, 42);
    let half = jit.lookup::<extern "C" fn(f32) -> f64>("half").unwrap();
    // SAFETY: half only does arithmetic.
    assert_eq!(unsafe { half.call(3.0) }, 1.5);
    let err = jit.lookup::<extern "C" fn(f64) -> f64>("half").unwrap_err();
    assert!(err.to_string().contains("double (float)"), "{err}");
}

#[test]
fn typed_pointer_ir_gets_an_opaque_pointer_hint_where_llvm_has_only_those() {
    // The pre-3.7 `load` form: an error on every version, but on 17+ it also points at the
    // likely cause, IR written for typed pointers.
    let text = "define i32 @f(i32* %p) {\nentry:\n  %v = load i32* %p\n  ret i32 %v\n}\n";
    let jit = Jit::new().unwrap();
    let err = jit.parse_module("typed.ll", text.as_bytes()).unwrap_err();
    assert!(matches!(err, Error::Parse { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.starts_with("typed.ll:3:"), "{msg}");
    assert_eq!(
        msg.contains("opaque pointers only"),
        orc_jit::LLVM_VERSION >= 17,
        "{msg}"
    );
}
