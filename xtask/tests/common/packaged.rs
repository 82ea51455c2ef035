//! The toolkit's crates as a project outside the checkout gets them from crates.io: what
//! `cargo package` puts in each published crate, never the checkout's files. The packages are
//! unpacked into a directory source beside the crates.io dependencies of the toolkit's lock
//! (`cargo vendor`), and a CARGO_HOME of its own replaces crates.io with it, offline. A file a
//! package leaves out, or a dependency it cannot resolve by version, fails the build of every
//! generated project that uses it, as it would fail a user's.
//!
//! A registry package is taken as unchanged while its version is (cargo's fingerprint of a
//! directory source is the version), so a target directory that built an older packaging of
//! the same version forgets those crates' fingerprints first ([`env_for`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use super::toolkit;

/// The packaged toolkit: its CARGO_HOME, and the tools installed from its verify-symbols.
pub struct Packaged {
    pub cargo_home: PathBuf,
    /// `bin/` of `cargo install verify-symbols`: cargo-verify-symbols, jit-dist, verify-symbols.
    pub tools: PathBuf,
    /// What `cargo install` printed.
    pub install_log: String,
    /// Each package's name and the checksum of its `.crate`, which tells one packaging from
    /// another.
    stamp: String,
    names: Vec<String>,
}

fn root() -> PathBuf {
    toolkit().join("target/packaged-toolkit")
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .current_dir(toolkit())
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_BUILD_DIR");
    command
}

fn run(command: &mut Command) -> Output {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?}: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

/// The workspace's packages that are published (`publish` is not `false`).
pub fn published() -> Vec<String> {
    let out = run(cargo().args([
        "metadata",
        "--no-deps",
        "--format-version",
        "1",
        "--offline",
    ]));
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| !p["publish"].as_array().is_some_and(Vec::is_empty))
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The packaged toolkit, made once per test process.
pub fn packaged() -> &'static Packaged {
    static PACKAGED: OnceLock<Packaged> = OnceLock::new();
    PACKAGED.get_or_init(make)
}

fn make() -> Packaged {
    let root = root();
    let names = published();
    assert!(names.len() >= 4, "published: {names:?}");
    // 1. `cargo package` of each published crate (the siblings resolved among themselves; the
    //    test builds them, so no verification build here).
    let packages = root.join("package-target");
    let mut package = cargo();
    package.args([
        "package",
        "--offline",
        "--allow-dirty",
        "--no-verify",
        "--quiet",
    ]);
    for name in &names {
        package.args(["--package", name]);
    }
    run(package.arg("--target-dir").arg(&packages));
    // 2. The crates.io dependencies, as the toolkit's lock has them (every package of the
    //    lock, for every platform: on a fresh machine most are not in cargo's cache yet, and
    //    are fetched from crates.io).
    let registry = root.join("registry");
    run(cargo()
        .args(["vendor", "--locked", "--versioned-dirs", "--quiet"])
        .arg(&registry));
    // 3. Each package unpacked beside them, with the checksum cargo records in a lock file.
    let mut stamp = String::new();
    for name in &names {
        let version = version_of(name);
        let krate = packages.join(format!("package/{name}-{version}.crate"));
        run(Command::new("tar")
            .arg("-xzf")
            .arg(&krate)
            .arg("-C")
            .arg(&registry));
        let sum = run(Command::new("sha256sum").arg(&krate));
        let sum = String::from_utf8_lossy(&sum.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned();
        std::fs::write(
            registry.join(format!("{name}-{version}/.cargo-checksum.json")),
            format!("{{\"files\":{{}},\"package\":\"{sum}\"}}"),
        )
        .unwrap();
        stamp.push_str(&format!("{name} {version} {sum}\n"));
    }
    // 4. A CARGO_HOME whose crates.io is that directory.
    let cargo_home = root.join("cargo-home");
    std::fs::create_dir_all(&cargo_home).unwrap();
    std::fs::write(
        cargo_home.join("config.toml"),
        format!(
            "[source.crates-io]\nreplace-with = \"packaged-toolkit\"\n\n\
             [source.packaged-toolkit]\ndirectory = \"{}\"\n\n[net]\noffline = true\n",
            registry.display()
        ),
    )
    .unwrap();
    let mut packaged = Packaged {
        cargo_home,
        tools: root.join("tools/bin"),
        install_log: String::new(),
        stamp,
        names,
    };
    // 5. `cargo install verify-symbols` from it, on a machine without LLVM.
    let install_target = root.join("install-target");
    packaged.freshen(&install_target);
    let mut install = cargo();
    install
        .args(["install", "verify-symbols", "--locked", "--force", "--root"])
        .arg(root.join("tools"))
        .arg("--target-dir")
        .arg(&install_target)
        // Not below this checkout, whose .cargo/config.toml a user's machine does not have.
        .current_dir(std::env::temp_dir())
        .env("CARGO_HOME", &packaged.cargo_home);
    hide_llvm(&mut install, &root.join("no-llvm"));
    packaged.install_log = String::from_utf8_lossy(&run(&mut install).stderr).into_owned();
    packaged
}

/// The version of the workspace package `name`.
fn version_of(name: &str) -> String {
    let out = run(cargo().args([
        "metadata",
        "--no-deps",
        "--format-version",
        "1",
        "--offline",
    ]));
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["version"].as_str())
        .unwrap()
        .to_owned()
}

/// `command` as on a machine without LLVM: no `llvm-config*` on PATH (a directory of links to
/// everything else on it, in `scratch`), every `LLVM_SYS_<line>_PREFIX` pointing nowhere.
pub fn hide_llvm(command: &mut Command, scratch: &Path) {
    let bin = scratch.join("bin");
    let _ = std::fs::remove_dir_all(&bin);
    std::fs::create_dir_all(&bin).unwrap();
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let link = bin.join(entry.file_name());
            if !entry
                .file_name()
                .to_string_lossy()
                .starts_with("llvm-config")
                && std::fs::symlink_metadata(&link).is_err()
            {
                std::os::unix::fs::symlink(entry.path(), &link).unwrap();
            }
        }
    }
    command.env("PATH", &bin);
    for line in ["140", "150", "160", "191", "221"] {
        command.env(format!("LLVM_SYS_{line}_PREFIX"), scratch.join("nowhere"));
    }
}

impl Packaged {
    /// Makes `target` rebuild the toolkit's crates when it last built another packaging.
    fn freshen(&self, target: &Path) {
        let stamp_file = target.join("packaged-toolkit.sums");
        if std::fs::read_to_string(&stamp_file).ok().as_deref() == Some(&self.stamp) {
            return;
        }
        forget_fingerprints(target, &self.names, 3);
        std::fs::create_dir_all(target).unwrap();
        std::fs::write(&stamp_file, &self.stamp).unwrap();
    }
}

/// Removes the fingerprints of `names`' units below `dir` (every profile and target triple:
/// `debug/.fingerprint`, `release/.fingerprint`, `<triple>/debug/.fingerprint`), so that
/// cargo rebuilds them. (`cargo clean -p` cleans one profile of one target.)
fn forget_fingerprints(dir: &Path, names: &[String], depth: usize) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if entry.file_name() == ".fingerprint" {
            for unit in std::fs::read_dir(entry.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let unit_name = unit.file_name().to_string_lossy().into_owned();
                // `NAME-HASH`, HASH 16 hex digits.
                let ours = unit_name.rsplit_once('-').is_some_and(|(name, hash)| {
                    names.iter().any(|n| n == name)
                        && hash.len() == 16
                        && hash.bytes().all(|b| b.is_ascii_hexdigit())
                });
                if ours {
                    std::fs::remove_dir_all(unit.path()).unwrap();
                }
            }
        } else if depth > 0 {
            forget_fingerprints(&entry.path(), names, depth - 1);
        }
    }
}

/// The environment of a cargo (or `xtask new`) that builds against the packaged toolkit in
/// `target`: its CARGO_HOME, and PATH with its tools first (`cargo verify-symbols`, `jit-dist`).
pub fn env_for(target: &Path) -> Vec<(&'static str, PathBuf)> {
    static FRESH: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
    let packaged = packaged();
    let mut fresh = FRESH.lock().unwrap_or_else(|e| e.into_inner());
    if fresh.insert(target.to_path_buf()) {
        packaged.freshen(target);
    }
    let path = std::env::join_paths(std::iter::once(packaged.tools.clone()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    vec![
        ("CARGO_HOME", packaged.cargo_home.clone()),
        ("PATH", PathBuf::from(path)),
    ]
}
