//! `cargo xtask deps`: the system packages, checked and (as root on Debian) installed.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::flags::Deps;
use crate::progress;

/// One thing the workspace needs from the system, and the Debian package that provides it.
struct Requirement {
    what: &'static str,
    present: fn(&Path) -> bool,
    package: &'static str,
}

fn llvm_prefix() -> PathBuf {
    // Set by .cargo/config.toml's [env] for everything cargo runs; a user may override it.
    std::env::var_os("LLVM_SYS_140_PREFIX")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/llvm-14"))
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

const REQUIREMENTS: &[Requirement] = &[
    Requirement {
        what: "LLVM 14 headers and shared library (llvm-config, llvm-c/Orc.h, libLLVM-14.so)",
        present: |prefix| {
            prefix.join("bin/llvm-config").is_file()
                && prefix.join("include/llvm-c/Orc.h").is_file()
                && prefix.join("lib/libLLVM-14.so").exists()
        },
        package: "llvm-14-dev",
    },
    Requirement {
        what: "LLVM 14 tools (llvm-as-14, llvm-link-14, lli-14)",
        present: |_| on_path("llvm-as-14") && on_path("llvm-link-14") && on_path("lli-14"),
        package: "llvm-14",
    },
    Requirement {
        what: "clang-14 (C to LLVM bitcode)",
        present: |_| on_path("clang-14"),
        package: "clang-14",
    },
    Requirement {
        what: "valgrind (jit-core's memory test)",
        present: |_| on_path("valgrind"),
        package: "valgrind",
    },
    Requirement {
        what: "a C compiler and linker (cc)",
        present: |_| on_path("cc"),
        package: "gcc",
    },
];

impl Deps {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let prefix = llvm_prefix();
        let missing: Vec<&Requirement> = REQUIREMENTS
            .iter()
            .filter(|r| !(r.present)(&prefix))
            .collect();
        if missing.is_empty() {
            progress!("deps: all system packages are present");
            return Ok(());
        }
        let packages: Vec<&str> = missing.iter().map(|r| r.package).collect();
        for r in &missing {
            progress!("deps: missing {} (Debian package {})", r.what, r.package);
        }
        let install = format!(
            "apt-get install -y --no-install-recommends {}",
            packages.join(" ")
        );
        if self.check {
            bail!("system packages are missing; install them with: sudo {install}");
        }
        if !is_root() || !has_apt() {
            bail!(
                "system packages are missing and xtask installs them only as root on \
                 Debian/Ubuntu; there, run: sudo apt-get update && sudo {install}; elsewhere \
                 install LLVM 14 (with its development files) and clang 14, and set \
                 LLVM_SYS_140_PREFIX to LLVM 14's prefix"
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
        let still: Vec<&str> = REQUIREMENTS
            .iter()
            .filter(|r| !(r.present)(&prefix))
            .map(|r| r.what)
            .collect();
        if !still.is_empty() {
            bail!(
                "still missing after installing: {}; if LLVM 14 is installed elsewhere set \
                 LLVM_SYS_140_PREFIX to its prefix",
                still.join("; ")
            );
        }
        progress!("deps: installed");
        Ok(())
    }
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
