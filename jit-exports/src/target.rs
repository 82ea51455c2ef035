//! The targets whose link flags are known: what jit-linkage generates flags and a note object
//! for, refusing every other target rather than emitting wrong flags.

use object::{Architecture, Endianness};

use crate::{Error, ErrorKind, Result};

/// A family of targets that take the same link flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Platform {
    /// ELF on Linux with glibc, linked by GNU ld (bfd), gold or lld: `--dynamic-list`,
    /// `--push-state`/`--no-as-needed`, `-rpath` with `$ORIGIN`.
    LinuxGnu,
}

/// One supported target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// The target triple, as cargo gives it to build scripts (`TARGET`).
    pub triple: &'static str,
    /// The machine, for the note object written for it.
    pub architecture: Architecture,
    /// Its ELF `e_machine`.
    pub machine: u16,
    /// Its byte order.
    pub endian: Endianness,
    /// The link flags it takes.
    pub platform: Platform,
}

/// The targets whose link flags are tested.
pub const SUPPORTED_TARGETS: &[Target] = &[
    Target {
        triple: "x86_64-unknown-linux-gnu",
        architecture: Architecture::X86_64,
        machine: object::elf::EM_X86_64,
        endian: Endianness::Little,
        platform: Platform::LinuxGnu,
    },
    Target {
        triple: "aarch64-unknown-linux-gnu",
        architecture: Architecture::Aarch64,
        machine: object::elf::EM_AARCH64,
        endian: Endianness::Little,
        platform: Platform::LinuxGnu,
    },
];

/// The supported target `triple`, or an error of kind [`ErrorKind::UnsupportedTarget`] whose
/// message says why not and what to do. `crt_static` is whether the target feature
/// `crt-static` is on (`CARGO_CFG_TARGET_FEATURE`): a static executable has no dynamic symbol
/// table for a JIT to search.
pub fn target(triple: &str, crt_static: bool) -> Result<&'static Target> {
    let Some(found) = SUPPORTED_TARGETS.iter().find(|t| t.triple == triple) else {
        let reason = if triple.contains("-linux-musl") {
            "musl targets link statically by default, and a static executable has no dynamic \
             symbol table for the JIT to search"
                .to_owned()
        } else if triple.contains("-apple-") {
            "Mach-O needs -force_load and -exported_symbols_list, which are not implemented"
                .to_owned()
        } else {
            let known: Vec<&str> = SUPPORTED_TARGETS.iter().map(|t| t.triple).collect();
            format!("supported targets: {}", known.join(", "))
        };
        return Err(Error::new(ErrorKind::UnsupportedTarget, reason));
    };
    if crt_static {
        return Err(Error::new(
            ErrorKind::UnsupportedTarget,
            "with +crt-static, a statically linked executable has no dynamic symbol table, so \
             the JIT cannot find any symbol in it; remove `-C target-feature=+crt-static`",
        ));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The triples are written out here, not taken from the table: a target dropped from it,
    /// or one added by mistake, fails.
    #[test]
    fn exactly_the_tested_linux_gnu_targets_are_supported() {
        let x86 = target("x86_64-unknown-linux-gnu", false).unwrap();
        assert_eq!(
            (x86.machine, x86.architecture, x86.platform),
            (
                object::elf::EM_X86_64,
                Architecture::X86_64,
                Platform::LinuxGnu
            )
        );
        let arm = target("aarch64-unknown-linux-gnu", false).unwrap();
        assert_eq!(
            (arm.machine, arm.architecture),
            (object::elf::EM_AARCH64, Architecture::Aarch64)
        );
        assert_eq!(SUPPORTED_TARGETS.len(), 2);
    }

    #[test]
    fn other_targets_are_refused_with_a_reason() {
        for (triple, expected) in [
            ("x86_64-apple-darwin", "-force_load"),
            ("x86_64-unknown-linux-musl", "static"),
            (
                "x86_64-pc-windows-msvc",
                "supported targets: x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu",
            ),
            ("riscv64gc-unknown-linux-gnu", "supported targets"),
            ("i686-unknown-linux-gnu", "supported targets"),
        ] {
            let err = target(triple, false).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::UnsupportedTarget);
            assert!(err.message().contains(expected), "{triple}: {err}");
        }
        let err = target("x86_64-unknown-linux-gnu", true).unwrap_err();
        assert!(err.message().contains("crt-static"), "{err}");
    }

    /// The table against the outside world: each triple is one rustc knows, and its machine
    /// and byte order are object's for its architecture.
    #[test]
    fn each_supported_triple_is_a_rustc_target_of_that_machine() {
        let listed =
            std::process::Command::new(std::env::var_os("RUSTC").unwrap_or("rustc".into()))
                .args(["--print", "target-list"])
                .output()
                .expect("rustc --print target-list runs");
        let listed = String::from_utf8_lossy(&listed.stdout);
        for t in SUPPORTED_TARGETS {
            assert!(
                listed.lines().any(|l| l == t.triple),
                "rustc has no {}",
                t.triple
            );
            let (machine, endian) = match t.architecture {
                Architecture::X86_64 => (object::elf::EM_X86_64, Endianness::Little),
                Architecture::Aarch64 => (object::elf::EM_AARCH64, Endianness::Little),
                other => panic!("{}: unexpected {other:?}", t.triple),
            };
            assert_eq!((t.machine, t.endian), (machine, endian), "{}", t.triple);
            assert!(t.triple.starts_with(match t.architecture {
                Architecture::X86_64 => "x86_64-",
                _ => "aarch64-",
            }));
        }
    }
}
