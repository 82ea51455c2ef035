//! The standalone command on inputs nobody here wrote: a FIFO, a directory, a device, a
//! library whose name holds a terminal escape sequence, binaries for other machines; and its
//! `--explain`, `--json` and `cargo verify-symbols` forms.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn verify_symbols(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verify-symbols"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("verify-symbols-cli-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The LLVM under test (`cargo xtask test --llvm N` sets it; its clang and lld are installed).
fn llvm() -> String {
    std::env::var("JIT_TOOLKIT_LLVM").unwrap_or_else(|_| "22".into())
}

/// Links for another machine with the LLVM under test's clang and lld, without a C library.
fn cross_link(dir: &Path, target: &str, args: &[&str]) {
    let llvm = llvm();
    let mut all = vec![
        format!("--target={target}"),
        "-fuse-ld=lld".to_owned(),
        format!("-B/usr/lib/llvm-{llvm}/bin"),
        "-nostdlib".to_owned(),
        "-fPIC".to_owned(),
    ];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    run(dir, &format!("clang-{llvm}"), &all);
}

fn run(dir: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{program} {args:?}: {out:?}");
}

#[test]
fn a_fifo_a_directory_and_a_device_are_refused_at_once() {
    let dir = scratch("fifo");
    let fifo = dir.join("fifo");
    run(&dir, "mkfifo", &[fifo.to_str().unwrap()]);
    for (path, what) in [
        (fifo.to_str().unwrap(), "a FIFO"),
        (dir.to_str().unwrap(), "a directory"),
        ("/dev/zero", "a device"),
    ] {
        let start = Instant::now();
        let out = verify_symbols(&["--binary", path, "--symbol", "x"]);
        assert!(start.elapsed() < Duration::from_secs(10), "{path} blocked");
        assert_eq!(out.status.code(), Some(2), "{path}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(what),
            "{out:?}"
        );
    }
}

#[test]
fn names_from_the_binary_are_printed_escaped() {
    let dir = scratch("escape");
    std::fs::write(dir.join("e.c"), "int e_fn(void) { return 1; }\n").unwrap();
    std::fs::write(dir.join("main.c"), "int main(void) { return 0; }\n").unwrap();
    // A SONAME (so a DT_NEEDED of the binary) with an escape sequence that would turn a
    // terminal red and clear it.
    let evil = "libevil\x1b[31m\x1b[2J.so";
    run(
        &dir,
        "cc",
        &[
            "-shared",
            "-fPIC",
            "-o",
            "libevil.so",
            "e.c",
            &format!("-Wl,-soname,{evil}"),
        ],
    );
    run(
        &dir,
        "cc",
        &["main.c", "-o", "main", "-Wl,--no-as-needed", "./libevil.so"],
    );
    let out = verify_symbols(&[
        "--binary",
        dir.join("main").to_str().unwrap(),
        "--symbol",
        "e_fn",
        "--explain",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains('\x1b'), "{text:?}");
    assert!(text.contains("libevil\\u{1b}[31m"), "{text}");
}

#[test]
fn binaries_for_other_machines_are_said_to_be_unresolvable_here() {
    let dir = scratch("foreign");
    std::fs::write(
        dir.join("x.c"),
        "int x_fn(void) { return 1; }\nint main(void) { return 0; }\n",
    )
    .unwrap();
    // An aarch64 PIE and a 32-bit x86 shared object, each needing libc.so.6 (a stub of its own
    // machine stands in for it at link time).
    for (target, output, kind) in [
        ("aarch64-linux-gnu", "x-aarch64", "-pie"),
        ("i386-linux-gnu", "x-i386.so", "-shared"),
    ] {
        let stub = format!("stub-{target}.so");
        cross_link(
            &dir,
            target,
            &["-shared", "-Wl,-soname,libc.so.6", "-o", &stub, "x.c"],
        );
        cross_link(&dir, target, &[kind, "-o", output, "x.c", &stub]);
        let out = verify_symbols(&[
            "--binary",
            dir.join(output).to_str().unwrap(),
            "--symbol",
            "x_fn",
        ]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{target}: {text}");
        assert!(
            text.contains("cannot be checked fully on this machine"),
            "{target}: {text}"
        );
        // The x86-64 libc was not taken for it.
        assert!(text.contains("libc.so.6 → not found"), "{target}: {text}");
    }
}

#[test]
fn explain_lists_each_place_in_order_and_json_carries_its_schema() {
    let me = std::env::current_exe().unwrap();
    let out = verify_symbols(&[
        "--binary",
        me.to_str().unwrap(),
        "--symbol",
        "malloc",
        "--explain",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("where the loader looks"), "{text}");
    assert!(text.contains("ld.so.cache libc.so.6: found: /"), "{text}");

    let out = verify_symbols(&[
        "--binary",
        me.to_str().unwrap(),
        "--symbol",
        "malloc",
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["schema"], 1);
    let needed = json["binaries"][0]["needed"].as_array().unwrap();
    assert!(
        needed
            .iter()
            .all(|n| n["trace"].as_array().is_some_and(|t| !t.is_empty()))
    );
    assert_eq!(
        json["binaries"][0]["symbols"][0]["status"],
        "provided-by-dependency"
    );
}

#[test]
fn the_cargo_subcommand_form_takes_the_same_arguments() {
    let me = std::env::current_exe().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-verify-symbols"))
        .args([
            "verify-symbols",
            "--binary",
            me.to_str().unwrap(),
            "--symbol",
            "malloc",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-verify-symbols"))
        .args(["verify-symbols", "--help"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--explain"));
}

/// An `LD_PRELOAD` shim for verify-symbols itself: right after the first `mmap` or `pread` of
/// the file named by `SHRINK_FILE`, it truncates that file to `SHRINK_TO` bytes. This is the
/// race of someone truncating a library while verify-symbols reads it, made to happen at the
/// worst moment every time: the file is open and being read, and its tables are still to come.
const SHRINK_SHIM: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

static int target = -1, shrunk = 0;

static void track(const char *path, int fd) {
    const char *file = getenv("SHRINK_FILE");
    if (file && fd >= 0 && strcmp(path, file) == 0)
        target = fd;
}

static void shrink(int fd) {
    if (target >= 0 && fd == target && !shrunk) {
        shrunk = 1;
        truncate(getenv("SHRINK_FILE"), atol(getenv("SHRINK_TO")));
    }
}

#define OPEN(name)                                                     \
    int name(const char *path, int flags, ...) {                       \
        static int (*real)(const char *, int, ...);                    \
        va_list ap;                                                    \
        va_start(ap, flags);                                           \
        mode_t mode = va_arg(ap, mode_t);                              \
        va_end(ap);                                                    \
        if (!real) real = dlsym(RTLD_NEXT, #name);                     \
        int fd = real(path, flags, mode);                              \
        track(path, fd);                                               \
        return fd;                                                     \
    }
OPEN(open)
OPEN(open64)

#define MMAP(name)                                                     \
    void *name(void *addr, size_t len, int prot, int flags, int fd,    \
               off_t offset) {                                         \
        static void *(*real)(void *, size_t, int, int, int, off_t);    \
        if (!real) real = dlsym(RTLD_NEXT, #name);                     \
        void *mapped = real(addr, len, prot, flags, fd, offset);       \
        shrink(fd);                                                    \
        return mapped;                                                 \
    }
MMAP(mmap)
MMAP(mmap64)

#define PREAD(name)                                                    \
    ssize_t name(int fd, void *buf, size_t count, off_t offset) {      \
        static ssize_t (*real)(int, void *, size_t, off_t);            \
        if (!real) real = dlsym(RTLD_NEXT, #name);                     \
        ssize_t got = real(fd, buf, count, offset);                    \
        shrink(fd);                                                    \
        return got;                                                    \
    }
PREAD(pread)
PREAD(pread64)
"#;

#[test]
fn a_file_truncated_while_it_is_read_is_an_error_never_a_signal() {
    use std::os::unix::process::ExitStatusExt;

    let dir = scratch("truncated-while-read");
    std::fs::write(dir.join("shim.c"), SHRINK_SHIM).unwrap();
    run(
        &dir,
        "cc",
        &["-shared", "-fPIC", "-o", "shim.so", "shim.c", "-ldl"],
    );
    // 4 MiB of constant data between the library's symbol tables (at its start) and its
    // dynamic section (at its end): after the shim cuts the file to one page, the dynamic
    // section and everything after the first page are gone.
    std::fs::write(
        dir.join("big.c"),
        "const char big_data[4 << 20] = {1};\nint big_fn(void) { return big_data[0]; }\n",
    )
    .unwrap();
    std::fs::write(dir.join("main.c"), "int main(void) { return 0; }\n").unwrap();
    run(
        &dir,
        "cc",
        &[
            "-shared",
            "-fPIC",
            "-o",
            "pristine.so",
            "big.c",
            "-Wl,-soname,libbig.so",
        ],
    );
    let library = dir.join("libbig.so");
    let binary = dir.join("main");
    for shrinking in [&library, &binary] {
        std::fs::copy(dir.join("pristine.so"), &library).unwrap();
        run(
            &dir,
            "cc",
            &[
                "main.c",
                "-o",
                "main",
                "-Wl,--no-as-needed",
                "-L.",
                "-lbig",
                "-Wl,-rpath,$ORIGIN",
            ],
        );
        if shrinking == &binary {
            // The binary's own tables: put the same 4 MiB between them and its dynamic section.
            run(
                &dir,
                "cc",
                &[
                    "main.c",
                    "big.c",
                    "-o",
                    "main",
                    "-Wl,--no-as-needed",
                    "-L.",
                    "-lbig",
                    "-Wl,-rpath,$ORIGIN",
                ],
            );
        }
        let out = Command::new(env!("CARGO_BIN_EXE_verify-symbols"))
            .args(["--binary", binary.to_str().unwrap(), "--symbol", "big_fn"])
            .env("LD_PRELOAD", dir.join("shim.so"))
            .env("SHRINK_FILE", shrinking)
            .env("SHRINK_TO", "4096")
            .output()
            .unwrap();
        assert_eq!(
            out.status.signal(),
            None,
            "{}: verify-symbols died of a signal: {out:?}",
            shrinking.display()
        );
        assert_eq!(
            std::fs::metadata(shrinking).unwrap().len(),
            4096,
            "the shim truncated {} while verify-symbols read it",
            shrinking.display()
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}: {out:?}",
            shrinking.display()
        );
        assert!(
            stderr.contains(&*shrinking.to_string_lossy()) && stderr.contains("changed while"),
            "{stderr}"
        );
    }
}
