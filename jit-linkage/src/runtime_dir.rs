//! Where the binaries go, so that a shared library copied there is found through `$ORIGIN`.
//!
//! A build script is told `OUT_DIR`, below cargo's build directory, and asks `cargo metadata`
//! for the target directory, which it knows from `CARGO_TARGET_DIR`, `CARGO_BUILD_BUILD_DIR` and
//! the config files. Neither shows a target directory given on cargo's command line
//! (`--target-dir`, `--config build.target-dir=...`); when the build directory is set apart too,
//! OUT_DIR does not show it either, and the libraries would silently land in the wrong place.
//! That case is found from the command line of the cargo running the build script (its parent
//! process, on Linux) and is a warning naming the fix.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Cargo's target and build directories, as `cargo metadata` reports them for this package:
/// it reads `CARGO_TARGET_DIR`, `CARGO_BUILD_BUILD_DIR` and the config files as the build did
/// (but not `--target-dir` or `--config` given to the build on the command line).
pub(crate) fn cargo_dirs() -> Option<(PathBuf, PathBuf)> {
    let cargo = std::env::var_os("CARGO")?;
    let manifest = std::env::var_os("CARGO_MANIFEST_PATH").or_else(|| {
        let dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
        Some(Path::new(&dir).join("Cargo.toml").into_os_string())
    })?;
    let out = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .arg("--manifest-path")
        .arg(manifest)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let target = PathBuf::from(metadata.get("target_directory")?.as_str()?);
    let build = match metadata.get("build_directory").and_then(|b| b.as_str()) {
        Some(build) => PathBuf::from(build),
        None => target.clone(),
    };
    Some((target, build))
}

/// Where the binaries go. `OUT_DIR` is `<build dir>/<triple/><profile>/build/<pkg>-<hash>/out`
/// and the binaries are in `<target dir>/<triple/><profile>`: the same path below the target
/// directory as the build script's below the build directory. When `dirs` (from `cargo
/// metadata`) does not hold `OUT_DIR`, the directories were given on the command line, and the
/// build directory is taken to be the target directory, as it is unless set apart.
pub(crate) fn profile_dir(out_dir: &Path, dirs: Option<&(PathBuf, PathBuf)>) -> Result<PathBuf> {
    let profile = match (out_dir.ancestors().nth(2), out_dir.ancestors().nth(3)) {
        (Some(build), Some(profile)) if build.file_name() == Some("build".as_ref()) => profile,
        _ => {
            return Err(Error::BinaryDirUnknown {
                out_dir: out_dir.to_path_buf(),
            });
        }
    };
    if let Some((target_dir, build_dir)) = dirs
        && let Ok(below) = profile.strip_prefix(build_dir)
    {
        return Ok(target_dir.join(below));
    }
    Ok(profile.to_path_buf())
}

/// The target directory given on the command line of the cargo that runs this build script
/// (its parent process): `--target-dir DIR`, `--target-dir=DIR` or `--config
/// build.target-dir="DIR"`, relative to that cargo's working directory. `None` when there is
/// none, or the command line cannot be read.
pub(crate) fn command_line_target_dir() -> Option<PathBuf> {
    let parent = std::os::unix::process::parent_id();
    let cmdline = std::fs::read(format!("/proc/{parent}/cmdline")).ok()?;
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect();
    let dir = target_dir_argument(&args)?;
    let cwd = std::fs::read_link(format!("/proc/{parent}/cwd")).ok()?;
    Some(cwd.join(dir))
}

/// The last target directory that cargo arguments `args` give (a later one wins, as in cargo),
/// up to a `--` (what follows belongs to the program `cargo run` starts).
fn target_dir_argument(args: &[String]) -> Option<PathBuf> {
    let mut found = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--" {
            break;
        }
        let value = |flag: &str| -> Option<String> {
            match arg.strip_prefix(flag)? {
                "" => None,
                rest => rest.strip_prefix('=').map(str::to_owned),
            }
        };
        if arg == "--target-dir" {
            found = args.next().map(PathBuf::from).or(found);
        } else if let Some(dir) = value("--target-dir") {
            found = Some(PathBuf::from(dir));
        } else if arg == "--config" || value("--config").is_some() {
            let setting = match value("--config") {
                Some(setting) => Some(setting),
                None => args.next().cloned(),
            };
            // `KEY=VALUE` in TOML; a path to a config file is not a setting.
            let table: Option<toml::Table> = setting.and_then(|s| s.parse().ok());
            if let Some(dir) = table
                .as_ref()
                .and_then(|t| t.get("build")?.get("target-dir")?.as_str())
            {
                found = Some(PathBuf::from(dir));
            }
        }
    }
    found
}

/// The warning for binaries that go elsewhere than the libraries were placed: `placed` is the
/// directory chosen, `out_dir` this build script's, `command_line` the target directory on
/// cargo's command line. `None` when they agree.
pub(crate) fn disagreement(placed: &Path, out_dir: &Path, command_line: &Path) -> Option<String> {
    let profile = out_dir.ancestors().nth(3)?;
    let name = profile.file_name()?;
    // `<dir>/<triple>/<profile>` with `--target`, `<dir>/<profile>` without.
    let triple = std::env::var_os("TARGET");
    let below = match profile.parent().and_then(Path::file_name) {
        Some(parent) if Some(parent) == triple.as_deref() => Path::new(parent).join(name),
        _ => PathBuf::from(name),
    };
    let binaries = command_line.join(below);
    (binaries != placed).then(|| {
        format!(
            "jit-linkage: cargo's command line sets the target directory to {} (--target-dir or \
             --config build.target-dir), which build scripts are not told, and the build \
             directory is set apart, so the shared libraries were copied to {} while the \
             binaries go to {}, where they will not start. Set the target directory with \
             CARGO_TARGET_DIR (build scripts see it) instead, or tell the build with \
             .runtime_dir(DIR)",
            command_line.display(),
            placed.display(),
            binaries.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binaries_directory_follows_the_build_and_target_directories() {
        let out = Path::new("/w/target/debug/build/demo-0123/out");
        assert_eq!(
            profile_dir(out, None).unwrap(),
            Path::new("/w/target/debug")
        );
        // A build directory set apart: the same profile path below the target directory.
        let dirs = (PathBuf::from("/w/target"), PathBuf::from("/b"));
        let out = Path::new("/b/x86_64-unknown-linux-gnu/release/build/demo-0123/out");
        assert_eq!(
            profile_dir(out, Some(&dirs)).unwrap(),
            Path::new("/w/target/x86_64-unknown-linux-gnu/release")
        );
        // `--target-dir` on the command line: metadata does not know it, OUT_DIR does.
        let out = Path::new("/elsewhere/debug/build/demo-0123/out");
        assert_eq!(
            profile_dir(out, Some(&dirs)).unwrap(),
            Path::new("/elsewhere/debug")
        );
        let err = profile_dir(Path::new("/tmp/out"), None).unwrap_err();
        assert!(matches!(err, Error::BinaryDirUnknown { .. }), "{err:?}");
        assert!(err.to_string().contains(".runtime_dir"), "{err}");
    }

    #[test]
    fn the_target_directory_is_read_from_cargos_arguments() {
        let args = |text: &str| -> Vec<String> { text.split(' ').map(str::to_owned).collect() };
        let dir = |text: &str| target_dir_argument(&args(text));
        assert_eq!(dir("cargo build"), None);
        assert_eq!(dir("cargo build --target-dir /t"), Some("/t".into()));
        assert_eq!(dir("cargo build --target-dir=rel"), Some("rel".into()));
        assert_eq!(
            dir("cargo build --config build.target-dir=\"/c\""),
            Some("/c".into())
        );
        assert_eq!(
            dir("cargo --config=build.target-dir='/c' build --target-dir /t"),
            Some("/t".into())
        );
        // A config file, another setting, the program's own arguments: not a target directory.
        assert_eq!(dir("cargo build --config my.toml"), None);
        assert_eq!(dir("cargo build --config build.jobs=2"), None);
        assert_eq!(dir("cargo run -- --target-dir /p"), None);
        assert_eq!(dir("cargo build --target-directory /x"), None);
    }

    #[test]
    fn binaries_elsewhere_than_the_libraries_are_a_warning() {
        let out = Path::new("/b/debug/build/demo-0123/out");
        assert_eq!(
            disagreement(Path::new("/t/debug"), out, Path::new("/t")),
            None
        );
        let warning = disagreement(Path::new("/w/target/debug"), out, Path::new("/t")).unwrap();
        assert!(
            warning.contains("/t/debug") && warning.contains("CARGO_TARGET_DIR"),
            "{warning}"
        );
    }
}
