//! Which targets the generator knows the right flags for.

use crate::{Error, Result};

/// A family of targets that take the same link flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Platform {
    /// ELF on Linux with glibc, linked by GNU ld (bfd), gold or lld: `--dynamic-list`,
    /// `--push-state`/`--no-as-needed`, `-rpath` with `$ORIGIN`.
    LinuxGnu,
}

/// The target triples whose link flags are tested.
pub(crate) const SUPPORTED_TARGETS: &[&str] =
    &["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"];

impl Platform {
    /// The platform of `target`, or an error naming the target. `crt_static` is whether the
    /// target feature `crt-static` is on (`CARGO_CFG_TARGET_FEATURE`).
    pub(crate) fn for_target(target: &str, crt_static: bool) -> Result<Platform> {
        if !SUPPORTED_TARGETS.contains(&target) {
            let reason = if target.contains("-linux-musl") {
                "musl targets link statically by default, and a static executable has no dynamic \
                 symbol table for the JIT to search"
                    .to_owned()
            } else if target.contains("-apple-") {
                "Mach-O needs -force_load and -exported_symbols_list, which are not implemented"
                    .to_owned()
            } else {
                format!("supported targets: {}", SUPPORTED_TARGETS.join(", "))
            };
            return Err(Error::UnsupportedTarget {
                target: target.to_owned(),
                reason,
            });
        }
        if crt_static {
            return Err(Error::UnsupportedTarget {
                target: format!("{target} with +crt-static"),
                reason: "a statically linked executable has no dynamic symbol table, so the JIT \
                         cannot find any symbol in it; remove `-C target-feature=+crt-static`"
                    .to_owned(),
            });
        }
        Ok(Platform::LinuxGnu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_gnu_is_supported() {
        for target in SUPPORTED_TARGETS {
            assert_eq!(
                Platform::for_target(target, false).unwrap(),
                Platform::LinuxGnu
            );
        }
    }

    #[test]
    fn other_targets_are_refused_with_a_reason() {
        for (target, expected) in [
            ("x86_64-apple-darwin", "-force_load"),
            ("x86_64-unknown-linux-musl", "static"),
            (
                "x86_64-pc-windows-msvc",
                "supported targets: x86_64-unknown-linux-gnu",
            ),
        ] {
            let err = Platform::for_target(target, false).unwrap_err().to_string();
            assert!(err.contains(target) && err.contains(expected), "{err}");
        }
        let err = Platform::for_target("x86_64-unknown-linux-gnu", true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("crt-static"), "{err}");
    }
}
