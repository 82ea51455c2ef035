//! The edit-build-run loop when nothing changed: `cargo xtask demo` against what a user would
//! do by hand, `cargo build` plus running each demo.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{Context, bail};
use xshell::Shell;

use super::{Bound, Goal, Outcome, Row, Settings, ratio};
use crate::flags::{BenchTarget, Variant};
use crate::{build_libs, demo, progress, project_root};

const OURS: &str = "cargo xtask demo";
const PEER: &str = "cargo build + running the demos";

pub(super) fn run(sh: &Shell, settings: &Settings) -> anyhow::Result<Outcome> {
    let llvm = settings.llvm;
    // Warm: everything built once before the first timed round.
    let libs = build_libs::build(llvm)?;
    let lib = libs.first().context("the manifest has no library")?;
    let bitcode = libs.iter().find_map(|b| b.bitcode.clone());
    demo::build(sh, &Variant::ALL, llvm)?;
    let cargo = crate::cargo();
    let llvm_arg = llvm.to_string();
    let build_args: Vec<String> = demo::packages(&Variant::ALL)
        .iter()
        .flat_map(|p| ["--package".to_owned(), (*p).to_owned()])
        .chain(llvm.cargo_args())
        .collect();
    let objects_before = c_objects()?;
    progress!(
        "bench build-loop: {OURS} against {PEER}, 1 warm-up + {} rounds, alternating",
        settings.rounds
    );
    let (mut ours, mut peer) = (Vec::new(), Vec::new());
    super::alternate(settings.rounds, 2, |side, counted| {
        if side == 0 {
            let mut command = Command::new(&cargo);
            command
                .current_dir(project_root())
                .args(["xtask", "demo", "--llvm", &llvm_arg]);
            let (ms, _) = super::timed(&mut command)?;
            if counted {
                ours.push(ms);
            }
        } else {
            let start = std::time::Instant::now();
            let mut build = Command::new(&cargo);
            build
                .current_dir(project_root())
                .args(["build", "--quiet"])
                .args(&build_args);
            super::timed(&mut build)?;
            for variant in Variant::ALL {
                super::timed(&mut variant.command(lib, bitcode.as_ref()))?;
            }
            if counted {
                peer.push(start.elapsed().as_secs_f64() * 1e3);
            }
        }
        Ok(())
    })?;
    let objects_after = c_objects()?;
    if objects_after != objects_before {
        bail!(
            "C objects were rebuilt during the warm build loop: {}",
            changed(&objects_before, &objects_after).join(", ")
        );
    }
    let case = "warm loop, nothing changed";
    let rows = vec![Row::ours(case, OURS, ours), Row::peer(case, PEER, peer)];
    let goals = vec![Goal {
        text: format!("{OURS} / ({PEER})"),
        ratio: ratio(&rows, (case, OURS), (case, PEER))?,
        bound: Bound::AtMost(1.5),
    }];
    Ok(Outcome {
        target: BenchTarget::BuildLoop,
        title: "The warm build loop".into(),
        method: format!(
            "With everything built, `cargo xtask demo --llvm {llvm}` (it checks the system \
             packages, builds the C libraries' package and the demos — both no-ops — verifies \
             each demo binary's symbols and runs all {} demos) against `cargo build` of the \
             demo packages (a no-op) followed by running the same demos, each side timed whole. \
             The C objects' modification times are compared before and after: no C file may be \
             recompiled (the benchmark fails if one is).",
            Variant::ALL.len()
        ),
        unit: "ms",
        rows,
        goals,
        notes: Vec::new(),
    })
}

/// Every compiled C object (`.o`) of the build scripts' output directories, with its
/// modification time.
fn c_objects() -> anyhow::Result<Vec<(PathBuf, SystemTime)>> {
    let mut found = Vec::new();
    for profile in ["debug", "release"] {
        let build = crate::target_dir().join(profile).join("build");
        let Ok(packages) = std::fs::read_dir(&build) else {
            continue;
        };
        for package in packages.flatten() {
            collect_objects(&package.path().join("out"), &mut found)?;
        }
    }
    found.sort();
    Ok(found)
}

fn collect_objects(dir: &Path, found: &mut Vec<(PathBuf, SystemTime)>) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect_objects(&path, found)?;
        } else if path.extension().is_some_and(|e| e == "o") {
            found.push((path, entry.metadata()?.modified()?));
        }
    }
    Ok(())
}

fn changed(before: &[(PathBuf, SystemTime)], after: &[(PathBuf, SystemTime)]) -> Vec<String> {
    after
        .iter()
        .filter(|entry| !before.contains(entry))
        .map(|(path, _)| path.display().to_string())
        .collect()
}
