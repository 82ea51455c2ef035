//! Whole-process cold start of each demo against `lli` on the same module, with where the
//! demo's time goes.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use xshell::Shell;

use super::{Bound, Goal, Outcome, Row, Settings, field, ratio};
use crate::flags::{BenchTarget, Variant};
use crate::{build_libs, demo, progress};

/// The demos timed (demo-ipo runs another module: it has its own benchmark).
const DEMOS: [Variant; 5] = [
    Variant::Static,
    Variant::Dynamic,
    Variant::Archive,
    Variant::Library,
    Variant::HostFunction,
];

/// The demos' module with a `main` for lli: exit status 0 when f() returned 42.
const LLI_MODULE: &str = "declare i32 @external_function(i32)

define i32 @f() {
entry:
  %result = call i32 @external_function(i32 21)
  ret i32 %result
}

define i32 @main() {
entry:
  %r = call i32 @f()
  %status = sub i32 %r, 42
  ret i32 %status
}
";

/// The demo's steps as `demo_runner::run` reports them with `JIT_DEMO_TIMINGS=1`, after the
/// time from spawn to its first line.
const STEPS: [(&str, &str); 5] = [
    ("jit-ms", "LLJIT creation"),
    ("parse-ms", "parse"),
    ("add-ms", "add (checks)"),
    ("lookup-ms", "lookup (codegen, link)"),
    ("call-ms", "call"),
];

/// One run of a demo: the whole process and its parts (ms).
pub(super) struct Run {
    pub(super) wall: f64,
    pub(super) to_main: f64,
    pub(super) steps: [f64; 5],
}

/// Runs a demo with `JIT_DEMO_TIMINGS=1`: its whole time, and its parts.
pub(super) fn run_demo(command: &mut Command) -> anyhow::Result<Run> {
    command.env("JIT_DEMO_TIMINGS", "1");
    let spawned = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
    let ran = super::run_timed(command, &[0])?;
    let (wall, stderr) = (ran.ms, ran.stderr);
    if !ran.stdout.contains("f() = 42") {
        bail!("{command:?} printed no `f() = 42`: {}", ran.stdout.trim());
    }
    let started = field(&stderr, "timing start-unix-ns")?;
    let mut steps = [0.0; 5];
    for (slot, (key, _)) in steps.iter_mut().zip(STEPS) {
        *slot = field(&stderr, &format!("timing {key}"))?;
    }
    // Both clocks are the wall clock (CLOCK_REALTIME): the parent's before the spawn, the
    // child's at the start of `run`.
    let to_main = (started - spawned as f64) / 1e6;
    Ok(Run {
        wall,
        to_main,
        steps,
    })
}

/// What one side of the comparison runs.
enum Kind {
    /// A demo, with its steps timed.
    Demo,
    /// A process timed whole (lli, or a demo that creates no JIT).
    Whole,
}

pub(super) fn run(sh: &Shell, settings: &Settings) -> anyhow::Result<Outcome> {
    let llvm = settings.llvm;
    let libs = build_libs::build_release(llvm)?;
    let lib = libs.first().context("the manifest has no library")?;
    // Release builds, as a program is shipped (lli is one too).
    demo::build_with(sh, &DEMOS, llvm, &["--release"])?;
    let release = crate::target_dir().join("release");
    let static_llvm =
        demo::build_static_llvm(sh, &[Variant::Static, Variant::Dynamic], llvm, true)?;
    let module = settings.dir.join("lli-module.ll");
    std::fs::write(&module, LLI_MODULE)
        .with_context(|| format!("cannot write {}", module.display()))?;
    let lli = format!("lli-{llvm}");
    let dlopen = format!("--dlopen={}", lib.shared_lib.display());
    let peer = format!("lli-{llvm} --dlopen");

    let mut sides: Vec<(String, Kind, Command)> = DEMOS
        .iter()
        .map(|demo| {
            (
                demo_label(*demo).to_owned(),
                Kind::Demo,
                demo.command_in(&release, lib, None),
            )
        })
        .collect();
    for demo in [Variant::Static, Variant::Dynamic] {
        sides.push((
            format!("{}, LLVM linked statically", demo_label(demo)),
            Kind::Demo,
            demo.command_in(&static_llvm, lib, None),
        ));
    }
    let mut bare = Command::new(Variant::Static.binary_in(&release));
    bare.arg("--help");
    sides.push(("demo-static --help (no JIT)".into(), Kind::Whole, bare));
    let mut peer_command = Command::new(&lli);
    peer_command.arg(&dlopen).arg(&module);
    sides.push((peer.clone(), Kind::Whole, peer_command));

    progress!(
        "bench startup: {} sides, 1 warm-up + {} rounds, alternating",
        sides.len(),
        settings.rounds
    );
    let mut walls: Vec<Vec<f64>> = vec![Vec::new(); sides.len()];
    // For the demos: process start and loading, each step, exit.
    let mut parts: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); STEPS.len() + 2]; sides.len()];
    super::alternate(settings.rounds, sides.len(), |index, counted| {
        let (_, kind, command) = &mut sides[index];
        match kind {
            Kind::Whole => {
                let (ms, _) = super::timed(command)?;
                if counted {
                    walls[index].push(ms);
                }
            }
            Kind::Demo => {
                let run = run_demo(command)?;
                if counted {
                    walls[index].push(run.wall);
                    let inside: f64 = run.steps.iter().sum();
                    parts[index][0].push(run.to_main);
                    for (slot, value) in parts[index][1..].iter_mut().zip(run.steps) {
                        slot.push(value);
                    }
                    parts[index][STEPS.len() + 1].push(run.wall - run.to_main - inside);
                }
            }
        }
        Ok(())
    })?;
    let case = "whole process";
    let mut rows = Vec::new();
    for ((label, _, _), wall) in sides.iter().zip(&walls) {
        if *label == peer {
            rows.push(Row::peer(case, label, wall.clone()));
        } else {
            rows.push(Row::ours(case, label, wall.clone()));
        }
    }
    // The breakdown of demo-static, with libLLVM shared and static.
    let broken_down = [0, DEMOS.len()];
    for index in broken_down {
        let breakdown = format!("{} breakdown", sides[index].0);
        let names = std::iter::once("process start and loading")
            .chain(STEPS.iter().map(|(_, name)| *name))
            .chain(std::iter::once("exit"));
        for (name, samples) in names.zip(&parts[index]) {
            rows.push(Row::ours(&breakdown, name, samples.clone()));
        }
    }
    let mut goals = Vec::new();
    for (label, kind, _) in &sides {
        if matches!(kind, Kind::Demo) {
            goals.push(Goal {
                text: format!("{label} / lli"),
                ratio: ratio(&rows, (case, label), (case, &peer))?,
                bound: Bound::AtMost(0.5),
            });
        }
    }
    Ok(Outcome {
        target: BenchTarget::Startup,
        title: "Cold start: each demo against lli".into(),
        method: format!(
            "Each demo (LLVM {llvm}; orc-jit's default links libLLVM as a shared library, \
             the `llvm{llvm}-static` feature links it into the binary) runs its bundled module \
             — `f()` calling the C library's `external_function(21)` — as a new process, timed \
             from spawn to exit; the peer is `lli-{llvm} --dlopen=LIB.so` on the same function \
             with a `main`. The page cache is warm (as for a user running a program twice); \
             nothing else is. The breakdown comes from the demo itself (`JIT_DEMO_TIMINGS=1`): \
             process start and loading is spawn to the start of its `run` (wall clock on both \
             sides: the loading and relocation of the program and libLLVM, and LLVM's static \
             initialisers), exit is what remains after `call` (destructors, unmapping). There \
             is no separate optimisation step: orc-jit's default path runs no IR pass \
             pipeline, only the code generator at O2; and code generation is part of the \
             lookup, because ORC compiles a module when one of its symbols is first looked up."
        ),
        unit: "ms",
        rows,
        goals,
        notes: vec![
            "`demo-static --help` starts the same binary and exits before creating a JIT: the \
             price of loading the program and libLLVM alone."
                .to_owned(),
            "Every demo is a release build, as a program is shipped (lli is one too).".to_owned(),
            format!(
                "Binary sizes: demo-static {:.1} MB with the shared libLLVM, {:.1} MB with LLVM \
                 linked statically.",
                megabytes(&Variant::Static.binary_in(&release))?,
                megabytes(&Variant::Static.binary_in(&static_llvm))?
            ),
        ],
    })
}

/// A file's size in MB (10^6 bytes).
fn megabytes(path: &std::path::Path) -> anyhow::Result<f64> {
    let bytes = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    Ok(bytes as f64 / 1e6)
}

fn demo_label(demo: Variant) -> &'static str {
    match demo {
        Variant::Static => "demo-static",
        Variant::Dynamic => "demo-dynamic",
        Variant::Archive => "demo-sources archive",
        Variant::Library => "demo-sources library",
        Variant::HostFunction => "demo-sources host-function",
        Variant::Ipo => "demo-ipo",
    }
}
