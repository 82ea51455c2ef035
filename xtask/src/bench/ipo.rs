//! A C helper inlined into JIT code from bitcode against the same loop by clang -O3.

use std::process::Command;

use anyhow::bail;
use xshell::{Shell, cmd};

use super::{Bound, Goal, Outcome, Row, Settings, ratio};
use crate::flags::{BenchTarget, Variant};
use crate::{build_libs, demo, progress, project_root};

/// The helper calls each round times.
const CALLS: u64 = 100_000_000;
const TINY_CALLS: u64 = 100_000;

/// 10^8 helper calls, alternating each round which process goes first: the IPO-inlined JIT loop
/// and the plain-call JIT loop (one release demo-ipo process times both, inlined, plain, plain,
/// inlined), and the clang-N -O3 -march=native loop.
pub(super) fn run(sh: &Shell, settings: &Settings) -> anyhow::Result<Outcome> {
    let llvm = settings.llvm;
    let calls = if settings.tiny { TINY_CALLS } else { CALLS }.to_string();
    let libs = build_libs::build(llvm)?;
    let Some(bitcode) = libs.iter().find_map(|b| b.bitcode.clone()) else {
        bail!("no manifest library has `bitcode = true`");
    };
    let root = project_root();
    let aot = settings.dir.join("scale_loop");
    let source = root.join("c-libs/bench/scale_loop.c");
    let include = root.join("c-libs/include");
    let clang = format!("clang-{llvm}");
    // -march=native: the JIT compiles for this CPU, so the peer does too.
    cmd!(
        sh,
        "{clang} -O3 -march=native -I {include} -o {aot} {source}"
    )
    .run()?;
    demo::build_with(sh, &[Variant::Ipo], llvm, &["--release"])?;
    let jit_loop = Variant::Ipo.binary_in(&crate::target_dir().join("release"));
    progress!(
        "bench ipo: {calls} helper calls, 1 warm-up + {} rounds each",
        settings.rounds
    );
    let (mut inlined, mut plain, mut ahead) = (Vec::new(), Vec::new(), Vec::new());
    let mut expected = None;
    let mut jit = Command::new(&jit_loop);
    jit.arg(&bitcode).args(["--bench", &calls]);
    let mut aot_command = Command::new(&aot);
    aot_command.arg(&calls);
    super::alternate(settings.rounds, 2, |side, counted| {
        if side == 0 {
            // demo-ipo prints `inlined NS plain NS result R`.
            let (_, line) = super::timed(&mut jit)?;
            let fields: Vec<&str> = line.split_whitespace().collect();
            let ["inlined", i, "plain", p, "result", result] = fields.as_slice() else {
                bail!("unexpected output of demo-ipo --bench: {line}");
            };
            super::same_result(&mut expected, result)?;
            if counted {
                inlined.push(i.parse::<f64>()?);
                plain.push(p.parse::<f64>()?);
            }
        } else {
            let (result, ns) = super::aot_loop(&mut aot_command)?;
            super::same_result(&mut expected, &result)?;
            if counted {
                ahead.push(ns);
            }
        }
        Ok(())
    })?;
    let case = "helper loop";
    let rows = vec![
        Row::ours(case, "JIT, helper inlined from bitcode", inlined),
        Row::ours(case, "JIT, plain call to the process symbol", plain),
        Row::peer(case, format!("AOT, clang-{llvm} -O3 -march=native"), ahead),
    ];
    let goals = vec![Goal {
        text: "JIT inlined / AOT clang -O3 -march=native".into(),
        ratio: ratio(
            &rows,
            (case, "JIT, helper inlined from bitcode"),
            (case, &format!("AOT, clang-{llvm} -O3 -march=native")),
        )?,
        bound: Bound::AtMost(1.05),
    }];
    Ok(Outcome {
        target: BenchTarget::Ipo,
        title: "A C helper inlined into JIT code against clang -O3".into(),
        method: format!(
            "{calls} calls of the C helper `WrappedScale` (`(x * 7) ^ (x >> 3)`) summed over \
             i < n, timed inside each process (ns per call): demo-ipo (release) JITs the loop \
             with the helper imported from its bitcode and inlined by orc-jit's IPO (checked: \
             the call is gone; the loop vectorises), and the same loop calling the helper \
             through the process symbol; the peer is the loop and the helper compiled together \
             by clang-{llvm} -O3 -march=native (`c-libs/bench/scale_loop.c`; the JIT compiles \
             for this CPU too). All compute the same sum, checked each round."
        ),
        unit: "ns/call",
        rows,
        goals,
        notes: Vec::new(),
    })
}
