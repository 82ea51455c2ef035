//! A compile worker that lies, against the host (issue 21, points 5, 6 and 15): lengths that
//! claim gigabytes, frames cut short, a worker killed by someone else, and 800 mutated copies
//! of a real object file. The host must answer each with an error, never crash, hang or
//! allocate what the worker claims.
//!
//! No test harness: this binary is both the host (the tests) and, started again with
//! `LYING_WORKER` set, the worker it runs (`WorkerProgram::Path` to itself).

use std::io::{Read, Write};
use std::process::ExitCode;

use orc_jit::{Error, IsolationLimits, Jit, WorkerProgram};

const MODE: &str = "LYING_WORKER";
const OBJECT: &str = "LYING_WORKER_OBJECT";

fn main() -> ExitCode {
    if let Ok(mode) = std::env::var(MODE) {
        lie(&mode);
        return ExitCode::SUCCESS;
    }
    let tests: [(&str, fn()); 6] = [
        ("a greeting that claims 2^63 bytes", huge_greeting),
        ("a reply that claims 2^63 bytes", huge_reply),
        ("a header that claims 4 GiB", huge_header),
        ("a reply cut short", cut_short),
        ("a worker killed by another process", killed_by_someone_else),
        ("800 mutated objects", mutated_objects),
    ];
    for (name, test) in tests {
        eprintln!("lying worker: {name} ...");
        test();
        eprintln!("lying worker: {name} ok");
    }
    ExitCode::SUCCESS
}

fn jit(mode: &str, limits: IsolationLimits) -> Jit {
    // SAFETY: only this test's process reads the variable, before it starts workers.
    unsafe { std::env::set_var(MODE, mode) };
    Jit::builder()
        .compile_worker(WorkerProgram::Path(std::env::current_exe().unwrap()))
        .isolation_limits(limits)
        .host_function("may_throw", may_throw as extern "C" fn())
        .build()
        .unwrap()
}

/// What the mutants' `f` calls (it never runs: the host only links them).
extern "C" fn may_throw() {}

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// Runs `f` and checks that the host did not grow by what a worker claimed.
fn bounded<T>(f: impl FnOnce() -> T) -> T {
    let before = resident_bytes();
    let out = f();
    let grown = resident_bytes().saturating_sub(before);
    assert!(grown < 64 << 20, "the host grew by {} MiB", grown >> 20);
    out
}

fn huge_greeting() {
    let jit = jit("huge-greeting", IsolationLimits::default());
    let err = bounded(|| jit.add_module_isolated("m.ll", b"").unwrap_err());
    assert!(
        err.to_string()
            .contains("did not start as a compile worker"),
        "{err}"
    );
}

fn huge_reply() {
    let jit = jit("huge-reply", IsolationLimits::default());
    let err = bounded(|| jit.add_module_isolated("m.ll", b"").unwrap_err());
    assert!(matches!(err, Error::ModuleRejected { .. }), "{err:?}");
    assert!(err.to_string().contains("over the limit"), "{err}");
}

fn huge_header() {
    let jit = jit("huge-header", IsolationLimits::default());
    let err = bounded(|| jit.add_module_isolated("m.ll", b"").unwrap_err());
    assert!(matches!(err, Error::CompilerCrashed { .. }), "{err:?}");
    assert!(err.to_string().contains("broke the protocol"), "{err}");
}

fn cut_short() {
    let jit = jit("cut-short", IsolationLimits::default());
    let err = jit.add_module_isolated("m.ll", b"").unwrap_err();
    assert!(matches!(err, Error::CompilerCrashed { .. }), "{err:?}");
    assert!(err.to_string().contains("cut short"), "{err}");
}

fn killed_by_someone_else() {
    let jit = jit("sigkill", IsolationLimits::default());
    let err = jit.add_module_isolated("m.ll", b"").unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            Error::CompilerCrashed {
                signal: Some(9),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        text.contains("not by orc-jit") && !text.contains("time limit"),
        "{text}"
    );
}

/// The object the mutants are made of: real code generation (llc of the LLVM under test) of a
/// module with data, calls, a landing pad and unwind tables, as the JIT's own workers compile.
fn real_object() -> Vec<u8> {
    let ir = "@data = global [4 x i32] [i32 1, i32 2, i32 3, i32 4]\n\
              @text = private constant [6 x i8] c\"hello\\00\"\n\
              declare i32 @abs(i32)\n\
              declare i32 @__gxx_personality_v0(...)\n\
              declare void @may_throw()\n\
              define i32 @g(i32 %x) uwtable {\nentry:\n  %a = call i32 @abs(i32 %x)\n  ret i32 %a\n}\n\
              define i32 @f(i32 %i) uwtable personality i32 (...)* @__gxx_personality_v0 {\nentry:\n  invoke void @may_throw() to label %ok unwind label %caught\n\
              ok:\n  %p = getelementptr [4 x i32], [4 x i32]* @data, i32 0, i32 %i\n  %v = load i32, i32* %p\n  %r = call i32 @g(i32 %v)\n  ret i32 %r\n\
              caught:\n  %lp = landingpad { i8*, i32 } cleanup\n  ret i32 -1\n}\n";
    let dir = std::env::temp_dir().join(format!("orc-jit-lying-worker-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ll = dir.join("real.ll");
    let obj = dir.join("real.o");
    std::fs::write(&ll, ir).unwrap();
    let llc = format!("llc-{}", orc_jit::LLVM_VERSION);
    let status = std::process::Command::new(&llc)
        .args([
            "-filetype=obj",
            "-relocation-model=pic",
            "-code-model=large",
            "-o",
        ])
        .arg(&obj)
        .arg(&ll)
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "{llc} (cargo xtask deps --llvm {} installs it): {e}",
                orc_jit::LLVM_VERSION
            )
        });
    assert!(status.success(), "{llc} failed");
    let object = std::fs::read(&obj).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    object
}

/// A small deterministic generator (xorshift64*), so a failing mutant can be found again.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Mutant `index` of `object`: a few bytes set to interesting values or random ones.
fn mutant(object: &[u8], index: u64) -> Vec<u8> {
    let mut rng = Rng(index.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut bytes = object.to_vec();
    for _ in 0..1 + rng.next() % 6 {
        let at = (rng.next() % bytes.len() as u64) as usize;
        bytes[at] = match rng.next() % 4 {
            0 => 0,
            1 => 0xff,
            2 => bytes[at] ^ (1 << (rng.next() % 8)),
            _ => rng.next() as u8,
        };
    }
    bytes
}

fn mutated_objects() {
    let object = real_object();
    let hex: String = object.iter().map(|b| format!("{b:02x}")).collect();
    // SAFETY: read by the workers this process starts, set before they start.
    unsafe { std::env::set_var(OBJECT, hex) };
    let mut jit = jit("mutants", IsolationLimits::default());
    let (mut linked, mut refused, mut link_failed) = (0, 0, 0);
    for index in 0..800u64 {
        match jit.add_module_isolated(&format!("mutant-{index}"), index.to_string().as_bytes()) {
            Ok(handle) => {
                // Linking is where a broken object would crash the host: look a symbol up.
                match jit.lookup_address("f") {
                    Ok(_) => linked += 1,
                    Err(_) => link_failed += 1,
                }
                jit.remove_module(&handle).unwrap();
            }
            Err(_) => refused += 1,
        }
    }
    eprintln!(
        "lying worker: 800 mutants: {refused} refused before linking, {linked} linked, \
         {link_failed} failed to link, the host never crashed"
    );
    assert!(
        refused > 0 && linked > 0,
        "the mutants exercise both outcomes"
    );
}

// The worker's side.

fn frame(out: &mut impl Write, header: &str, blob_length: u64, blob: &[u8]) {
    out.write_all(&(header.len() as u32).to_le_bytes()).unwrap();
    out.write_all(header.as_bytes()).unwrap();
    out.write_all(&blob_length.to_le_bytes()).unwrap();
    out.write_all(blob).unwrap();
    out.flush().unwrap();
}

/// Reads one request and returns its module bytes (or exits at the end of input).
fn request(input: &mut impl Read) -> Vec<u8> {
    let mut length = [0; 4];
    if input.read_exact(&mut length).is_err() {
        std::process::exit(0);
    }
    let mut header = vec![0; u32::from_le_bytes(length) as usize];
    input.read_exact(&mut header).unwrap();
    let mut length = [0; 8];
    input.read_exact(&mut length).unwrap();
    let mut module = vec![0; u64::from_le_bytes(length) as usize];
    input.read_exact(&mut module).unwrap();
    module
}

const HELLO: &str = r#"{"Hello":{"protocol":1}}"#;
const COMPILED: &str = r#"{"Compiled":{"symbols":{"defined":[],"referenced":[],"declared":[]}}}"#;

fn lie(mode: &str) {
    let mut out = std::io::stdout().lock();
    let mut input = std::io::stdin().lock();
    if mode == "huge-greeting" {
        frame(&mut out, HELLO, 1 << 63, &[]);
        std::thread::sleep(std::time::Duration::from_secs(30));
        return;
    }
    frame(&mut out, HELLO, 0, &[]);
    let object: Vec<u8> = std::env::var(OBJECT)
        .map(|hex| {
            (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
                .collect()
        })
        .unwrap_or_default();
    loop {
        let module = request(&mut input);
        match mode {
            "huge-reply" => frame(&mut out, COMPILED, 1 << 63, &[]),
            "huge-header" => {
                out.write_all(&0xffff_fff0u32.to_le_bytes()).unwrap();
                out.flush().unwrap();
            }
            "cut-short" => {
                frame(&mut out, COMPILED, 1000, &[0; 10]);
                std::process::exit(0);
            }
            // SAFETY: ends this process, as another process's kill would.
            "sigkill" => unsafe {
                libc::kill(libc::getpid(), libc::SIGKILL);
            },
            "mutants" => {
                let index: u64 = String::from_utf8_lossy(&module).parse().unwrap();
                let bytes = mutant(&object, index);
                frame(&mut out, COMPILED, bytes.len() as u64, &bytes);
            }
            _ => panic!("unknown mode {mode}"),
        }
    }
}
