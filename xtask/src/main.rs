//! `cargo xtask`: the toolkit's developer commands. This file only parses flags and dispatches;
//! each command lives in its own module with one `run` entry point.

#[cfg(feature = "bench")]
mod bench;
mod bench_runner;
mod build_libs;
mod debian_source;
mod demo;
mod deps;
mod dist;
mod docs_rs;
mod flags;
mod llvm;
mod llvm_tests;
mod new;
mod test;
mod verify;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let flags = flags::Xtask::parse();
    let result = xshell::Shell::new()
        .map_err(anyhow::Error::from)
        .and_then(|sh| {
            sh.change_dir(project_root());
            let done = |r: anyhow::Result<()>| r.map(|()| ExitCode::SUCCESS);
            match flags.command {
                flags::Command::Deps(cmd) => done(cmd.run(&sh)),
                flags::Command::BuildLibs(cmd) => done(cmd.run(&sh)),
                flags::Command::Demo(cmd) => done(cmd.run(&sh)),
                flags::Command::New(cmd) => done(cmd.run(&sh)),
                flags::Command::Dist(cmd) => done(cmd.run(&sh)),
                flags::Command::VerifySymbols(cmd) => cmd.run(&sh),
                flags::Command::Test(cmd) => done(cmd.run(&sh)),
                flags::Command::Bench(cmd) => done(cmd.run(&sh)),
                #[cfg(feature = "bench")]
                flags::Command::BenchVerifyOnce { program, names } => {
                    done(bench::verify::verify_once(&program, &names))
                }
            }
        });
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (xtask lives one level below it).
pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

/// cargo's target directory: `$CARGO_TARGET_DIR` or `<root>/target`.
pub(crate) fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => project_root().join(dir),
        None => project_root().join("target"),
    }
}

/// What a progress line before a cargo build of packages on orc-jit adds when cargo's profile
/// directory `profile_dir` (`target/debug`...) has never built orc-jit: cargo is told to be
/// quiet, and the first build compiles for minutes.
pub(crate) fn first_build_note(profile_dir: &Path) -> &'static str {
    let built = std::fs::read_dir(profile_dir.join(".fingerprint")).is_ok_and(|mut entries| {
        entries.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("orc-jit-")))
    });
    if built {
        ""
    } else {
        "; the first build compiles LLVM's Rust bindings (llvm-sys) and orc-jit: a few minutes"
    }
}

/// The cargo that runs us, so the same toolchain builds everything.
pub(crate) fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Progress goes to stderr; stdout is for results.
macro_rules! progress {
    ($($arg:tt)*) => { eprintln!("xtask: {}", format_args!($($arg)*)) };
}
pub(crate) use progress;

#[cfg(test)]
mod tests {
    use super::first_build_note;

    /// The note is there exactly while the profile directory has no orc-jit build (issue 23,
    /// point 8: the first `cargo xtask demo` must say why it takes minutes).
    #[test]
    fn the_first_build_note_is_there_until_orc_jit_is_built() {
        let dir = std::env::temp_dir().join(format!("xtask-first-build-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        assert!(first_build_note(&dir).contains("a few minutes"));
        let fingerprints = dir.join(".fingerprint");
        std::fs::create_dir_all(fingerprints.join("orc-jitter-0123")).unwrap();
        std::fs::create_dir_all(fingerprints.join("llvm-sys-0123")).unwrap();
        assert!(first_build_note(&dir).contains("a few minutes"));
        std::fs::create_dir_all(fingerprints.join("orc-jit-0123")).unwrap();
        assert_eq!(first_build_note(&dir), "");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
