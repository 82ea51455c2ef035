//! `cargo xtask deps`: the system packages, checked and (as root on Debian) installed, and
//! LLVM's own ExecutionEngine tests of the installed LLVM, fetched from its Debian source
//! package for the conformance suite.

use std::path::Path;

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::flags::Deps;
use crate::llvm::Llvm;
use crate::{debian_source, llvm_tests, progress};

/// One thing the workspace needs from the system, and the Debian package that provides it.
struct Requirement {
    what: String,
    present: bool,
    package: String,
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// Whether the C compiler's linker finds `file` (`cc -print-file-name` answers with a path only
/// when it does).
fn c_library_present(file: &str) -> bool {
    std::process::Command::new("cc")
        .arg(format!("-print-file-name={file}"))
        .output()
        .is_ok_and(|o| Path::new(String::from_utf8_lossy(&o.stdout).trim()).is_absolute())
}

/// What LLVM `llvm` needs, and the tools every version needs.
fn requirements(llvm: Llvm) -> Vec<Requirement> {
    let prefix = llvm.prefix();
    let n = llvm.major();
    let present = |path: &str| prefix.join(path).exists();
    let mut requirements = vec![
        Requirement {
            what: format!(
                "LLVM {n} headers and shared library (llvm-config, llvm-c/Orc.h, libLLVM-{n}.so)"
            ),
            present: present("bin/llvm-config")
                && present("include/llvm-c/Orc.h")
                && present(&format!("lib/libLLVM-{n}.so")),
            package: format!("llvm-{n}-dev"),
        },
        Requirement {
            what: "zstd's development library (libzstd.so: LLVM 16 and later link it when \
                   linked statically)"
                .into(),
            present: c_library_present("libzstd.so"),
            package: "libzstd-dev".into(),
        },
        Requirement {
            what: format!("LLVM {n} tools (llvm-as-{n}, llvm-link-{n}, lli-{n})"),
            present: ["llvm-as", "llvm-link", "lli"]
                .iter()
                .all(|tool| on_path(&format!("{tool}-{n}"))),
            package: format!("llvm-{n}"),
        },
        Requirement {
            what: format!("clang-{n} (C to LLVM {n} bitcode)"),
            present: on_path(&format!("clang-{n}")),
            package: format!("clang-{n}"),
        },
        Requirement {
            what: format!("lld-{n} (ld.lld, for the tests that link with lld)"),
            present: present("bin/ld.lld"),
            package: format!("lld-{n}"),
        },
        Requirement {
            what: "python3 (orc-jit's mutated-object tests put a lying proxy, \
                   tests/data/lying_proxy.py, in front of the compile worker)"
                .into(),
            present: on_path("python3"),
            package: "python3".into(),
        },
        Requirement {
            what: "valgrind (orc-jit's memory test)".into(),
            present: on_path("valgrind"),
            package: "valgrind".into(),
        },
        Requirement {
            what: "perf (orc-jit's profiler tests and the demos' tests record JIT code with perf \
                   record and read it back with perf report and perf inject --jit)"
                .into(),
            present: on_path("perf"),
            package: "linux-perf".into(),
        },
        Requirement {
            what: "gdb (orc-jit's debugger tests, the demos' tests and xtask's debugger_linkage \
                   test break in JIT code with gdb -batch; `cargo xtask demo debug`)"
                .into(),
            present: on_path("gdb"),
            package: "gdb".into(),
        },
        Requirement {
            what: "the i386 loader and C library (verify-symbols' tests resolve a 32-bit \
                   binary with its own loader)"
                .into(),
            present: Path::new("/lib/ld-linux.so.2").is_file()
                && Path::new("/lib32/libc.so.6").is_file(),
            package: "libc6-i386".into(),
        },
        Requirement {
            what: "a C compiler and linker (cc)".into(),
            present: on_path("cc"),
            package: "gcc".into(),
        },
        Requirement {
            what: "a C++ compiler (c++, for C++ helper libraries)".into(),
            present: on_path("c++"),
            package: "g++".into(),
        },
        Requirement {
            what: "pkg-config (for pkg_config libraries)".into(),
            present: on_path("pkg-config"),
            package: "pkg-config".into(),
        },
        Requirement {
            what: "zlib's headers and libraries (the tests' prebuilt library)".into(),
            present: Path::new("/usr/include/zlib.h").is_file(),
            package: "zlib1g-dev".into(),
        },
        Requirement {
            what: "SQLite's headers and libraries (the tests' pkg-config library)".into(),
            present: Path::new("/usr/include/sqlite3.h").is_file(),
            package: "libsqlite3-dev".into(),
        },
        Requirement {
            what: "curl (fetches LLVM's tests from Debian's archive)".into(),
            present: on_path("curl"),
            package: "curl".into(),
        },
        Requirement {
            what: "xz (Debian's source indices and LLVM's source tarball)".into(),
            present: on_path("xz"),
            package: "xz-utils".into(),
        },
        Requirement {
            what: "gpgv and Debian's archive keyring (check the source index's signature)".into(),
            present: on_path("gpgv") && Path::new(debian_source::ARCHIVE_KEYRING).is_file(),
            package: "gpgv debian-archive-keyring".into(),
        },
    ];
    // Debian 12 builds LLVM 15 without Polly (there is no libpolly-15-dev, and its llvm-config
    // lists no Polly library); every other version's static link needs it.
    if n != 15 {
        requirements.push(Requirement {
            what: format!(
                "LLVM {n}'s Polly static library (libPolly.a: llvm-config lists it among the \
                 static libraries the llvm{n}-static feature links)"
            ),
            present: present("lib/libPolly.a"),
            package: format!("libpolly-{n}-dev"),
        });
    }
    requirements
}

impl Deps {
    /// The system packages, then LLVM's ExecutionEngine tests (the conformance suite's).
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        system_packages(sh, self.llvm, self.check)?;
        llvm_tests::ensure(sh, self.llvm, self.check)?;
        Ok(())
    }
}

/// Checks the system packages LLVM `llvm` needs and, unless `check`, installs the missing
/// ones (as root on Debian). What `demo`, `dist` and `bench` need; `test` also needs LLVM's
/// tests ([`Deps::run`]).
pub(crate) fn system_packages(sh: &Shell, llvm: Llvm, check: bool) -> anyhow::Result<()> {
    let missing: Vec<Requirement> = requirements(llvm)
        .into_iter()
        .filter(|r| !r.present)
        .collect();
    if missing.is_empty() {
        progress!("deps: all system packages for LLVM {llvm} are present");
        return Ok(());
    }
    let packages: Vec<&str> = missing
        .iter()
        .flat_map(|r| r.package.split_whitespace())
        .collect();
    for r in &missing {
        progress!("deps: missing {} (Debian package {})", r.what, r.package);
    }
    let install = format!(
        "apt-get install -y --no-install-recommends {}",
        packages.join(" ")
    );
    if check {
        bail!("system packages for LLVM {llvm} are missing; install them with: sudo {install}");
    }
    if !is_root() || !has_apt() {
        bail!(
            "system packages for LLVM {llvm} are missing and xtask installs them only as \
             root on Debian/Ubuntu; there, run: sudo apt-get update && sudo {install}; \
             elsewhere install LLVM {llvm} (with its development files) and clang {llvm}, \
             and set LLVM_SYS_{}_PREFIX to its prefix",
            llvm.sys_line()
        );
    }
    progress!("deps: installing {}", packages.join(" "));
    let _env = sh.push_env("DEBIAN_FRONTEND", "noninteractive");
    cmd!(sh, "apt-get update -q")
        .run()
        .context("apt-get update failed")?;
    cmd!(
        sh,
        "apt-get install -y -q --no-install-recommends {packages...}"
    )
    .run()
    .context("apt-get install failed")?;
    let still: Vec<String> = requirements(llvm)
        .into_iter()
        .filter(|r| !r.present)
        .map(|r| r.what)
        .collect();
    if !still.is_empty() {
        bail!(
            "still missing after installing: {}; if LLVM {llvm} is installed elsewhere set \
             LLVM_SYS_{}_PREFIX to its prefix",
            still.join("; "),
            llvm.sys_line()
        );
    }
    progress!("deps: installed");
    Ok(())
}

/// Effective uid 0, read from /proc (no libc call needed).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}

fn has_apt() -> bool {
    on_path("apt-get") && Path::new("/etc/debian_version").exists()
}
