//! Compile workers that lie, through a proxy in front of the real worker
//! (tests/data/lying_proxy.py, python3 from `cargo xtask deps`): structure-aware mutations of
//! real objects, one field of an object changed, and a reply header that would cost the host
//! more than its object may. The adversarial review's attacks, kept as regression tests.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use orc_jit::{Error, IsolationLimits, Jit, WorkerProgram};

/// The proxy's mode is in the environment a worker starts with: one test at a time.
static PROXY: Mutex<()> = Mutex::new(());

extern "C" fn may_throw() {}

/// A JIT whose workers lie as `mode` says, with the lock that keeps the mode while it lives.
fn proxy_jit(mode: &str, limits: IsolationLimits) -> (Jit, MutexGuard<'static, ()>) {
    let guard = PROXY.lock().unwrap_or_else(|e| e.into_inner());
    let proxy = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/lying_proxy.py");
    // SAFETY: no other thread of this test binary reads or writes the environment meanwhile:
    // each test that does holds the lock, and the others start no workers.
    unsafe {
        std::env::set_var("LYING_PROXY_MODE", mode);
        std::env::set_var("LYING_PROXY_WORKER", env!("CARGO_BIN_EXE_orc-jit-worker"));
    }
    let mut builder = Jit::builder();
    if std::env::var("ATTACK_LAYER").as_deref() == Ok("rtdyld") {
        builder.object_layer(orc_jit::ObjectLayer::RuntimeDyld);
    }
    let jit = builder
        .compile_worker(WorkerProgram::Path(proxy))
        .isolation_limits(limits)
        .host_function("may_throw", may_throw as extern "C" fn())
        .build()
        .unwrap();
    (jit, guard)
}

/// `RICH` through a worker that lies as `mode` says must be refused before anything is linked,
/// with a message that contains `says`.
fn refused(mode: &str, says: &str) {
    let (jit, _guard) = proxy_jit(mode, IsolationLimits::default());
    match jit.add_module_isolated("m.ll", RICH.as_bytes()) {
        Err(Error::ModuleRejected { message, .. }) => {
            assert!(message.contains(says), "{mode}: {message}")
        }
        other => panic!(
            "{mode}: not refused: {:?}, linking: {:?}",
            other.map(|_| ()),
            jit.lookup_address("f")
        ),
    }
}

/// Data with pointers, a jump table, calls through the PLT and the GOT, a landing pad, an
/// emulated thread-local, a weak function, an alias and a large alignment. Typed pointers,
/// which LLVM 14 needs and later versions read as `ptr`.
const RICH: &str = "@data = global [4 x i32] [i32 1, i32 2, i32 3, i32 4]\n\
    @ptrs = global [2 x i8*] [i8* bitcast ([4 x i32]* @data to i8*), i8* bitcast (i32 (i32)* @g to i8*)]\n\
    @aligned = global [16 x i8] zeroinitializer, align 4096\n\
    @tls = thread_local global i32 7\n\
    @text = private constant [6 x i8] c\"hello\\00\"\n\
    @ga = alias i32 (i32), i32 (i32)* @g\n\
    declare i32 @abs(i32)\n\
    declare i32 @__gxx_personality_v0(...)\n\
    declare void @may_throw()\n\
    define weak i32 @w(i32 %x) {\nentry:\n  ret i32 %x\n}\n\
    define i32 @g(i32 %x) uwtable {\nentry:\n  %a = call i32 @abs(i32 %x)\n  %t = load i32, i32* @tls\n  %s = add i32 %a, %t\n  ret i32 %s\n}\n\
    define i32 @sw(i32 %x) {\nentry:\n  switch i32 %x, label %d [ i32 0, label %a\n i32 1, label %b\n i32 2, label %c\n i32 3, label %e\n i32 4, label %f ]\n\
    a:\n  ret i32 10\nb:\n  ret i32 11\nc:\n  ret i32 12\ne:\n  ret i32 13\nf:\n  ret i32 14\nd:\n  ret i32 0\n}\n\
    define i32 @f(i32 %i) uwtable personality i8* bitcast (i32 (...)* @__gxx_personality_v0 to i8*) {\nentry:\n  invoke void @may_throw() to label %ok unwind label %caught\n\
    ok:\n  %p = getelementptr [4 x i32], [4 x i32]* @data, i32 0, i32 %i\n  %v = load i32, i32* %p\n  %r = call i32 @g(i32 %v)\n  %q = load i8*, i8** bitcast ([2 x i8*]* @ptrs to i8**)\n  %z = call i32 @sw(i32 %r)\n  ret i32 %z\n\
    caught:\n  %lp = landingpad { i8*, i32 } cleanup\n  ret i32 -1\n}\n";

fn count_from_env(default: u64) -> u64 {
    std::env::var("ATTACK_MUTANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Thousands of structure-aware mutants of a real object, from the JIT's own pipeline: every
/// one is refused, fails to link, or links; the host never crashes (a crash fails the test, as
/// a mutant that is neither refused nor linked does). ATTACK_MUTANTS=N for more.
#[test]
fn structure_aware_mutants_never_crash_the_host() {
    let (mut jit, _guard) = proxy_jit("mutate", IsolationLimits::default());
    let start = std::env::var("ATTACK_FIRST")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0u64);
    let count = count_from_env(1500);
    let (mut refused, mut linked, mut link_failed) = (0, 0, 0);
    let mut reasons = std::collections::BTreeMap::<String, u32>::new();
    for index in start..start + count {
        if std::env::var("ATTACK_VERBOSE").is_ok() {
            eprintln!("mutant {index}");
        }
        match jit.add_module_isolated(&format!("mutant-{index}"), RICH.as_bytes()) {
            Ok(handle) => {
                match jit.lookup_address("f") {
                    Ok(_) => linked += 1,
                    Err(_) => link_failed += 1,
                }
                jit.remove_module(&handle).unwrap();
            }
            // The proxy or the worker failing is not a refusal of the object.
            Err(e @ (Error::CompilerCrashed { .. } | Error::Llvm(_))) => {
                panic!("mutant {index}: not an answer about the object: {e}")
            }
            Err(e) => {
                refused += 1;
                let text = e.to_string();
                let key: String = text
                    .split(':')
                    .skip(2)
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(":");
                *reasons.entry(key.chars().take(90).collect()).or_default() += 1;
            }
        }
    }
    eprintln!("{count} mutants: {refused} refused, {linked} linked, {link_failed} failed to link");
    for (reason, n) in reasons.iter().rev().take(15) {
        eprintln!("  {n:5} {reason}");
    }
    assert_eq!(refused + linked + link_failed, count);
    // The proxy mutates: most mutants must be caught before linking.
    assert!(
        refused > count / 2,
        "only {refused} of {count} mutants refused"
    );
}

fn resident_peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap()
}

/// The reply's JSON header is bounded at 256 MiB, but what it deserialises into is not: a list
/// of empty strings costs the host 8 times its bytes, whatever `object_bytes` says.
#[test]
fn a_reply_header_costs_the_host_no_more_than_the_limits() {
    let limits = IsolationLimits {
        object_bytes: 64 << 20,
        ..IsolationLimits::default()
    };
    let (jit, _guard) = proxy_jit("amplify", limits);
    let before = resident_peak_kib();
    let result = jit.add_module_isolated("m.ll", b"define i32 @f() {\nentry:\n  ret i32 1\n}\n");
    // The kernel's RSS counters are per-CPU and read approximately: the peak can read lower.
    let grown = resident_peak_kib().saturating_sub(before);
    println!("peak resident memory grew by {} MiB", grown >> 10);
    match result {
        Err(Error::CompilerCrashed { message, .. }) => {
            assert!(message.contains("frame header"), "{message}")
        }
        other => panic!("an amplifying header is taken: {:?}", other.map(|_| ())),
    }
    assert!(
        grown < 256 << 10,
        "the host's peak grew by {} MiB for a module limited to 64 MiB",
        grown >> 10
    );
}

/// `.eh_frame` without SHF_ALLOC: object_file.rs's unwind checks apply to allocated sections,
/// but JITLink registers `.eh_frame` by name.
#[test]
fn an_unallocated_eh_frame_is_refused() {
    for flags in ["0", "0x10000"] {
        refused(
            &format!("flags:.eh_frame:{flags}"),
            ".eh_frame is not loaded (no SHF_ALLOC)",
        );
    }
}

/// A GOT-relaxable relocation (R_X86_64_REX_GOTPCRELX, 42; GOTPCRELX, 41) at the start of a
/// data section: JITLink's GOT optimisation reads the instruction bytes before the fixup,
/// outside the block.
#[test]
fn a_relaxable_got_relocation_outside_code_is_refused() {
    for typ in ["42", "41"] {
        refused(
            &format!("reloc-type:.rela.rodata:0:{typ}"),
            "a relaxable GOT reference",
        );
    }
}

/// Sections of a relocatable object have address 0 (LLVM never writes another); JITLink places
/// blocks at `sh_addr` and resolves `.eh_frame`'s pointers by address, so a lying address
/// makes it read outside the block.
#[test]
fn a_section_address_is_refused() {
    for which in [".rodata:-1", ".text:4096", ".eh_frame:1"] {
        refused(
            &format!("addr:{which}"),
            "a relocatable object's sections have none",
        );
    }
}

/// A defined function symbol retyped STT_COMMON (st_info 0x25: weak, common): RuntimeDyld
/// takes its value (0 here) as the alignment of a common block and divides by it (SIGFPE).
#[test]
fn a_common_symbol_in_an_object_is_refused() {
    refused("syminfo:sw:0x25", "STT_COMMON");
}
