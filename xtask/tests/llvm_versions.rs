//! The supported LLVM versions are listed once, in xtask/src/llvm.rs (`Llvm::ALL`); every other
//! place that must name them (cargo features, orc-jit's build script and version module, the
//! templates' prompts, the README's table) agrees with that list, or this test names the place.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The one list: `Llvm::ALL` in xtask/src/llvm.rs.
fn versions() -> Vec<String> {
    let llvm = read("xtask/src/llvm.rs");
    let line = llvm
        .lines()
        .find(|l| l.contains("const ALL:"))
        .expect("xtask/src/llvm.rs has Llvm::ALL");
    line.split("Llvm(")
        .skip(1)
        .filter_map(|part| part.split(')').next())
        .map(str::to_owned)
        .collect()
}

/// The `llvm<N>` (and `llvm<N>-static`) features a manifest declares, in its order.
fn features(manifest: &str, suffix: &str) -> Vec<String> {
    read(manifest)
        .lines()
        .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim()))
        .filter_map(|k| k.strip_prefix("llvm"))
        .filter_map(|k| {
            k.strip_suffix(suffix)
                .filter(|v| v.chars().all(|c| c.is_ascii_digit()))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_place_lists_the_same_llvm_versions() {
    let all = versions();
    assert!(all.len() >= 5, "Llvm::ALL read as {all:?}");
    let spelled = all.join(", ");
    let mut disagree = Vec::new();
    for manifest in [
        "orc-jit/Cargo.toml",
        "c-artifacts/Cargo.toml",
        "conformance/Cargo.toml",
        "demo-runner/Cargo.toml",
        "demo-static/Cargo.toml",
        "demo-dynamic/Cargo.toml",
        "demo-ipo/Cargo.toml",
    ] {
        let shared = features(manifest, "");
        if shared != all {
            disagree.push(format!("{manifest}: features llvm{shared:?}"));
        }
    }
    for manifest in [
        "orc-jit/Cargo.toml",
        "demo-runner/Cargo.toml",
        "demo-static/Cargo.toml",
    ] {
        let statics = features(manifest, "-static");
        if statics != all {
            disagree.push(format!("{manifest}: features llvm{statics:?}-static"));
        }
    }
    let build = read("orc-jit/build.rs");
    let quoted: Vec<String> = all.iter().map(|v| format!("\"{v}\"")).collect();
    if !build.contains(&format!("[{}]", quoted.join(", "))) {
        disagree.push("orc-jit/build.rs: VERSIONS".into());
    }
    let version = read("orc-jit/src/version.rs");
    for v in &all {
        if !version.contains(&format!("jit_llvm = \"{v}\"")) {
            disagree.push(format!("orc-jit/src/version.rs: no cfg arm for {v}"));
        }
    }
    let or_list = format!(
        "{} or {}",
        all[..all.len() - 1].join(", "),
        all[all.len() - 1]
    );
    for template in ["dynamic", "ipo", "mixed", "static"] {
        let prompt = read(&format!("templates/{template}/cargo-generate.toml"));
        if !prompt.contains(&or_list) {
            disagree.push(format!(
                "templates/{template}/cargo-generate.toml: not `{or_list}`"
            ));
        }
    }
    let flags = read("xtask/src/flags.rs");
    // The flags' help lines that spell the list out, "(14, 15, ...)".
    let spells_a_list = |l: &&str| {
        l.contains("The LLVM version")
            && l.split('(')
                .nth(1)
                .is_some_and(|rest| rest.starts_with(char::is_numeric))
    };
    for line in flags.lines().filter(spells_a_list) {
        if !line.contains(&spelled) {
            disagree.push(format!("xtask/src/flags.rs: `{}`", line.trim()));
        }
    }
    let readme = read("README.md");
    for v in &all {
        if !readme.contains(&format!("| {v} ")) && !readme.contains(&format!("| {v} (default)")) {
            disagree.push(format!(
                "README.md: no row for LLVM {v} in the versions table"
            ));
        }
    }
    assert!(
        disagree.is_empty(),
        "these places do not list LLVM {spelled} (xtask/src/llvm.rs's Llvm::ALL):\n{}",
        disagree.join("\n")
    );
}
