//! verify-symbols against the real dynamic loader. Each fixture is a probe program built with
//! the system compiler and linker that asks `dlsym(RTLD_DEFAULT, name)` for each name and prints
//! the file `dladdr` says the symbol is in (or, for NULL, whether `dlerror` said why); it is run
//! with an empty environment. verify-symbols must say the same: the binary does not start (the
//! loader exits 127), or for each name, found in which file, or not found.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use verify_symbols::{Status, verify};

const PROBE: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        dlerror();
        void *address = dlsym(RTLD_DEFAULT, argv[i]);
        const char *error = dlerror();
        Dl_info info;
        if (address && dladdr(address, &info) && info.dli_fname)
            printf("%s %s\n", argv[i], info.dli_fname);
        else
            printf("%s - %s\n", argv[i], error ? "error" : "null-without-error");
    }
    return 0;
}
"#;

/// What a binary gives: it does not start, or each name's file (`None`: not found).
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    WillNotStart,
    Symbols(Vec<(String, Option<PathBuf>)>),
}

fn real(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

/// The loader's answer: run the probe with an empty environment.
fn loader_says(binary: &Path, names: &[&str]) -> Outcome {
    loader_says_through(&[], binary, names)
}

/// The loader's answer when the probe is started by `wrapper` (a program and its arguments,
/// which runs the probe: another user's `setpriv`, a private mount namespace).
fn loader_says_through(wrapper: &[&OsStr], binary: &Path, names: &[&str]) -> Outcome {
    parse_probe(&run_probe_through(wrapper, binary, names))
}

/// The probe's output, run with an empty environment; `None` when the loader refused to start it.
fn run_probe(binary: &Path, names: &[&str]) -> Option<String> {
    run_probe_through(&[], binary, names)
}

/// A command for `program`, started by `wrapper` when there is one.
fn command_through(wrapper: &[&OsStr], program: &OsStr) -> Command {
    match wrapper {
        [] => Command::new(program),
        [first, rest @ ..] => {
            let mut command = Command::new(first);
            command.args(rest).arg(program);
            command
        }
    }
}

fn run_probe_through(wrapper: &[&OsStr], binary: &Path, names: &[&str]) -> Option<String> {
    // A binary this test process just wrote can be briefly "busy": another test thread's fork
    // may hold the write descriptor until its exec (ETXTBSY). Try again shortly.
    let mut attempts = 0;
    let out = loop {
        match command_through(wrapper, binary.as_os_str())
            .args(names)
            .env_clear()
            .current_dir("/")
            .output()
        {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && attempts < 100 => {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other.unwrap(),
        }
    };
    if out.status.code() == Some(127) {
        return None;
    }
    assert!(out.status.success(), "{out:?}");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn parse_probe(output: &Option<String>) -> Outcome {
    let Some(output) = output else {
        return Outcome::WillNotStart;
    };
    Outcome::Symbols(
        output
            .lines()
            .map(|line| {
                let mut fields = line.split(' ');
                let (name, file) = (fields.next().unwrap(), fields.next().unwrap());
                let file = (file != "-").then(|| real(Path::new(file)));
                (name.to_owned(), file)
            })
            .collect(),
    )
}

/// verify-symbols' answer, in the same terms.
fn tool_says(binary: &Path, names: &[&str]) -> Outcome {
    let report = verify(binary, names).unwrap();
    if !report.starts() {
        return Outcome::WillNotStart;
    }
    Outcome::Symbols(
        report
            .symbols
            .iter()
            .map(|s| {
                let file = match s.status {
                    Status::Exported => Some(real(binary)),
                    Status::ProvidedByDependency => s.provider.as_deref().map(real),
                    _ => None,
                };
                (s.name.clone(), file)
            })
            .collect(),
    )
}

/// verify-symbols' answer, the command run by `wrapper` (as [`loader_says_through`] runs the
/// probe), in the same terms; and its JSON report.
fn tool_says_through(
    wrapper: &[&OsStr],
    binary: &Path,
    names: &[&str],
) -> (Outcome, serde_json::Value) {
    let mut command = command_through(wrapper, OsStr::new(env!("CARGO_BIN_EXE_verify-symbols")));
    command.arg("--binary").arg(binary).arg("--json");
    for name in names {
        command.args(["--symbol", name]);
    }
    let out = command.env_clear().current_dir("/").output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let report = json["binaries"][0].clone();
    let empty = |key: &str| report[key].as_array().is_some_and(Vec::is_empty);
    let starts = report["foreign"].is_null()
        && report["needed"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| !n["path"].is_null())
        && empty("unresolved_indirect")
        && empty("refused");
    if !starts {
        return (Outcome::WillNotStart, report);
    }
    let symbols = report["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let file = match s["status"].as_str().unwrap() {
                "exported" => Some(real(binary)),
                "provided-by-dependency" => Some(real(Path::new(s["provider"].as_str().unwrap()))),
                _ => None,
            };
            (s["name"].as_str().unwrap().to_owned(), file)
        })
        .collect();
    (Outcome::Symbols(symbols), report)
}

fn agree(what: &str, binary: &Path, names: &[&str]) -> Outcome {
    let loader = loader_says(binary, names);
    let tool = tool_says(binary, names);
    assert_eq!(
        tool, loader,
        "{what}: verify-symbols (left) and the loader (right) disagree"
    );
    loader
}

struct Fixture {
    dir: PathBuf,
}

impl Fixture {
    fn new(test: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!("verify-symbols-loader-{test}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("probe.c"), PROBE).unwrap();
        Fixture { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn write(&self, name: &str, text: &str) {
        let path = self.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = Command::new(program)
            .current_dir(&self.dir)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{program}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `lib<name>.so` (SONAME the same) in `subdir` from `source`, with more link arguments.
    fn library(&self, subdir: &str, name: &str, source: &str, extra: &[&str]) -> PathBuf {
        let c = format!("{name}.c");
        self.write(&c, source);
        let out = self.path(subdir).join(format!("lib{name}.so"));
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        let soname = format!("-Wl,-soname,lib{name}.so");
        let mut args = vec!["-shared", "-fPIC", "-o", out.to_str().unwrap(), &c, &soname];
        args.extend(extra);
        self.run("cc", &args);
        out
    }

    /// The probe, linked with `args` (libraries, `-Wl,...`), all kept in DT_NEEDED.
    fn probe(&self, name: &str, args: &[&str]) -> PathBuf {
        let out = self.path(name);
        let mut all = vec!["probe.c", "-o", out.to_str().unwrap(), "-Wl,--no-as-needed"];
        all.extend(args);
        self.run("cc", &all);
        out
    }
}

/// Runs a program in a private mount namespace where a directory shows the files of another
/// over its own (an overlay), so that nothing outside the namespace changes: `/etc` with a
/// test's `ld.so.preload`, a system directory with a test's program. Needs root
/// (CAP_SYS_ADMIN) and overlayfs. Setup failures exit 125.
const IN_NAMESPACE: &str = r#"
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>

static void fail(const char *what) {
    perror(what);
    exit(125);
}

/* in-namespace UPPER WORK TARGET PROGRAM ARGS...: TARGET shows UPPER's files over its own
   (WORK: an empty directory on UPPER's file system, for overlayfs). */
int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: in-namespace UPPER WORK TARGET PROGRAM ARGS...\n");
        return 125;
    }
    char options[12400];
    snprintf(options, sizeof options, "lowerdir=%s,upperdir=%s,workdir=%s", argv[3], argv[1],
             argv[2]);
    if (unshare(CLONE_NEWNS) != 0) fail("unshare(CLONE_NEWNS)");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail("making / private");
    if (mount("overlay", argv[3], "overlay", 0, options) != 0) fail("overlay");
    execv(argv[4], argv + 4);
    fail(argv[4]);
}
"#;

impl Fixture {
    /// The command to put in front of a program to run it where `target` (a directory) also
    /// shows the files of the fixture's `upper` directory (see [`IN_NAMESPACE`]); checked with
    /// `check`, a file of `upper` that must then be seen in `target`.
    fn overlaying(&self, upper: &str, target: &str, check: &str) -> Vec<std::ffi::OsString> {
        self.write("in-namespace.c", IN_NAMESPACE);
        self.run("cc", &["in-namespace.c", "-o", "in-namespace"]);
        let work = self.path(&format!("{upper}.work"));
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).unwrap();
        let wrapper = vec![
            self.path("in-namespace").into_os_string(),
            self.path(upper).into_os_string(),
            work.into_os_string(),
            target.into(),
        ];
        // The namespace must show the file, or the tests below prove nothing.
        let expected = std::fs::read(self.path(upper).join(check)).unwrap();
        let out = Command::new(&wrapper[0])
            .args(&wrapper[1..])
            .arg("/bin/cat")
            .arg(Path::new(target).join(check))
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stdout == expected,
            "a private mount namespace with an overlay on {target} needs root (CAP_SYS_ADMIN) \
             and overlayfs; run the tests as root, as cargo xtask test does: {out:?}"
        );
        wrapper
    }

    /// The command to put in front of a program to run it with `/etc/ld.so.preload` holding
    /// `text`.
    fn with_preload_file(&self, text: &str) -> Vec<std::ffi::OsString> {
        self.write("etc/ld.so.preload", text);
        self.overlaying("etc", "/etc", "ld.so.preload")
    }
}

/// The loader's own configuration, for the cases that depend on this machine.
fn loader_help() -> String {
    let out = Command::new("/lib64/ld-linux-x86-64.so.2")
        .arg("--help")
        .output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

#[test]
fn a_symbol_with_only_a_non_default_version_is_not_found() {
    let f = Fixture::new("versions");
    f.write(
        "ver.map",
        "V1 { global: foo; local: *; };\nV2 { global: bar; } V1;\n",
    );
    f.library(
        "",
        "ver",
        "int foo_old(void) { return 1; }\n__asm__(\".symver foo_old, foo@V1\");\n\
         int bar(void) { return 2; }\n",
        &["-Wl,--version-script=ver.map"],
    );
    let probe = f.probe("probe", &["-L.", "-lver", "-Wl,-rpath,$ORIGIN"]);
    let seen = agree("foo@V1 only, bar@@V2", &probe, &["foo", "bar"]);
    let Outcome::Symbols(symbols) = seen else {
        panic!("the probe starts")
    };
    assert_eq!(symbols[0].1, None, "dlsym does not return foo@V1");
    assert!(symbols[1].1.is_some());
}

#[test]
fn runpath_reaches_direct_dependencies_only_and_rpath_is_inherited() {
    let f = Fixture::new("runpath-rpath");
    f.library("deps", "b", "int b_fn(void) { return 2; }\n", &[]);
    f.library(
        "deps",
        "a",
        "int a_fn(void) { return 1; }\n",
        &["-Wl,--no-as-needed", "-Ldeps", "-lb"],
    );
    // RUNPATH: libb.so, needed by liba.so only, is not found (liba has no RUNPATH of its own).
    let runpath = f.probe(
        "probe-runpath",
        &[
            "-Ldeps",
            "-la",
            "-Wl,--enable-new-dtags",
            "-Wl,-rpath,$ORIGIN/deps",
        ],
    );
    assert_eq!(agree("RUNPATH", &runpath, &["a_fn"]), Outcome::WillNotStart);
    // DT_RPATH of the executable also applies to its dependencies' dependencies.
    let rpath = f.probe(
        "probe-rpath",
        &[
            "-Ldeps",
            "-la",
            "-Wl,--disable-new-dtags",
            "-Wl,-rpath,$ORIGIN/deps",
        ],
    );
    let seen = agree("RPATH", &rpath, &["a_fn", "b_fn"]);
    assert!(matches!(seen, Outcome::Symbols(ref s) if s.iter().all(|(_, f)| f.is_some())));
}

#[test]
fn a_nodefaultlib_dependency_does_not_get_the_system_zlib() {
    let f = Fixture::new("nodeflib");
    f.library(
        "",
        "nodef",
        "int nodef_fn(void) { return 1; }\n",
        &["-Wl,-z,nodefaultlib", "-Wl,--no-as-needed", "-lz"],
    );
    let probe = f.probe("probe", &["-L.", "-lnodef", "-Wl,-rpath,$ORIGIN"]);
    assert_eq!(
        agree("-z nodefaultlib", &probe, &["nodef_fn"]),
        Outcome::WillNotStart
    );
    // Without it, the system's zlib is found.
    f.library(
        "plain",
        "nodef",
        "int nodef_fn(void) { return 1; }\n",
        &["-Wl,--no-as-needed", "-lz"],
    );
    let plain = f.probe(
        "probe-plain",
        &["-Lplain", "-lnodef", "-Wl,-rpath,$ORIGIN/plain"],
    );
    assert!(matches!(
        agree("default", &plain, &["nodef_fn"]),
        Outcome::Symbols(_)
    ));
}

#[test]
fn a_library_of_another_machine_in_origin_is_skipped_for_the_system_one() {
    let f = Fixture::new("wrong-machine");
    // An aarch64 libz.so.1 next to the binary: the loader skips it and maps the system's.
    f.write("z.c", "int zlibVersion(void) { return 0; }\n");
    let llvm = std::env::var("JIT_TOOLKIT_LLVM").unwrap_or_else(|_| "22".into());
    let tools = format!("-B/usr/lib/llvm-{llvm}/bin");
    f.run(
        &format!("clang-{llvm}"),
        &[
            "--target=aarch64-linux-gnu",
            "-fuse-ld=lld",
            &tools,
            "-nostdlib",
            "-shared",
            "-fPIC",
            "-Wl,-soname,libz.so.1",
            "-o",
            "libz.so.1",
            "z.c",
        ],
    );
    let probe = f.probe("probe", &["-lz", "-Wl,-rpath,$ORIGIN"]);
    let seen = agree("aarch64 libz.so.1 in $ORIGIN", &probe, &["zlibVersion"]);
    let Outcome::Symbols(symbols) = seen else {
        panic!("the probe starts")
    };
    assert_ne!(
        symbols[0].1.as_deref(),
        Some(real(&f.path("libz.so.1")).as_path())
    );
}

#[test]
fn glibc_hwcaps_subdirectories_and_lib_and_platform_tokens() {
    let help = loader_help();
    let f = Fixture::new("hwcaps");
    let source = "int hw_fn(void) { return 1; }\n";
    f.library("dir", "hw", source, &[]);
    if help.contains("x86-64-v3 (supported, searched)") {
        f.library("dir/glibc-hwcaps/x86-64-v3", "hw", source, &[]);
    }
    let probe = f.probe("probe", &["-Ldir", "-lhw", "-Wl,-rpath,$ORIGIN/dir"]);
    agree("glibc-hwcaps", &probe, &["hw_fn"]);

    // $LIB and $PLATFORM, as this machine's loader expands them.
    let diagnostics = Command::new("/lib64/ld-linux-x86-64.so.2")
        .arg("--list-diagnostics")
        .output()
        .unwrap();
    let diagnostics = String::from_utf8_lossy(&diagnostics.stdout);
    let platform = diagnostics
        .lines()
        .find_map(|l| l.strip_prefix("dl_platform=\""))
        .map(|l| l.trim_end_matches('"').to_owned())
        .unwrap();
    f.library(
        "tok/lib/x86_64-linux-gnu",
        "liblib",
        "int lib_fn(void) { return 1; }\n",
        &[],
    );
    f.library(
        &format!("tok/{platform}"),
        "plat",
        "int plat_fn(void) { return 1; }\n",
        &[],
    );
    let probe = f.probe(
        "probe-tokens",
        &[
            "-Ltok/lib/x86_64-linux-gnu",
            &format!("-Ltok/{platform}"),
            "-lliblib",
            "-lplat",
            "-Wl,-rpath,$ORIGIN/tok/$LIB:$ORIGIN/tok/$PLATFORM",
        ],
    );
    let seen = agree("$LIB and $PLATFORM", &probe, &["lib_fn", "plat_fn"]);
    assert!(matches!(seen, Outcome::Symbols(ref s) if s.iter().all(|(_, f)| f.is_some())));
}

#[test]
fn a_binary_without_section_headers_is_read_as_the_loader_reads_it() {
    let f = Fixture::new("no-sections");
    f.library("", "sec", "int sec_fn(void) { return 1; }\n", &[]);
    let probe = f.probe("probe", &["-L.", "-lsec", "-Wl,-rpath,$ORIGIN"]);
    let mut data = std::fs::read(&probe).unwrap();
    // e_shoff (8 bytes at 0x28), e_shnum (0x3c), e_shstrndx (0x3e): no section headers.
    data[0x28..0x30].fill(0);
    data[0x3c..0x40].fill(0);
    let stripped = f.path("probe-stripped");
    std::fs::write(&stripped, &data).unwrap();
    std::fs::set_permissions(
        &stripped,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let seen = agree("no section headers", &stripped, &["sec_fn", "printf"]);
    assert!(matches!(seen, Outcome::Symbols(ref s) if s.iter().all(|(_, f)| f.is_some())));
}

#[test]
fn a_library_without_a_hash_table_provides_nothing() {
    let f = Fixture::new("no-hash");
    let library = f.library(
        "",
        "nohash",
        "int nohash_fn(void) { return 1; }\n",
        &["-Wl,--hash-style=gnu"],
    );
    // Turn its DT_GNU_HASH (and any DT_HASH) into DT_DEBUG, which a library's loader ignores:
    // the loader still maps it, but looks no name up in it (glibc's do_lookup_x skips an
    // object with no hash buckets). Its `.dynsym` still holds nohash_fn.
    let mut data = std::fs::read(&library).unwrap();
    fn word(data: &[u8], at: usize, size: usize) -> usize {
        let mut bytes = [0u8; 8];
        bytes[..size].copy_from_slice(&data[at..at + size]);
        u64::from_le_bytes(bytes) as usize
    }
    let (phoff, phentsize, phnum) = (
        word(&data, 0x20, 8),
        word(&data, 0x36, 2),
        word(&data, 0x38, 2),
    );
    let dynamic = (0..phnum)
        .map(|i| phoff + i * phentsize)
        .find(|&ph| word(&data, ph, 4) == 2)
        .expect("a PT_DYNAMIC segment");
    let (offset, size) = (word(&data, dynamic + 8, 8), word(&data, dynamic + 32, 8));
    let mut patched = 0;
    for entry in (offset..offset + size).step_by(16) {
        if matches!(word(&data, entry, 8), 0x6fff_fef5 | 4) {
            data[entry..entry + 8].copy_from_slice(&21u64.to_le_bytes());
            patched += 1;
        }
    }
    assert!(patched > 0, "the library has a hash table to remove");
    std::fs::write(&library, &data).unwrap();
    let probe = f.probe("probe", &["-L.", "-lnohash", "-Wl,-rpath,$ORIGIN"]);
    let seen = agree(
        "a library without a hash table",
        &probe,
        &["nohash_fn", "printf"],
    );
    let Outcome::Symbols(symbols) = seen else {
        panic!("the probe starts")
    };
    assert_eq!(
        symbols[0].1, None,
        "dlsym finds nothing in a library without hash table"
    );
    assert!(symbols[1].1.is_some());
}

#[test]
fn ld_library_path_is_ignored_and_said_to_be() {
    let f = Fixture::new("ld-library-path");
    f.library("elsewhere", "llp", "int llp_fn(void) { return 1; }\n", &[]);
    let probe = f.probe("probe", &["-Lelsewhere", "-lllp"]);
    // With LD_LIBRARY_PATH the loader would find it; the binary itself does not.
    assert_eq!(
        agree("no RUNPATH", &probe, &["llp_fn"]),
        Outcome::WillNotStart
    );
    let report = {
        // SAFETY: this test sets a variable no other test of this binary reads.
        unsafe { std::env::set_var("LD_LIBRARY_PATH", f.path("elsewhere")) };
        let report = verify(&probe, &["llp_fn"]).unwrap();
        // SAFETY: as above.
        unsafe { std::env::remove_var("LD_LIBRARY_PATH") };
        report
    };
    assert!(!report.starts());
    let trace = &report
        .needed
        .iter()
        .find(|n| n.name == "libllp.so")
        .unwrap()
        .trace;
    assert!(
        trace
            .iter()
            .any(|s| s.source == "LD_LIBRARY_PATH" && s.outcome.contains("ignored")),
        "{trace:#?}"
    );
}

#[test]
fn a_library_outside_the_cache_in_a_configured_directory_is_not_found() {
    // /usr/local/lib is in ld.so.conf, but the loader reads only the cache, which ldconfig has
    // not rebuilt: the library is not found. Needs root to write there.
    let dir = Path::new("/usr/local/lib");
    let probe_dir = Fixture::new("not-cached");
    let name = "libjitlinkagenotcached.so";
    let target = dir.join(name);
    let writable = std::fs::write(dir.join(".jit-linkage-probe"), b"").is_ok();
    let _ = std::fs::remove_file(dir.join(".jit-linkage-probe"));
    assert!(
        writable,
        "{} is not writable: this test puts a library there, and needs root (CI runs as root)",
        dir.display()
    );
    probe_dir.write("nc.c", "int nc_fn(void) { return 1; }\n");
    probe_dir.run(
        "cc",
        &[
            "-shared",
            "-fPIC",
            "-o",
            target.to_str().unwrap(),
            "nc.c",
            &format!("-Wl,-soname,{name}"),
        ],
    );
    let probe = probe_dir.probe("probe", &["-L/usr/local/lib", "-ljitlinkagenotcached"]);
    let seen = agree("not in ld.so.cache", &probe, &["nc_fn"]);
    let _ = std::fs::remove_file(&target);
    assert_eq!(seen, Outcome::WillNotStart);
}

#[test]
fn a_file_the_loader_cannot_load_stops_it_and_an_unknown_token_stays_literal() {
    let f = Fixture::new("broken-candidate");
    // A text file called libz.so.1 next to a binary with RUNPATH $ORIGIN: the loader does not
    // skip it for the system's zlib; it stops ("file too short").
    let probe = f.probe(
        "probe",
        &["-lz", "-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN"],
    );
    std::fs::write(f.path("libz.so.1"), "not a library\n").unwrap();
    assert_eq!(
        agree("a text libz.so.1 in $ORIGIN", &probe, &["zlibVersion"]),
        Outcome::WillNotStart
    );

    // `$FOO` is no token: the loader searches a directory literally called `$FOO`.
    let t = Fixture::new("literal-token");
    t.library("$FOO", "tok", "int tok_fn(void) { return 1; }\n", &[]);
    let probe = t.probe(
        "probe",
        &[
            "-L$FOO",
            "-ltok",
            "-Wl,--enable-new-dtags",
            "-Wl,-rpath,$ORIGIN/$FOO",
        ],
    );
    let seen = agree("$ORIGIN/$FOO", &probe, &["tok_fn"]);
    assert!(matches!(seen, Outcome::Symbols(ref s) if s[0].1.is_some()));
}

#[test]
fn a_fifo_where_a_library_is_looked_for_does_not_hang_the_tool() {
    // The loader itself would block opening it; verify-symbols must answer, and say the binary
    // does not start.
    let f = Fixture::new("fifo-candidate");
    let probe = f.probe(
        "probe",
        &["-lz", "-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN"],
    );
    f.run("mkfifo", &["libz.so.1"]);
    let start = std::time::Instant::now();
    assert_eq!(tool_says(&probe, &["zlibVersion"]), Outcome::WillNotStart);
    assert!(start.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn a_32_bit_binary_is_resolved_by_its_own_loader_where_this_machine_has_it() {
    // x86-64 machines with the i386 C library run 32-bit binaries through /lib/ld-linux.so.2;
    // verify-symbols asks that loader, not the 64-bit one.
    assert!(
        Path::new("/lib/ld-linux.so.2").exists() && Path::new("/lib32/libc.so.6").exists(),
        "no i386 loader and C library on this machine: install Debian's libc6-i386 (cargo xtask \
         deps does)"
    );
    let f = Fixture::new("i386");
    f.write(
        "s32.c",
        "extern int puts(const char *); extern void exit(int);\n\
         void _start(void) { puts(\"hi32\"); exit(0); }\n",
    );
    f.run(
        "cc",
        &[
            "-m32",
            "-nostdlib",
            "-no-pie",
            "s32.c",
            "/lib32/libc.so.6",
            "-Wl,-dynamic-linker,/lib/ld-linux.so.2",
            "-o",
            "app32",
        ],
    );
    let out = Command::new(f.path("app32")).env_clear().output().unwrap();
    assert!(out.status.success(), "the loader runs it: {out:?}");
    let report = verify(&f.path("app32"), &["puts"]).unwrap();
    assert!(report.starts() && report.foreign.is_none(), "{report:#?}");
    assert_eq!(
        report.symbols[0].status,
        Status::ProvidedByDependency,
        "{report:#?}"
    );
}

#[test]
fn a_name_the_program_defines_but_does_not_export_is_the_librarys_that_does() {
    // The program defines each name too, but hidden, `static`, or global and not exported: in
    // its `.symtab` only, so dlsym goes on to libdup.so. (Linked against a stub libdup.so, so the
    // linker sees no definition it should export the program's copy over; the real one, with
    // the same SONAME, is what the loader finds.) libdup.so defines `_init` itself, exported, as
    // libXxf86vm does; every program has a hidden `_init` of its own.
    let f = Fixture::new("own-hidden");
    f.library("stub", "dup", "int dup_other(void) { return 0; }\n", &[]);
    f.library(
        "",
        "dup",
        "int dup_hidden(void) { return 1; }\nint dup_static(void) { return 2; }\n\
         int dup_plain(void) { return 3; }\nvoid _init(void) {}\n",
        &["-nostartfiles"],
    );
    f.write(
        "own.c",
        "__attribute__((visibility(\"hidden\"))) int dup_hidden(void) { return 10; }\n\
         static int dup_static(void) { return 20; }\nint dup_plain(void) { return 30; }\n\
         int (*volatile keep[])(void) = { dup_hidden, dup_static, dup_plain };\n",
    );
    let probe = f.probe("probe", &["own.c", "-Lstub", "-ldup", "-Wl,-rpath,$ORIGIN"]);
    let names = ["dup_hidden", "dup_static", "dup_plain", "_init"];
    let seen = agree("defined in the program, not exported", &probe, &names);
    let library = real(&f.path("libdup.so"));
    assert_eq!(
        seen,
        Outcome::Symbols(
            names
                .iter()
                .map(|n| ((*n).to_owned(), Some(library.clone())))
                .collect()
        ),
        "dlsym returns libdup.so's definitions"
    );
    // And the program's own copy is named, since it is not the one the JIT calls.
    let report = verify(&probe, &names).unwrap();
    for symbol in &report.symbols {
        let hint = symbol.hint.as_deref().unwrap_or_default();
        assert!(
            hint.contains("the binary's own definition is"),
            "{symbol:?}"
        );
    }
}

#[test]
fn a_version_name_is_said_to_be_one_not_a_missing_symbol() {
    // GLIBC_2.2.5 (libc.so.6) and ZLIB_1.2.2 (libz.so.1) are the names of version definitions:
    // absolute symbols of value 0. dlsym finds them, stops there, and returns their value:
    // NULL, with no error.
    let f = Fixture::new("version-names");
    let probe = f.probe("probe", &["-lz"]);
    let names = ["GLIBC_2.2.5", "ZLIB_1.2.2"];
    let output = run_probe(&probe, &names).expect("the probe starts");
    for name in names {
        assert!(
            output.contains(&format!("{name} - null-without-error")),
            "{output}"
        );
    }
    agree("version names", &probe, &names);
    let report = verify(&probe, &names).unwrap();
    for (symbol, library) in report.symbols.iter().zip(["libc.so.6", "libz.so.1"]) {
        let hint = symbol.hint.as_deref().unwrap_or_default();
        assert!(
            hint.contains("is the name of a version") && hint.contains(library),
            "{symbol:?}"
        );
    }
}

/// Sets the bloom filter's word count in the `DT_GNU_HASH` table of the ELF file at `path`;
/// returns the count it had.
fn set_bloom_words(path: &Path, words: u32) -> u32 {
    use object::{Object, ObjectSection};
    let mut data = std::fs::read(path).unwrap();
    let table = {
        let file = object::File::parse(&*data).unwrap();
        let section = file.section_by_name(".gnu.hash").expect("a GNU hash table");
        section.file_range().unwrap().0 as usize
    };
    // nbuckets, symoffset, bloom_size, bloom_shift: the third word.
    let field = table + 8..table + 12;
    let was = u32::from_le_bytes(data[field.clone()].try_into().unwrap());
    data[field].copy_from_slice(&words.to_le_bytes());
    std::fs::write(path, &data).unwrap();
    was
}

#[test]
fn a_gnu_hash_bloom_filter_of_a_size_not_a_power_of_two_stops_the_loader() {
    // ld.so asserts that the bloom filter's word count is a power of two (_dl_setup_hash), for
    // the program and for each library it maps, and does not start the program (exit 127).
    let f = Fixture::new("bloom-size");
    let library = f.library(
        "",
        "bloom",
        "int bloom_fn(void) { return 1; }\n",
        &["-Wl,--hash-style=gnu"],
    );
    let probe = f.probe(
        "probe",
        &[
            "-L.",
            "-lbloom",
            "-Wl,-rpath,$ORIGIN",
            "-Wl,--hash-style=gnu",
        ],
    );
    let Outcome::Symbols(_) = agree("a good table", &probe, &["bloom_fn"]) else {
        panic!("the probe starts")
    };
    // Two words (a power of two) still start; three do not. The library, then the program.
    for (path, what) in [(&library, "the library's"), (&probe, "the program's")] {
        let words = set_bloom_words(path, 2);
        agree(&format!("{what}, 2 words"), &probe, &["bloom_fn"]);
        set_bloom_words(path, 3);
        assert_eq!(
            agree(&format!("{what}, 3 words"), &probe, &["bloom_fn"]),
            Outcome::WillNotStart
        );
        let report = verify(&probe, &["bloom_fn"]).unwrap();
        assert!(
            report
                .warnings
                .iter()
                .any(|w| w.contains(&*real(path).to_string_lossy()) && w.contains("power of two")),
            "{report:#?}"
        );
        set_bloom_words(path, words);
    }
}

#[test]
fn a_library_in_etc_ld_so_preload_comes_before_the_binarys_own() {
    // /etc/ld.so.preload applies to every program on the machine: the loader maps what it
    // lists after the program and before its DT_NEEDED libraries, so a preloaded
    // external_function is what dlsym (and the JIT) finds, not the one of libext.so.
    let f = Fixture::new("preload-file");
    f.library(
        "",
        "ext",
        "int external_function(int x) { return 2 * x; }\n",
        &[],
    );
    let pre = f.library(
        "pre",
        "pre",
        "int external_function(int x) { return 1000; }\n",
        &[],
    );
    f.library("", "pre2", "int pre2_fn(void) { return 2; }\n", &[]);
    f.library("", "pre3", "int pre3_fn(void) { return 3; }\n", &[]);
    let probe = f.probe("probe", &["-L.", "-lext", "-Wl,-rpath,$ORIGIN"]);
    // Listed by path, by name (searched as a DT_NEEDED of the program is: its RUNPATH finds
    // it), and one that is not there (the loader says so and goes on); `#` comments, and `:`
    // separates too. The last comment is one the loader reads only in part (it looks for the
    // next `#` within a length it shortens): libpre3.so, in it, is preloaded all the same.
    let listed = format!(
        "# for the test\n{}:libpre2.so\n/nonexistent/libnone.so # libpre3.so\n",
        pre.display()
    );
    let wrapper = f.with_preload_file(&listed);
    let wrapper: Vec<&OsStr> = wrapper.iter().map(|a| a.as_os_str()).collect();
    let names = ["external_function", "pre2_fn", "pre3_fn", "printf"];
    let loader = loader_says_through(&wrapper, &probe, &names);
    let (tool, report) = tool_says_through(&wrapper, &probe, &names);
    assert_eq!(
        tool, loader,
        "with /etc/ld.so.preload: verify-symbols (left) and the loader (right) disagree"
    );
    let Outcome::Symbols(symbols) = loader else {
        panic!("the probe starts")
    };
    assert_eq!(symbols[0].1.as_deref(), Some(real(&pre).as_path()));
    for (symbol, library) in symbols[1..3].iter().zip(["libpre2.so", "libpre3.so"]) {
        assert_eq!(symbol.1, Some(real(&f.path(library))));
    }
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains("/etc/ld.so.preload") && warnings.contains("libnone.so"),
        "{report:#}"
    );
}

#[test]
fn ld_preload_in_verify_symbols_own_environment_is_said_to_apply_to_it_only() {
    // A program started with LD_PRELOAD gets the preloaded external_function; started anywhere
    // else, libext.so's. verify-symbols answers for the binary (libext.so), and says what
    // LD_PRELOAD in its own environment would change for a program started from there.
    let f = Fixture::new("preload-environment");
    let ext = f.library(
        "",
        "ext",
        "int external_function(int x) { return 2 * x; }\n",
        &[],
    );
    let pre = f.library(
        "pre",
        "pre",
        "int external_function(int x) { return 1000; }\n",
        &[],
    );
    let probe = f.probe("probe", &["-L.", "-lext", "-Wl,-rpath,$ORIGIN"]);
    let names = ["external_function"];
    let with_preload = Command::new(&probe)
        .args(names)
        .env_clear()
        .env("LD_PRELOAD", &pre)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&with_preload.stdout).contains(&*real(&pre).to_string_lossy()),
        "{with_preload:?}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_verify-symbols"))
        .args(["--binary", probe.to_str().unwrap(), "--json"])
        .args(["--symbol", names[0]])
        .env_clear()
        .env("LD_PRELOAD", &pre)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let report = &json["binaries"][0];
    assert_eq!(
        loader_says(&probe, &names),
        Outcome::Symbols(vec![(names[0].to_owned(), Some(real(&ext)))])
    );
    assert_eq!(
        report["symbols"][0]["provider"]
            .as_str()
            .map(|p| real(Path::new(p))),
        Some(real(&ext)),
        "{report:#}"
    );
    let warning = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w.as_str())
        .find(|w| w.contains("LD_PRELOAD"))
        .unwrap_or_else(|| panic!("no warning about LD_PRELOAD: {report:#}"));
    assert!(
        warning.contains(&*pre.to_string_lossy())
            && warning.contains("external_function")
            && warning.contains("this environment"),
        "{warning}"
    );
}

/// Runs a program as user and group 65534 (nobody), as anyone but its owner runs a
/// set-user-ID program: the kernel then gives it AT_SECURE. Needs root.
fn as_another_user() -> Vec<&'static OsStr> {
    let id = Command::new("id").arg("-u").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&id.stdout).trim(),
        "0",
        "running a binary as another user (setpriv) needs root: run the tests as root, as \
         cargo xtask test does"
    );
    [
        "/usr/bin/setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ]
    .map(OsStr::new)
    .to_vec()
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
}

#[test]
fn a_set_user_id_binary_is_resolved_by_the_loaders_secure_mode_rules() {
    // For anyone but its owner a set-user-ID (or set-group-ID) program runs in secure mode:
    // $ORIGIN counts only at the start of an entry, and in the program's own RUNPATH/RPATH only
    // where it expands under a system directory (glibc's _dl_dst_substitute). verify-symbols
    // answers for those users (the owner, root here, is the one who gets the ordinary rules).
    let other = as_another_user();
    let f = Fixture::new("secure-mode");
    f.library("", "sec", "int sec_fn(void) { return 1; }\n", &[]);
    f.library("deps", "inner", "int inner_fn(void) { return 2; }\n", &[]);
    let inner = "-linner";
    f.library(
        "deps",
        "outer",
        "int outer_fn(void) { return 3; }\n",
        &[
            "-Wl,--no-as-needed",
            "-Ldeps",
            inner,
            "-Wl,--enable-new-dtags",
            "-Wl,-rpath,$ORIGIN",
        ],
    );
    let deps = format!("-Wl,-rpath,{}", real(&f.path("deps")).display());
    let here = format!("-Wl,-rpath,{}", real(&f.dir).display());
    let runpath = "-Wl,--enable-new-dtags";
    let rpath = "-Wl,--disable-new-dtags";
    // What it links with, its mode, and whether another user's run then starts.
    let cases: [(&str, Vec<&str>, u32, bool); 5] = [
        (
            "RUNPATH $ORIGIN",
            vec!["-L.", "-lsec", runpath, "-Wl,-rpath,$ORIGIN"],
            0o4755,
            false,
        ),
        (
            "RPATH ${ORIGIN}",
            vec!["-L.", "-lsec", rpath, "-Wl,-rpath,${ORIGIN}"],
            0o4755,
            false,
        ),
        (
            "set-group-ID",
            vec!["-L.", "-lsec", runpath, "-Wl,-rpath,$ORIGIN"],
            0o2755,
            false,
        ),
        (
            "RUNPATH absolute",
            vec!["-L.", "-lsec", runpath, &here],
            0o4755,
            true,
        ),
        (
            "a library's own $ORIGIN",
            vec!["-Ldeps", "-louter", runpath, &deps],
            0o4755,
            true,
        ),
    ];
    let names = ["sec_fn", "inner_fn"];
    for (index, (what, args, mode, starts)) in cases.into_iter().enumerate() {
        let probe = f.probe(&format!("probe-{index}"), &args);
        // Without the mode bit, another user gets the ordinary rules: the probe starts.
        let plain = loader_says_through(&other, &probe, &names);
        assert!(
            matches!(plain, Outcome::Symbols(_)),
            "{what}, no mode bit: {plain:?}"
        );
        assert_eq!(tool_says(&probe, &names), plain, "{what}, no mode bit");
        set_mode(&probe, mode);
        let loader = loader_says_through(&other, &probe, &names);
        assert_eq!(
            matches!(loader, Outcome::Symbols(_)),
            starts,
            "{what}: the loader, for another user: {loader:?}"
        );
        assert_eq!(
            tool_says(&probe, &names),
            loader,
            "{what}, run by another user: verify-symbols (left) and the loader (right) disagree"
        );
        let report = verify(&probe, &names).unwrap();
        assert!(
            report
                .warnings
                .iter()
                .any(|w| w.contains("secure mode (AT_SECURE)")),
            "{what}: {report:#?}"
        );
        // No set-user-ID root program is left behind.
        set_mode(&probe, 0o755);
    }

    // $ORIGIN of a program in a system directory is trusted (it is seen in one here through
    // an overlay, in a private mount namespace), unless it leads out of it.
    let system = "/usr/lib/x86_64-linux-gnu";
    let inside = "syslib/vs-secure-mode-test";
    f.library(inside, "sec", "int sec_fn(void) { return 1; }\n", &[]);
    let escape = format!("-Wl,-rpath,$ORIGIN/../../../..{}", real(&f.dir).display());
    let cases: [(&str, &str, bool); 2] = [
        (
            "$ORIGIN under a system directory",
            "-Wl,-rpath,$ORIGIN",
            true,
        ),
        ("$ORIGIN/../.. out of it", &escape, false),
    ];
    for (index, (what, rpath, starts)) in cases.into_iter().enumerate() {
        let name = format!("probe-{index}");
        let probe = f.probe(
            &format!("{inside}/{name}"),
            &[&format!("-L{inside}"), "-lsec", runpath, rpath],
        );
        set_mode(&probe, 0o4755);
        let namespace = f.overlaying("syslib", system, &format!("vs-secure-mode-test/{name}"));
        let namespace: Vec<&OsStr> = namespace.iter().map(|a| a.as_os_str()).collect();
        let inside_probe = Path::new(system).join("vs-secure-mode-test").join(&name);
        let mut as_other = namespace.clone();
        as_other.extend(&other);
        let loader = loader_says_through(&as_other, &inside_probe, &names);
        assert_eq!(
            matches!(loader, Outcome::Symbols(_)),
            starts,
            "{what}: the loader, for another user: {loader:?}"
        );
        let (tool, _) = tool_says_through(&namespace, &inside_probe, &names);
        assert_eq!(
            tool, loader,
            "{what}, run by another user: verify-symbols (left) and the loader (right) disagree"
        );
        set_mode(&probe, 0o755);
    }
}

#[test]
fn a_corrupt_ld_so_cache_is_an_error_naming_it_not_an_empty_cache() {
    // The loader reads a cache lazily and may use parts of a broken one: what it would take
    // from it cannot be told. verify-symbols says so (exit 2, naming the file and the fix)
    // instead of answering as if there were no cache.
    let f = Fixture::new("corrupt-cache");
    let probe = f.probe("probe", &["-lz"]);
    let mut cache = b"glibc-ld.so.cache1.1".to_vec();
    cache.extend_from_slice(&[0xff; 40]);
    f.write("etc/ld.so.cache", &String::from_utf8_lossy(&cache));
    let wrapper = f.overlaying("etc", "/etc", "ld.so.cache");
    let out = Command::new(&wrapper[0])
        .args(&wrapper[1..])
        .arg(env!("CARGO_BIN_EXE_verify-symbols"))
        .arg("--binary")
        .arg(&probe)
        .args(["--symbol", "zlibVersion"])
        .env_clear()
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        stderr.contains("/etc/ld.so.cache") && stderr.contains("ldconfig"),
        "{stderr}"
    );
    // Outside the namespace, the system's own cache: an answer.
    assert!(verify(&probe, &["zlibVersion"]).unwrap().all_found());
}

#[test]
fn emulated_tls_s_helper_is_provided_by_libgcc_s() {
    // orc-jit takes the address of __emutls_get_address (emulated TLS needs it), so a JIT host
    // imports it, from libgcc_s.so.1 (GCC_4.3.0), and the loader resolves it at start.
    let f = Fixture::new("emutls");
    f.write(
        "uses.c",
        "extern void *__emutls_get_address(void *);\n\
         void *(*volatile emutls_keep)(void *) = __emutls_get_address;\n",
    );
    let probe = f.probe("probe", &["uses.c", "-lgcc_s"]);
    let seen = agree("__emutls_get_address", &probe, &["__emutls_get_address"]);
    let Outcome::Symbols(symbols) = seen else {
        panic!("the probe starts")
    };
    let provider = symbols[0].1.as_deref().expect("found");
    assert_eq!(
        provider.file_name().unwrap(),
        "libgcc_s.so.1",
        "{provider:?}"
    );
    let report = verify(&probe, &["__emutls_get_address"]).unwrap();
    assert_eq!(report.symbols[0].status, Status::ProvidedByDependency);
    assert_eq!(report.symbols[0].version.as_deref(), Some("GCC_4.3.0"));
}
