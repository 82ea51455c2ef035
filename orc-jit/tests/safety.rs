//! The safety boundary: each way a safe program once crashed or corrupted a process through
//! orc-jit is now an `Err` (or does not compile: see the crate docs' compile_fail examples).

use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use orc_jit::{Error, Jit};

fn add(jit: &Jit, name: &str, ir: &str) -> Result<orc_jit::ModuleHandle, Error> {
    jit.add_module(jit.parse_module(name, ir.as_bytes())?)
}

const ANSWER: &str = "define i32 @f() {\nentry:\n  ret i32 42\n}\n";

#[test]
fn a_module_parsed_by_another_jit_is_refused() {
    let first = Jit::new().unwrap();
    let second = Jit::new().unwrap();
    let module = first.parse_module("answer.ll", ANSWER.as_bytes()).unwrap();
    let err = second.add_module(module).unwrap_err();
    assert!(matches!(err, Error::ForeignModule { .. }), "{err:?}");
    assert!(err.to_string().contains("answer.ll"), "{err}");
    drop(first);
    // The second JIT is untouched and works.
    add(&second, "answer.ll", ANSWER).unwrap();
    let f = second.lookup::<extern "C" fn() -> i32>("f").unwrap();
    // SAFETY: f returns a constant.
    assert_eq!(unsafe { f.call() }, 42);
}

#[test]
fn a_handle_of_another_jit_is_refused_and_removes_nothing() {
    let dropped = Jit::new().unwrap();
    let foreign = add(&dropped, "answer.ll", ANSWER).unwrap();
    drop(dropped);
    let mut jit = Jit::new().unwrap();
    let _own = add(&jit, "answer.ll", ANSWER).unwrap();
    let err = jit.remove_module(&foreign).unwrap_err();
    assert!(matches!(err, Error::ForeignHandle), "{err:?}");
    let f = jit.lookup::<extern "C" fn() -> i32>("f").unwrap();
    // SAFETY: f returns a constant.
    assert_eq!(unsafe { f.call() }, 42);
}

#[test]
fn a_module_others_call_into_cannot_be_removed() {
    let mut jit = Jit::new().unwrap();
    let a = add(&jit, "a.ll", "define i32 @g() {\nentry:\n  ret i32 7\n}\n").unwrap();
    let b = add(
        &jit,
        "b.ll",
        "declare i32 @g()\ndefine i32 @f() {\nentry:\n  %r = call i32 @g()\n  ret i32 %r\n}\n",
    )
    .unwrap();
    let call_f = |jit: &Jit| {
        let f = jit.lookup::<extern "C" fn() -> i32>("f").unwrap();
        // SAFETY: f calls g, which returns a constant.
        unsafe { f.call() }
    };
    assert_eq!(call_f(&jit), 7);
    let err = jit.remove_module(&a).unwrap_err();
    match &err {
        Error::ModuleInUse { module, dependents } => {
            assert_eq!(module, "a.ll");
            assert_eq!(dependents, &["b.ll"]);
        }
        other => panic!("expected ModuleInUse, got {other:?}"),
    }
    assert!(err.to_string().contains("remove them first"), "{err}");
    // Nothing was removed: f still works. Removing the dependent first, then a, is fine.
    assert_eq!(call_f(&jit), 7);
    jit.remove_module(&b).unwrap();
    jit.remove_module(&a).unwrap();
    assert!(matches!(
        jit.remove_module(&a).unwrap_err(),
        Error::StaleHandle(_)
    ));
    assert!(jit.lookup_address("g").is_err());
}

#[test]
fn a_bool_needs_a_zeroext_i1() {
    let jit = Jit::new().unwrap();
    add(
        &jit,
        "bare.ll",
        "define i1 @bare(i8 %x) {\nentry:\n  %r = icmp eq i8 %x, 1\n  ret i1 %r\n}\n",
    )
    .unwrap();
    let err = jit.lookup::<extern "C" fn(u8) -> bool>("bare").unwrap_err();
    assert!(matches!(err, Error::SignatureMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains("zeroext"), "{err}");

    add(
        &jit,
        "good.ll",
        "define zeroext i1 @good(i8 zeroext %x) {\nentry:\n  %r = icmp eq i8 %x, 1\n  ret i1 %r\n}\n",
    )
    .unwrap();
    let good = jit.lookup::<extern "C" fn(u8) -> bool>("good").unwrap();
    // SAFETY: good compares its argument.
    let (yes, no) = unsafe { (good.call(1), good.call(254)) };
    assert!(yes && !no);
    // A signed Rust type against a zeroext definition is refused too.
    assert!(jit.lookup::<extern "C" fn(i8) -> bool>("good").is_err());
}

#[test]
fn the_definition_checked_is_the_one_orc_calls() {
    extern "C" fn host(x: i32) -> i32 {
        1000 + x
    }
    let jit = Jit::builder()
        .host_function("host", host as extern "C" fn(i32) -> i32)
        .build()
        .unwrap();
    // A weak copy with another signature: ORC keeps the host function, so the module's own
    // calls would go to it with the wrong ABI.
    let err = add(
        &jit,
        "weak.ll",
        "define weak i64 @host(i64 %x) {\nentry:\n  ret i64 %x\n}\n",
    )
    .unwrap_err();
    assert!(matches!(err, Error::DeclarationMismatch { .. }), "{err:?}");
    // A weak copy with the same signature is discarded: the lookup gets the host function.
    add(
        &jit,
        "weak-same.ll",
        "define weak i32 @host(i32 %x) {\nentry:\n  ret i32 0\n}\n",
    )
    .unwrap();
    let f = jit.lookup::<extern "C" fn(i32) -> i32>("host").unwrap();
    // SAFETY: the host function only adds.
    assert_eq!(unsafe { f.call(1) }, 1001);

    // available_externally is a copy for the optimiser, not a definition: `labs` is libc's.
    add(
        &jit,
        "avail.ll",
        "define available_externally i32 @labs(i32 %x) {\nentry:\n  ret i32 %x\n}\n",
    )
    .unwrap();
    let err = jit.lookup::<extern "C" fn(i32) -> i32>("labs").unwrap_err();
    assert!(matches!(err, Error::NoSuchFunction { .. }), "{err:?}");

    // Two weak definitions: the first one stays, so the second must have its ABI.
    add(
        &jit,
        "w1.ll",
        "define weak i32 @w(i32 %x) {\nentry:\n  ret i32 %x\n}\n",
    )
    .unwrap();
    let err = add(
        &jit,
        "w2.ll",
        "define weak i64 @w(i64 %x) {\nentry:\n  ret i64 %x\n}\n",
    )
    .unwrap_err();
    assert!(matches!(err, Error::DeclarationMismatch { .. }), "{err:?}");
    assert!(jit.lookup::<extern "C" fn(i64) -> i64>("w").is_err());
}

#[test]
fn calling_conventions_passing_attributes_and_varargs_are_compared() {
    let jit = Jit::new().unwrap();
    let cases = [
        ("x86_regcallcc i32 @cc1(i32 %x)", "x86_regcallcc"),
        ("win64cc i32 @cc2(i32 %x)", "win64cc"),
        ("ghccc i32 @cc3(i32 %x)", "ghccc"),
    ];
    for (i, (head, said)) in cases.iter().enumerate() {
        add(
            &jit,
            &format!("cc{i}.ll"),
            &format!("define {head} {{\nentry:\n  ret i32 %x\n}}\n"),
        )
        .unwrap();
        let name = format!("cc{}", i + 1);
        let err = jit.lookup::<extern "C" fn(i32) -> i32>(&name).unwrap_err();
        assert!(matches!(err, Error::SignatureMismatch { .. }), "{err:?}");
        assert!(err.to_string().contains(said), "{err}");
    }
    let ir = "%pair = type { i64, i64 }\n\
        define i64 @by_value(%pair* byval(%pair) %p) {\nentry:\n  ret i64 0\n}\n\
        define void @returns_struct(%pair* sret(%pair) %p) {\nentry:\n  ret void\n}\n\
        define i64 @by_alloca(%pair* inalloca(%pair) %p) {\nentry:\n  ret i64 0\n}\n\
        define i64 @in_register(i64 inreg %x) {\nentry:\n  ret i64 %x\n}\n\
        define i32 @variadic(i32 %n, ...) {\nentry:\n  ret i32 %n\n}\n";
    add(&jit, "attrs.ll", ir).unwrap();
    for (name, said) in [
        ("by_value", "byval"),
        ("by_alloca", "inalloca"),
        ("in_register", "inreg"),
    ] {
        let err = jit
            .lookup::<extern "C" fn(*mut u8) -> i64>(name)
            .map(|_| ())
            .or_else(|_| jit.lookup::<extern "C" fn(i64) -> i64>(name).map(|_| ()))
            .unwrap_err();
        assert!(err.to_string().contains(said), "{name}: {err}");
    }
    let err = jit
        .lookup::<extern "C" fn(*mut u8)>("returns_struct")
        .unwrap_err();
    assert!(err.to_string().contains("sret"), "{err}");
    let err = jit
        .lookup::<extern "C" fn(i32) -> i32>("variadic")
        .unwrap_err();
    assert!(err.to_string().contains("variadic"), "{err}");
}

extern "C" fn deref(p: *const i64) -> i64 {
    // SAFETY: the test's JIT code is refused before it could pass anything else.
    unsafe { *p }
}

#[test]
fn a_host_function_keeps_its_rust_signature() {
    let jit = Jit::builder()
        .host_function("deref", deref as extern "C" fn(*const i64) -> i64)
        .build()
        .unwrap();
    let wrong = "declare i64 @deref(i64)\ndefine i64 @f() {\nentry:\n  %r = call i64 @deref(i64 16)\n  ret i64 %r\n}\n";
    let err = add(&jit, "wrong.ll", wrong).unwrap_err();
    match &err {
        Error::DeclarationMismatch { module, name, .. } => {
            assert_eq!((module.as_str(), name.as_str()), ("wrong.ll", "deref"));
        }
        other => panic!("expected DeclarationMismatch, got {other:?}"),
    }
    assert!(err.to_string().contains("i64 (ptr)"), "{err}");
    let right = "@v = global i64 41\ndeclare i64 @deref(i64*)\ndefine i64 @f() {\nentry:\n  %r = call i64 @deref(i64* @v)\n  %s = add i64 %r, 1\n  ret i64 %s\n}\n";
    add(&jit, "right.ll", right).unwrap();
    let f = jit.lookup::<extern "C" fn() -> i64>("f").unwrap();
    // SAFETY: f passes a pointer to its own global.
    assert_eq!(unsafe { f.call() }, 42);
}

#[test]
fn a_lookup_callback_calling_back_into_its_jit_gets_an_error_not_a_deadlock() {
    extern "C" fn seven() -> i32 {
        7
    }
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let slot: Arc<OnceLock<Weak<Jit>>> = Arc::new(OnceLock::new());
        let said: Arc<Mutex<Vec<String>>> = Arc::default();
        let (slot2, said2) = (slot.clone(), said.clone());
        let mut builder = Jit::builder();
        // SAFETY: the only address returned is `seven`, an `i32 ()` function as declared.
        unsafe {
            builder.symbol_lookup(move |name| {
                if let Some(jit) = slot2.get().and_then(Weak::upgrade) {
                    let result = jit.lookup_address("f");
                    said2.lock().unwrap().push(format!("{result:?}"));
                }
                (name == "seven").then_some(seven as extern "C" fn() -> i32 as usize as u64)
            })
        };
        let jit = Arc::new(builder.process_symbols(false).build().unwrap());
        slot.set(Arc::downgrade(&jit)).unwrap();
        add(
            &jit,
            "seven.ll",
            "declare i32 @seven()\ndefine i32 @f() {\nentry:\n  %r = call i32 @seven()\n  ret i32 %r\n}\n",
        )
        .unwrap();
        let f = jit.lookup::<extern "C" fn() -> i32>("f").unwrap();
        // SAFETY: f calls `seven`.
        let value = unsafe { f.call() };
        let said = said.lock().unwrap().clone();
        done.send((value, said)).unwrap();
    });
    let (value, said) = finished
        .recv_timeout(Duration::from_secs(60))
        .expect("the lookup deadlocked");
    assert_eq!(value, 7);
    assert!(
        !said.is_empty() && said.iter().all(|s| s.contains("Reentrant")),
        "{said:?}"
    );
}

#[test]
fn errors_stay_with_their_operation_and_thread() {
    let jit = Jit::new().unwrap();
    for t in 0..24 {
        add(
            &jit,
            &format!("m{t}.ll"),
            &format!("declare i32 @missing_{t}()\ndefine i32 @f{t}() {{\nentry:\n  %r = call i32 @missing_{t}()\n  ret i32 %r\n}}\n"),
        )
        .unwrap();
    }
    std::thread::scope(|scope| {
        let jit = &jit;
        scope.spawn(move || {
            for round in 0..2 {
                for t in 0..24 {
                    let err = jit
                        .lookup::<extern "C" fn() -> i32>(&format!("f{t}"))
                        .unwrap_err();
                    match err {
                        Error::MissingSymbols { symbols, .. } => {
                            assert_eq!(symbols, [format!("missing_{t}")], "round {round}")
                        }
                        other => panic!("f{t}, round {round}: {other:?}"),
                    }
                }
            }
        });
        scope.spawn(move || {
            for t in 0..48 {
                let err = jit
                    .parse_module(&format!("bad{t}.ll"), b"define i32 @x( {")
                    .unwrap_err();
                assert!(matches!(err, Error::Parse { .. }), "{err:?}");
                let text = err.to_string();
                assert!(
                    text.starts_with(&format!("bad{t}.ll:")) && !text.contains("Symbols"),
                    "{text}"
                );
            }
        });
    });
}

#[test]
fn a_lookup_succeeds_once_the_missing_symbol_is_added() {
    let jit = Jit::new().unwrap();
    add(
        &jit,
        "f.ll",
        "declare i32 @later()\ndefine i32 @f() {\nentry:\n  %r = call i32 @later()\n  %s = add i32 %r, 1\n  ret i32 %s\n}\n",
    )
    .unwrap();
    for _ in 0..2 {
        let err = jit.lookup::<extern "C" fn() -> i32>("f").unwrap_err();
        assert!(matches!(err, Error::MissingSymbols { .. }), "{err:?}");
    }
    add(
        &jit,
        "later.ll",
        "define i32 @later() {\nentry:\n  ret i32 41\n}\n",
    )
    .unwrap();
    let f = jit.lookup::<extern "C" fn() -> i32>("f").unwrap();
    // SAFETY: f calls later, which returns a constant.
    assert_eq!(unsafe { f.call() }, 42);
}

#[test]
fn an_inline_asm_error_fails_the_add_with_llvms_text() {
    let jit = Jit::new().unwrap();
    for _ in 0..2 {
        let err = add(
            &jit,
            "asm.ll",
            "define i32 @f() {\nentry:\n  call void asm sideeffect \"no_such_mnemonic %eax\", \"~{eax}\"()\n  ret i32 1\n}\n",
        )
        .unwrap_err();
        assert!(matches!(err, Error::Compile { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("asm.ll") && text.contains("no_such_mnemonic"),
            "{text}"
        );
        assert!(jit.lookup_address("f").is_err());
    }
    // The JIT stays usable.
    add(
        &jit,
        "answer.ll",
        "define i32 @g() {\nentry:\n  ret i32 42\n}\n",
    )
    .unwrap();
    let g = jit.lookup::<extern "C" fn() -> i32>("g").unwrap();
    // SAFETY: g returns a constant.
    assert_eq!(unsafe { g.call() }, 42);
}

// An independent review's findings, each once a way past the checks above.

fn call_h(jit: &Jit) -> i32 {
    let h = jit.lookup::<extern "C" fn() -> i32>("h").unwrap();
    // SAFETY: every `h` here calls a function that returns a constant.
    unsafe { h.call() }
}

#[test]
fn aliases_are_definitions_and_ifuncs_are_refused() {
    let mut jit = Jit::new().unwrap();
    let aliases = add(
        &jit,
        "alias.ll",
        "define i32 @impl() {\nentry:\n  ret i32 7\n}\n@g = alias i32 (), i32 ()* @impl\n\
         @data = global i32 5\n@also = alias i32, i32* @data\n",
    )
    .unwrap();
    // A function's alias is looked up, and checked, as the function.
    let g = jit.lookup::<extern "C" fn() -> i32>("g").unwrap();
    // SAFETY: g is impl, which returns a constant.
    assert_eq!(unsafe { g.call() }, 7);
    let err = jit.lookup::<extern "C" fn() -> i64>("g").unwrap_err();
    assert!(matches!(err, Error::SignatureMismatch { .. }), "{err:?}");
    // A data alias is not a function.
    let err = jit.lookup::<extern "C" fn() -> i32>("also").unwrap_err();
    assert!(err.to_string().contains("data"), "{err}");
    // Another module's calls through the alias make it a dependency.
    add(
        &jit,
        "user.ll",
        "declare i32 @g()\ndefine i32 @h() {\nentry:\n  %r = call i32 @g()\n  ret i32 %r\n}\n",
    )
    .unwrap();
    assert_eq!(call_h(&jit), 7);
    let err = jit.remove_module(&aliases).unwrap_err();
    assert!(matches!(err, Error::ModuleInUse { .. }), "{err:?}");

    let err = add(
        &jit,
        "ifunc.ll",
        "define i32 @impl2() {\nentry:\n  ret i32 7\n}\ndefine i32 ()* @resolve() {\nentry:\n  ret i32 ()* @impl2\n}\n@picked = ifunc i32 (), i32 ()* ()* @resolve\n",
    )
    .unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
    assert!(err.to_string().contains("ifunc"), "{err}");
}

#[test]
fn extern_weak_references_are_tracked_and_checked() {
    let mut jit = Jit::new().unwrap();
    let b = add(&jit, "b.ll", "define i32 @g() {\nentry:\n  ret i32 7\n}\n").unwrap();
    add(
        &jit,
        "c.ll",
        "declare extern_weak i32 @g()\ndefine i32 @h() {\nentry:\n  %nz = icmp ne i32 ()* @g, null\n  br i1 %nz, label %call, label %none\ncall:\n  %r = call i32 @g()\n  ret i32 %r\nnone:\n  ret i32 -1\n}\n",
    )
    .unwrap();
    assert_eq!(call_h(&jit), 7);
    let err = jit.remove_module(&b).unwrap_err();
    assert!(matches!(err, Error::ModuleInUse { .. }), "{err:?}");
    assert_eq!(call_h(&jit), 7);

    // Unresolved, an extern_weak reference is null, not a missing symbol (with JITLink; LLVM
    // 14-16's RuntimeDyld insists on resolving it, and then it is one).
    let other = Jit::new().unwrap();
    add(
        &other,
        "weak.ll",
        "declare extern_weak i32 @nowhere_at_all()\ndefine i32 @h() {\nentry:\n  %nz = icmp ne i32 ()* @nowhere_at_all, null\n  %r = zext i1 %nz to i32\n  ret i32 %r\n}\n",
    )
    .unwrap();
    if orc_jit::LLVM_VERSION >= 17 {
        assert_eq!(call_h(&other), 0);
    } else {
        let err = other.lookup::<extern "C" fn() -> i32>("h").unwrap_err();
        assert!(matches!(err, Error::MissingSymbols { .. }), "{err:?}");
    }

    // Against a host function's Rust signature too.
    extern "C" fn id(x: f64) -> f64 {
        x
    }
    let host = Jit::builder()
        .host_function("id", id as extern "C" fn(f64) -> f64)
        .build()
        .unwrap();
    let err = add(
        &host,
        "id.ll",
        "declare extern_weak i64 @id(i64)\ndefine i64 @h() {\nentry:\n  %r = call i64 @id(i64 42)\n  ret i64 %r\n}\n",
    )
    .unwrap_err();
    assert!(matches!(err, Error::DeclarationMismatch { .. }), "{err:?}");
}

#[test]
fn names_are_keyed_as_orc_keys_them() {
    let jit = Jit::new().unwrap();
    // LLVM's "do not mangle" mark: never in a symbol's name. Private and internal names with
    // it never reach the symbol table at all; an external one is the name without it.
    add(
        &jit,
        "unmangled.ll",
        "@\"\\01secret\" = private global i32 35\n\
         define internal i32 @\"\\01helper\"() {\nentry:\n  %v = load i32, i32* @\"\\01secret\"\n  ret i32 %v\n}\n\
         define i32 @\"\\01g\"() {\nentry:\n  %r = call i32 @\"\\01helper\"()\n  %s = add i32 %r, 7\n  ret i32 %s\n}\n",
    )
    .unwrap();
    let g = jit.lookup::<extern "C" fn() -> i32>("g").unwrap();
    // SAFETY: g adds constants.
    assert_eq!(unsafe { g.call() }, 42);

    let err = add(
        &jit,
        "not-utf8.ll",
        "define i32 @\"g\\FF\"() {\nentry:\n  ret i32 7\n}\n",
    )
    .unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
    extern "C" fn id(x: f64) -> f64 {
        x
    }
    for bad in ["\u{1}id", ""] {
        let err = Jit::builder()
            .host_function(bad, id as extern "C" fn(f64) -> f64)
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::InvalidName(_)), "{bad:?}: {err:?}");
    }
    assert!(matches!(
        jit.lookup_address("").unwrap_err(),
        Error::InvalidName(_)
    ));
}

#[test]
fn a_global_named_llvm_dot_is_an_ordinary_symbol() {
    let mut jit = Jit::new().unwrap();
    let a = add(&jit, "a.ll", "@llvm.x = global i32 7\n").unwrap();
    add(
        &jit,
        "c.ll",
        "@llvm.x = external global i32\ndefine i32 @h() {\nentry:\n  %r = load i32, i32* @llvm.x\n  ret i32 %r\n}\n",
    )
    .unwrap();
    assert_eq!(call_h(&jit), 7);
    assert!(matches!(
        jit.remove_module(&a).unwrap_err(),
        Error::ModuleInUse { .. }
    ));
    assert_eq!(call_h(&jit), 7);
}

#[test]
fn a_strong_definition_must_match_the_weak_ones_it_replaces() {
    let jit = Jit::new().unwrap();
    add(
        &jit,
        "a.ll",
        "define weak double @f() {\nentry:\n  ret double 1.5\n}\ndefine double @g() {\nentry:\n  %r = call double @f()\n  ret double %r\n}\n",
    )
    .unwrap();
    let err = add(&jit, "b.ll", "define i64 @f() {\nentry:\n  ret i64 42\n}\n").unwrap_err();
    assert!(matches!(err, Error::DeclarationMismatch { .. }), "{err:?}");
    let g = jit.lookup::<extern "C" fn() -> f64>("g").unwrap();
    // SAFETY: g calls a's f, which returns a constant.
    assert_eq!(unsafe { g.call() }, 1.5);
}

#[test]
fn a_weak_definition_loses_to_a_symbol_a_source_already_resolved() {
    let jit = Jit::new().unwrap();
    jit.lookup_address("abs").unwrap();
    add(
        &jit,
        "w.ll",
        "define weak double @abs(double %x) {\nentry:\n  ret double 123.0\n}\n",
    )
    .unwrap();
    // ORC keeps libc's abs; the module's weak copy is not what a lookup would call.
    let err = jit.lookup::<extern "C" fn(f64) -> f64>("abs").unwrap_err();
    assert!(matches!(err, Error::NoSuchFunction { .. }), "{err:?}");
}

#[test]
fn pointers_of_other_address_spaces_and_soft_float_do_not_match_rust_types() {
    let jit = Jit::new().unwrap();
    add(
        &jit,
        "as.ll",
        "define i32 @f(i32 addrspace(270)* %p) {\nentry:\n  %q = addrspacecast i32 addrspace(270)* %p to i32*\n  %v = load i32, i32* %q\n  ret i32 %v\n}\n",
    )
    .unwrap();
    let err = jit
        .lookup::<extern "C" fn(*const i32) -> i32>("f")
        .unwrap_err();
    assert!(matches!(err, Error::SignatureMismatch { .. }), "{err:?}");

    let soft = "define double @neg(double %x) #0 {\nentry:\n  %y = fneg double %x\n  ret double %y\n}\nattributes #0 = { \"target-features\"=\"+soft-float\" }\n";
    let err = add(&jit, "soft.ll", soft).unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
    assert!(err.to_string().contains("soft-float"), "{err}");
}

#[test]
fn data_is_not_called_as_a_function() {
    let jit = Jit::new().unwrap();
    add(&jit, "a.ll", "@f = global i64 0\n").unwrap();
    let err = add(
        &jit,
        "c.ll",
        "declare i32 @f()\ndefine i32 @h() {\nentry:\n  %r = call i32 @f()\n  ret i32 %r\n}\n",
    )
    .unwrap_err();
    assert!(matches!(err, Error::ModuleRejected { .. }), "{err:?}");
    assert!(err.to_string().contains("defined as data"), "{err}");
}

#[test]
fn optimising_with_a_runtime_does_not_hide_a_declaration_mismatch() {
    let jit = Jit::new().unwrap();
    let runtime = jit
        .add_ipo_runtime_bitcode(
            "rt.ll",
            b"define double @helper(double %x) noinline {\nentry:\n  %y = fadd double %x, 1.0\n  ret double %y\n}\n",
        )
        .unwrap();
    let user = jit
        .parse_module(
            "user.ll",
            b"declare i64 @helper(i64)\ndefine i64 @h() {\nentry:\n  %r = call i64 @helper(i64 41)\n  ret i64 %r\n}\n",
        )
        .unwrap();
    let err = jit.optimize_with_runtime(user, &runtime).unwrap_err();
    assert!(matches!(err, Error::DeclarationMismatch { .. }), "{err:?}");
}
