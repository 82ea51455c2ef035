//! Cargo build-script directives: the one place that knows how they are spelt.

use std::fmt;
use std::io::Write;
use std::path::PathBuf;

/// One `cargo:` line a build script prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Directive {
    /// Re-run the build script when this file (or any file under this directory) changes.
    RerunIfChanged(PathBuf),
    /// Re-run the build script when this environment variable changes.
    RerunIfEnvChanged(String),
    /// `-L native=DIR`.
    LinkSearch(PathBuf),
    /// A static archive linked whole into every binary (`+whole-archive`), kept out of a
    /// library target's rlib (`-bundle`) so that each final link gets it whole.
    LinkStaticWholeArchive(String),
    /// A library linked normally (`-l`).
    LinkLib(String),
    /// An argument for the linker of every linked target: binaries, tests, examples, benches.
    LinkArg(String),
    /// An environment variable set for the package's compilation (`env!`).
    RustcEnv(String, String),
    /// A warning cargo shows to the user.
    Warning(String),
}

impl fmt::Display for Directive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The single-colon form works with every cargo version a downstream project may use.
        match self {
            Directive::RerunIfChanged(path) => {
                write!(f, "cargo:rerun-if-changed={}", path.display())
            }
            Directive::RerunIfEnvChanged(var) => write!(f, "cargo:rerun-if-env-changed={var}"),
            Directive::LinkSearch(dir) => {
                write!(f, "cargo:rustc-link-search=native={}", dir.display())
            }
            Directive::LinkStaticWholeArchive(name) => {
                write!(
                    f,
                    "cargo:rustc-link-lib=static:+whole-archive,-bundle={name}"
                )
            }
            Directive::LinkLib(name) => write!(f, "cargo:rustc-link-lib={name}"),
            Directive::LinkArg(arg) => write!(f, "cargo:rustc-link-arg={arg}"),
            Directive::RustcEnv(var, value) => write!(f, "cargo:rustc-env={var}={value}"),
            // A warning is one line: cargo would take a second line for a directive.
            Directive::Warning(text) => write!(f, "cargo:warning={}", text.replace('\n', " ")),
        }
    }
}

/// Prints directives to stdout, where cargo reads them, in order and each exactly once.
pub(crate) fn emit(directives: &[Directive]) {
    let mut out = std::io::stdout().lock();
    for directive in directives {
        // A build script whose stdout is closed cannot tell cargo anything anyway.
        let _ = writeln!(out, "{directive}");
    }
}
