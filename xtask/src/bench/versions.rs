//! Each installed LLVM version's start-up and compile time, on the same demo.

use std::process::Command;

use anyhow::Context;
use xshell::Shell;

use super::startup::run_demo;
use super::{Outcome, Row, Settings};
use crate::flags::{BenchTarget, Variant};
use crate::llvm::Llvm;
use crate::{build_libs, demo, progress};

pub(super) fn run(sh: &Shell, settings: &Settings) -> anyhow::Result<Outcome> {
    let installed = Llvm::installed();
    let mut binaries = Vec::new();
    for &llvm in &installed {
        demo::build(sh, &[Variant::Static], llvm)?;
        let dir = settings.dir.join(format!("llvm-{llvm}"));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let copy = dir.join("demo-static");
        build_libs::place(&Variant::Static.binary(), &copy)?;
        binaries.push((llvm, copy));
    }
    // Leave the default build as it was.
    demo::build(sh, &[Variant::Static], settings.llvm)?;
    progress!(
        "bench llvm-versions: demo-static with LLVM {}, 1 warm-up + {} rounds, alternating",
        installed
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        settings.rounds
    );
    let mut walls = vec![Vec::new(); binaries.len()];
    let mut work = vec![Vec::new(); binaries.len()];
    super::alternate(settings.rounds, binaries.len(), |index, counted| {
        let run = run_demo(&mut Command::new(&binaries[index].1))?;
        if counted {
            walls[index].push(run.wall);
            // LLJIT creation, parse, add and lookup (code generation): the JIT's work.
            work[index].push(run.steps[..4].iter().sum());
        }
        Ok(())
    })?;
    let mut rows = Vec::new();
    for ((llvm, _), (wall, jit)) in binaries.iter().zip(walls.into_iter().zip(work)) {
        rows.push(Row::ours("whole process", format!("LLVM {llvm}"), wall));
        rows.push(Row::ours(
            "JIT work (create, parse, add, compile)",
            format!("LLVM {llvm}"),
            jit,
        ));
    }
    let mut notes = Vec::new();
    if installed.len() < 2 {
        notes.push(format!(
            "Only LLVM {} is installed: nothing to compare (`cargo xtask deps --llvm N` \
             installs another).",
            installed
                .first()
                .map_or_else(|| "none".to_owned(), ToString::to_string)
        ));
    }
    Ok(Outcome {
        target: BenchTarget::LlvmVersions,
        title: "LLVM versions".into(),
        method: "demo-static built with each installed LLVM version (orc-jit's `llvmN` \
                 feature, libLLVM as a shared library), each build copied aside and run \
                 alternately: the whole process, and the JIT's own work inside it (LLJIT \
                 creation, parse, add, and the lookup that compiles) from \
                 `JIT_DEMO_TIMINGS=1`. The same bundled module each time."
            .into(),
        unit: "ms",
        rows,
        goals: Vec::new(),
        notes,
    })
}
