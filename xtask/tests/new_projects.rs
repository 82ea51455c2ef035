//! `cargo xtask new`: each template generated outside the workspace, built, run, tested and
//! verified, the way a downstream team would start: against the toolkit's crates as
//! `cargo package` ships them (common::packaged), never the checkout.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::shared_build;

use common::xtask;

/// `cargo ARGS` in a generated project, its target directory the shared one.
fn cargo(project: &Path, args: &[&str]) -> Output {
    common::project_cargo(project, args, &[("CARGO_TARGET_DIR", &shared_build())])
}

fn fresh_dir(test: &str) -> std::path::PathBuf {
    common::fresh_dir(&format!("xtask-new-{test}"))
}

#[test]
fn every_template_builds_runs_passes_its_tests_and_verifies() {
    let root = fresh_dir("templates");
    for (linkage, expected) in [
        ("static", "compute() = 42\n"),
        ("dynamic", "compute() = 42\n"),
        ("mixed", "compute() = 42\n"),
        // The C++ helpers' global objects, constructed by the JIT and destroyed once when it is
        // dropped, and the process exits 0 (issue 20 point 6).
        (
            "ipo",
            "compute() = 42 (helper_add inlined: yes)\n\
             helpers: global history \"the C++ helpers' history\" constructed · results: 1 · \
             host_observe calls: 1\n\
             helpers: history destroyed with 1 result\n",
        ),
    ] {
        let name = format!("jit-{linkage}-app");
        let project = root.join(&name);
        // The LLVM version `cargo xtask test` is testing (default: the toolkit's default).
        let llvm = std::env::var("JIT_TOOLKIT_LLVM").unwrap_or_else(|_| "22".into());
        let out = xtask(&[
            "new",
            project.to_str().unwrap(),
            "--linkage",
            linkage,
            "--llvm",
            &llvm,
        ]);
        assert!(out.status.success(), "{linkage}: {out:?}");
        assert!(project.join("README.md").is_file() && project.join("build.rs").is_file());
        assert_eq!(
            std::fs::read_to_string(project.join(".gitignore")).unwrap(),
            "/target\n"
        );
        let cargo_toml = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
        assert!(cargo_toml.contains(&format!("name = \"{name}\"")) && !cargo_toml.contains("{{"));
        // The toolkit's crates by version, none by path (that is `--toolkit`'s patch).
        let version = toolkit_version();
        for dependency in [
            format!("orc-jit = {{ version = \"{version}\""),
            format!("jit-linkage = \"{version}\""),
            format!("verify-symbols = \"{version}\""),
        ] {
            assert!(cargo_toml.contains(&dependency), "{linkage}: {cargo_toml}");
        }
        assert!(
            !cargo_toml.contains("path =") && !cargo_toml.contains("\n[patch"),
            "{linkage}: {cargo_toml}"
        );

        // `--locked`, as CI runs it: the lock file `new` wrote fits the project.
        let run = cargo(&project, &["run", "--quiet", "--locked"]);
        assert!(
            run.status.success(),
            "{linkage}: cargo run: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&run.stdout), expected, "{linkage}");

        let test = cargo(&project, &["test", "--quiet"]);
        assert!(
            test.status.success(),
            "{linkage}: cargo test: {}",
            String::from_utf8_lossy(&test.stdout)
        );

        // What each template's README says: `cargo verify-symbols --binary target/debug/NAME`
        // exits 0. The ipo binary links no library, and its note says so (it used to carry
        // none: exit 2, "its build does not use jit-linkage").
        let binary = shared_build().join("debug").join(&name);
        let verified = cargo(
            &project,
            &["verify-symbols", "--binary", binary.to_str().unwrap()],
        );
        assert_eq!(
            verified.status.code(),
            Some(0),
            "{linkage}: {}",
            String::from_utf8_lossy(&verified.stdout)
        );

        // What each template's README says: gdb stops in the JIT-compiled compute() of
        // `NAME --debugger`, with the program's frames below it.
        match demo_debug::gdb_stops_in(&binary, "compute") {
            Ok(checked) => eprintln!("{linkage}: {}", checked.summary),
            Err(problem) => panic!("{linkage}: {problem}"),
        }
    }
}

#[test]
fn refuses_a_non_empty_directory_and_a_bad_name() {
    let dir = fresh_dir("refusals");
    std::fs::write(dir.join("keep.txt"), "mine").unwrap();
    let out = xtask(&[
        "new",
        dir.to_str().unwrap(),
        "--linkage",
        "static",
        "--name",
        "ok-name",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--force"),
        "{out:?}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("keep.txt")).unwrap(),
        "mine"
    );

    let out = xtask(&[
        "new",
        dir.join("x").to_str().unwrap(),
        "--linkage",
        "static",
        "--name",
        "1bad",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a valid crate name"),
        "{out:?}"
    );

    let forced = xtask(&[
        "new",
        dir.to_str().unwrap(),
        "--linkage",
        "dynamic",
        "--name",
        "forced",
        "--force",
    ]);
    assert!(forced.status.success(), "{forced:?}");
    assert!(dir.join("build.rs").is_file() && dir.join("keep.txt").is_file());
}

/// `cargo xtask new DIR --linkage static --force` must fail, saying `why`.
fn refused_with_force(dir: &Path, why: &str) {
    let out = xtask(&[
        "new",
        dir.to_str().unwrap(),
        "--linkage",
        "static",
        "--name",
        "refused",
        "--force",
    ]);
    assert!(!out.status.success(), "{}: {out:?}", dir.display());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(why),
        "{}: {out:?}",
        dir.display()
    );
}

#[test]
fn never_writes_inside_the_toolkit_another_workspace_or_through_a_link() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let before = std::fs::read(root.join("Cargo.lock")).unwrap();
    for inside in [
        root.join("templates/static/inner"),
        root.clone(),
        root.join("templates/static"),
    ] {
        refused_with_force(&inside, "must live outside");
    }
    assert!(!root.join("templates/static/inner").exists());
    assert_eq!(std::fs::read(root.join("Cargo.lock")).unwrap(), before);

    // Another workspace (with members) is not written over, even with --force.
    let dir = fresh_dir("other-workspace");
    std::fs::write(dir.join("Cargo.toml"), "[workspace]\nmembers = [\"a\"]\n").unwrap();
    refused_with_force(&dir, "another cargo workspace");
    // Nor is somebody's single package.
    let dir = fresh_dir("other-package");
    std::fs::write(dir.join("Cargo.toml"), "[package]\nname = \"mine\"\n").unwrap();
    refused_with_force(&dir, "another cargo workspace or package");
    assert!(
        std::fs::read_to_string(dir.join("Cargo.toml"))
            .unwrap()
            .contains("mine")
    );

    // A `src` that links elsewhere is not written through.
    let dir = fresh_dir("symlink");
    let elsewhere = fresh_dir("symlink-target");
    std::os::unix::fs::symlink(&elsewhere, dir.join("src")).unwrap();
    refused_with_force(&dir, "symbolic link");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

/// `cargo xtask new DIR --linkage LINKAGE --name NAME` with `more` arguments.
fn new_project(dir: &Path, linkage: &str, more: &[&str]) -> Output {
    let mut args = vec![
        "new",
        dir.to_str().unwrap(),
        "--linkage",
        linkage,
        "--name",
        "recorded",
    ];
    args.extend(more);
    xtask(&args)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A copy of the toolkit checkout's files (`--toolkit`), whose Cargo.lock a test may link to
/// without risking this checkout's.
fn toolkit_copy(test: &str) -> std::path::PathBuf {
    let root = common::toolkit();
    let toolkit = fresh_dir(test);
    let listed = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(listed.status.success(), "{listed:?}");
    for file in listed.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let file = String::from_utf8_lossy(file).into_owned();
        let to = toolkit.join(&file);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        // A file deleted in the working tree but not yet in the index is not copied.
        let _ = std::fs::copy(root.join(&file), &to);
    }
    toolkit
}

/// The version of each package in the lock file at `path`.
fn locked_versions(path: &Path) -> Vec<(String, String)> {
    let lock: toml::Table = std::fs::read_to_string(path).unwrap().parse().unwrap();
    lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A fresh project's `cargo build --locked` (what CI runs) failed at once: `new` copied the
/// toolkit's lock file, which names the toolkit's packages and not the project's. The lock
/// `new` writes fits the project, with the toolkit's versions.
#[test]
fn the_lock_file_fits_the_project_with_the_toolkits_versions() {
    let dir = fresh_dir("locked");
    let out = new_project(&dir, "mixed", &[]);
    assert!(out.status.success(), "{out:?}");
    // Resolution only (no LLVM build): what `cargo build --locked` checks first.
    let resolved = common::project_cargo(
        &dir,
        &["metadata", "--locked", "--offline", "--format-version", "1"],
        &[],
    );
    assert!(
        resolved.status.success(),
        "cargo metadata --locked: {}",
        String::from_utf8_lossy(&resolved.stderr)
    );
    let project = locked_versions(&dir.join("Cargo.lock"));
    let toolkit = locked_versions(&common::toolkit().join("Cargo.lock"));
    assert!(
        project.iter().any(|(name, _)| name == "recorded"),
        "{project:?}"
    );
    assert!(
        project.iter().any(|(name, _)| name == "llvm-sys"),
        "{project:?}"
    );
    for package in &project {
        if package.0 != "recorded" {
            assert!(
                toolkit.contains(package),
                "{package:?} is not the toolkit's version"
            );
        }
    }
    // Nothing of the toolkit's own that the project does not use.
    for unused in ["xtask", "demo-static", "plotters"] {
        assert!(
            project.iter().all(|(name, _)| name != unused),
            "{unused} is locked"
        );
    }
}

/// The one version of the published crates (the workspace's).
fn toolkit_version() -> String {
    let manifest: toml::Table = std::fs::read_to_string(common::toolkit().join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    manifest["workspace"]["package"]["version"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `cargo install verify-symbols` from the packaged crates (common::packaged does it with no
/// llvm-config on PATH and every LLVM prefix pointing nowhere) works and builds nothing of the
/// build-script side or of LLVM; its tools run.
#[test]
fn verify_symbols_installs_from_its_package_without_llvm() {
    let packaged = common::packaged::packaged();
    for tool in ["verify-symbols", "cargo-verify-symbols", "jit-dist"] {
        let out = Command::new(packaged.tools.join(tool))
            .arg("--help")
            .output()
            .unwrap();
        assert!(out.status.success(), "{tool} --help: {out:?}");
    }
    // What the installed package depends on, as cargo resolves it from the packages (in a
    // copy outside this workspace, which cargo would take the package for a member of).
    let unpacked = packaged
        .cargo_home
        .join("../registry")
        .join(format!("verify-symbols-{}", toolkit_version()));
    let copy = fresh_dir("verify-symbols-package");
    let copied = Command::new("cp")
        .arg("-r")
        .arg(&unpacked)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(copied.success());
    let tree = common::cargo_ok(
        &copy.join(unpacked.file_name().unwrap()),
        &["tree", "--locked", "-e", "normal", "--prefix", "none"],
        &[("CARGO_HOME", &packaged.cargo_home)],
    );
    let tree = String::from_utf8_lossy(&tree.stdout);
    let mut crates: Vec<&str> = tree.lines().filter_map(|l| l.split(' ').next()).collect();
    crates.sort_unstable();
    crates.dedup();
    for unwanted in [
        "llvm-sys",
        "orc-jit",
        "jit-linkage",
        "cc",
        "pkg-config",
        "toml",
        "glob",
        "anstream",
    ] {
        assert!(
            !crates.contains(&unwanted),
            "verify-symbols depends on {unwanted}: {crates:?}"
        );
        assert!(
            !packaged
                .install_log
                .contains(&format!("Compiling {unwanted} ")),
            "{}",
            packaged.install_log
        );
    }
    assert!(crates.contains(&"jit-exports"), "{crates:?}");
    eprintln!("verify-symbols: {} crates ({crates:?})", crates.len());
}

/// `--toolkit DIR` builds the toolkit's crates from the checkout DIR: path dependencies through
/// [patch.crates-io], which cargo resolves to DIR's packages.
#[test]
fn toolkit_dir_patches_the_crates_to_the_checkout() {
    let toolkit = toolkit_copy("patched-toolkit");
    let dir = fresh_dir("patched");
    let out = new_project(&dir, "static", &["--toolkit", toolkit.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let cargo_toml = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(cargo_toml.contains("[patch.crates-io]"), "{cargo_toml}");
    let metadata = common::cargo_ok(
        &dir,
        &["metadata", "--locked", "--offline", "--format-version", "1"],
        &[],
    );
    let metadata: serde_json::Value = serde_json::from_slice(&metadata.stdout).unwrap();
    for name in ["orc-jit", "jit-linkage", "verify-symbols"] {
        let package = metadata["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} is not in the graph"));
        let manifest = package["manifest_path"].as_str().unwrap();
        assert!(
            Path::new(manifest).starts_with(&toolkit),
            "{name} comes from {manifest}, not {}",
            toolkit.display()
        );
    }
}

#[test]
fn force_never_writes_through_a_hard_link() {
    use std::os::unix::fs::MetadataExt;
    let toolkit = toolkit_copy("hard-link-toolkit");
    let toolkit_lock = toolkit.join("Cargo.lock");
    let lock = std::fs::read(&toolkit_lock).unwrap();
    let with_toolkit = ["--toolkit", toolkit.to_str().unwrap(), "--force"];

    // A Cargo.lock linked to the toolkit's in a directory `new` never wrote: refused (`new`
    // used to copy onto it, which truncated the toolkit's lock to 0 bytes).
    let dir = fresh_dir("hard-link");
    std::fs::hard_link(&toolkit_lock, dir.join("Cargo.lock")).unwrap();
    let out = new_project(&dir, "static", &with_toolkit);
    assert!(!out.status.success(), "{out:?}");
    assert!(
        stderr(&out).contains("Cargo.lock: not written by `new`"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&toolkit_lock).unwrap(), lock);
    assert!(!dir.join("build.rs").exists(), "refused, yet written");
    std::fs::remove_file(dir.join("Cargo.lock")).unwrap();

    // In a project `new` wrote, a link whose content is the one `new` recorded (here the
    // toolkit's lock, made a second name of the project's): replaced by a file of the
    // project's own, and the other name keeps its content.
    let dir = fresh_dir("hard-link-recorded");
    let out = new_project(&dir, "static", &with_toolkit);
    assert!(out.status.success(), "{out:?}");
    let written = std::fs::read(dir.join("Cargo.lock")).unwrap();
    std::fs::remove_file(&toolkit_lock).unwrap();
    std::fs::hard_link(dir.join("Cargo.lock"), &toolkit_lock).unwrap();
    let out = new_project(&dir, "static", &with_toolkit);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(std::fs::read(&toolkit_lock).unwrap(), written);
    assert_eq!(std::fs::read(dir.join("Cargo.lock")).unwrap(), written);
    let (theirs, ours) = (
        std::fs::metadata(&toolkit_lock).unwrap(),
        std::fs::metadata(dir.join("Cargo.lock")).unwrap(),
    );
    assert_ne!(theirs.ino(), ours.ino());
    assert_eq!((theirs.nlink(), ours.nlink()), (1, 1));
}

#[test]
fn force_never_overwrites_a_file_it_did_not_write_or_that_was_changed() {
    // The user's own README.md and .gitignore: refused by name, and nothing is written.
    let dir = fresh_dir("users-files");
    std::fs::write(dir.join("README.md"), "my notes\n").unwrap();
    std::fs::write(dir.join(".gitignore"), "/mine\n").unwrap();
    let out = new_project(&dir, "static", &["--force"]);
    assert!(!out.status.success(), "{out:?}");
    for expected in [
        "README.md: not written by `new`",
        ".gitignore: not written by `new`",
        "has no .jit-toolkit-new.sums",
        "Move each of them away",
    ] {
        assert!(stderr(&out).contains(expected), "{}", stderr(&out));
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("README.md")).unwrap(),
        "my notes\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join(".gitignore")).unwrap(),
        "/mine\n"
    );
    assert!(!dir.join("build.rs").exists(), "refused, yet written");

    // A project `new` wrote, regenerated unchanged with another linkage: its files are
    // replaced, the user's own file next to them is left alone, and the record follows.
    let dir = fresh_dir("regenerated");
    assert!(new_project(&dir, "static", &[]).status.success());
    let record = std::fs::read_to_string(dir.join(".jit-toolkit-new.sums")).unwrap();
    for file in ["Cargo.lock", "Cargo.toml", "src/main.rs", ".gitignore"] {
        assert!(record.contains(&format!("  {file}\n")), "{file}: {record}");
    }
    std::fs::write(dir.join("keep.txt"), "mine").unwrap();
    let out = new_project(&dir, "dynamic", &["--force"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        std::fs::read_to_string(dir.join("build.rs"))
            .unwrap()
            .contains("link_dynamic")
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("keep.txt")).unwrap(),
        "mine"
    );
    assert_ne!(
        std::fs::read_to_string(dir.join(".jit-toolkit-new.sums")).unwrap(),
        record
    );

    // An edit to a file `new` wrote: refused by name, the edit kept, nothing written.
    let main = dir.join("src/main.rs");
    let edited = format!("{}// my change\n", std::fs::read_to_string(&main).unwrap());
    std::fs::write(&main, &edited).unwrap();
    let build_rs = std::fs::read_to_string(dir.join("build.rs")).unwrap();
    let out = new_project(&dir, "static", &["--force"]);
    assert!(!out.status.success(), "{out:?}");
    assert!(
        stderr(&out).contains("src/main.rs: changed since `new` wrote it"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&main).unwrap(), edited);
    assert_eq!(
        std::fs::read_to_string(dir.join("build.rs")).unwrap(),
        build_rs
    );
}

/// cargo-generate runs without a terminal (`--silent`) only when every placeholder a template
/// uses is built in (`project-name`, `crate_name`) or declared with a default; a prompt without
/// a terminal fails and leaves an empty directory. Checked on the files themselves, the way
/// cargo-generate reads them.
#[test]
fn every_template_placeholder_has_a_cargo_generate_default() {
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates");
    for template in ["static", "dynamic", "ipo", "mixed"] {
        let dir = templates.join(template);
        let text = std::fs::read_to_string(dir.join("cargo-generate.toml")).unwrap();
        let config: toml::Table = toml::from_str(&text).unwrap();
        let placeholders = config["placeholders"].as_table().unwrap();
        let mut used = Vec::new();
        collect_placeholders(&dir, &mut used);
        used.sort();
        used.dedup();
        assert!(
            used.contains(&"toolkit_version".to_owned()),
            "{template}: {used:?}"
        );
        // cargo-generate's projects depend on the version the crates have.
        assert_eq!(
            placeholders["toolkit_version"]["default"].as_str(),
            Some(toolkit_version().as_str()),
            "{template}: cargo-generate.toml's default toolkit_version"
        );
        for name in used {
            if name == "project-name" || name == "crate_name" {
                continue;
            }
            let default = placeholders
                .get(&name)
                .and_then(|p| p.get("default"))
                .and_then(|d| d.as_str());
            assert!(
                default.is_some_and(|d| !d.is_empty()),
                "{template}: placeholder `{name}` has no default in cargo-generate.toml"
            );
        }
        // Every declared placeholder is one `cargo xtask new` fills too.
        for name in placeholders.keys() {
            assert!(
                ["toolkit_version", "llvm_version"].contains(&name.as_str()),
                "{template}: `{name}` is declared but xtask new does not fill it"
            );
        }
    }
}

fn collect_placeholders(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_placeholders(&path, out);
        } else if path.file_name().unwrap() != "cargo-generate.toml" {
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let mut rest = text.as_str();
            while let Some(start) = rest.find("{{") {
                let after = &rest[start + 2..];
                let end = after.find("}}").expect("an unclosed placeholder");
                out.push(after[..end].trim().to_owned());
                rest = &after[end + 2..];
            }
        }
    }
}
