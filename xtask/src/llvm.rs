//! The LLVM versions the toolkit supports, and how each command selects one: orc-jit and every
//! package built on it have one cargo feature per version (`llvm14`...`llvm22`).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// An LLVM major version the toolkit supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Llvm(u32);

impl Llvm {
    /// Every supported version, oldest first.
    pub(crate) const ALL: [Llvm; 5] = [Llvm(14), Llvm(15), Llvm(16), Llvm(19), Llvm(22)];
    /// What a new user gets: the newest.
    pub(crate) const DEFAULT: Llvm = Llvm(22);

    pub(crate) fn major(self) -> u32 {
        self.0
    }

    /// The llvm-sys crate line (`LLVM_SYS_<line>_PREFIX`).
    pub(crate) fn sys_line(self) -> u32 {
        match self.0 {
            19 => 191,
            22 => 221,
            n => n * 10,
        }
    }

    /// Where Debian's llvm-N-dev puts it, unless `LLVM_SYS_<line>_PREFIX` says otherwise.
    pub(crate) fn prefix(self) -> PathBuf {
        std::env::var_os(format!("LLVM_SYS_{}_PREFIX", self.sys_line()))
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(format!("/usr/lib/llvm-{}", self.0)))
    }

    /// The cargo arguments that build workspace packages for this version.
    pub(crate) fn cargo_args(self) -> [String; 3] {
        [
            "--no-default-features".into(),
            "--features".into(),
            format!("llvm{}", self.0),
        ]
    }

    /// The versions whose `llvm-config` is installed, oldest first.
    #[cfg(feature = "bench")]
    pub(crate) fn installed() -> Vec<Llvm> {
        Llvm::ALL
            .into_iter()
            .filter(|v| v.prefix().join("bin/llvm-config").is_file())
            .collect()
    }

    /// [`Llvm::cargo_args`] with LLVM linked statically (the `llvm<N>-static` features).
    pub(crate) fn static_cargo_args(self) -> [String; 3] {
        [
            "--no-default-features".into(),
            "--features".into(),
            format!("llvm{}-static", self.0),
        ]
    }
}

impl fmt::Display for Llvm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Llvm {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let supported = || {
            Llvm::ALL
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let n: u32 = s.parse().map_err(|_| {
            format!(
                "`{s}` is not an LLVM major version; use one of {}",
                supported()
            )
        })?;
        Llvm::ALL
            .into_iter()
            .find(|v| v.0 == n)
            .ok_or_else(|| format!("LLVM {n} is not supported; use one of {}", supported()))
    }
}

/// `--llvm N` or `--llvm all`, for `cargo xtask test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LlvmChoice {
    One(Llvm),
    All,
}

impl FromStr for LlvmChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "all" {
            Ok(LlvmChoice::All)
        } else {
            s.parse().map(LlvmChoice::One)
        }
    }
}

impl fmt::Display for LlvmChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LlvmChoice::One(v) => v.fmt(f),
            LlvmChoice::All => f.write_str("all"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_map_to_llvm_sys_lines() {
        assert_eq!("19".parse::<Llvm>().unwrap().sys_line(), 191);
        assert_eq!("14".parse::<Llvm>().unwrap().sys_line(), 140);
        assert!(
            "17".parse::<Llvm>()
                .unwrap_err()
                .contains("14, 15, 16, 19, 22")
        );
        assert!("x".parse::<Llvm>().is_err());
        assert_eq!("all".parse::<LlvmChoice>().unwrap(), LlvmChoice::All);
        assert_eq!(Llvm::DEFAULT.major(), 22);
    }
}
