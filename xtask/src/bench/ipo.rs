//! A C helper inlined into JIT code from bitcode against the same loop by clang -O3.

use anyhow::bail;
use xshell::{Shell, cmd};

use super::{Bound, Goal, Outcome, Row, Settings, ratio};
use crate::flags::{BenchTarget, Variant};
use crate::{build_libs, demo, progress, project_root};

/// The helper calls each round times.
const CALLS: u64 = 100_000_000;
const TINY_CALLS: u64 = 100_000;

/// 10^8 helper calls, alternating each round: the IPO-inlined JIT loop and the plain-call JIT
/// loop (one demo-ipo process prints both), then the clang-N -O3 loop.
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
    cmd!(sh, "{clang} -O3 -I {include} -o {aot} {source}").run()?;
    demo::build(sh, &[Variant::Ipo], llvm)?;
    let jit_loop = Variant::Ipo.binary();
    progress!(
        "bench ipo: {calls} helper calls, 1 warm-up + {} rounds each",
        settings.rounds
    );
    let (mut inlined, mut plain, mut ahead) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..=settings.rounds {
        // demo-ipo prints `inlined NS plain NS result R`; the AOT loop `R NS`.
        let line = cmd!(sh, "{jit_loop} {bitcode} --bench {calls}")
            .quiet()
            .read()?;
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_, i, _, p, _, result] = fields.as_slice() else {
            bail!("unexpected output of demo-ipo --bench: {line}");
        };
        let line = cmd!(sh, "{aot} {calls}").quiet().read()?;
        let Some((aot_result, ns)) = line.split_once(' ') else {
            bail!("unexpected output of the AOT loop: {line}");
        };
        if aot_result != *result {
            bail!("the AOT loop computed {aot_result}, the JIT loop {result}");
        }
        if round > 0 {
            inlined.push(i.parse::<f64>()?);
            plain.push(p.parse::<f64>()?);
            ahead.push(ns.trim().parse::<f64>()?);
        }
    }
    let case = "helper loop";
    let rows = vec![
        Row::ours(case, "JIT, helper inlined from bitcode", inlined),
        Row::ours(case, "JIT, plain call to the process symbol", plain),
        Row::peer(case, format!("AOT, clang-{llvm} -O3"), ahead),
    ];
    let goals = vec![Goal {
        text: "JIT inlined / AOT clang -O3".into(),
        ratio: ratio(
            &rows,
            (case, "JIT, helper inlined from bitcode"),
            (case, &format!("AOT, clang-{llvm} -O3")),
        )?,
        bound: Bound::AtMost(1.05),
    }];
    Ok(Outcome {
        target: BenchTarget::Ipo,
        title: "A C helper inlined into JIT code against clang -O3".into(),
        method: format!(
            "{calls} calls of the C helper `WrappedScale` in a loop, timed inside each process \
             (ns per call): demo-ipo JITs the loop with the helper imported from its bitcode and \
             inlined (jit-core's IPO), and the same loop calling the helper through the process \
             symbol; the peer is the loop and the helper compiled together by clang-{llvm} -O3 \
             (`c-libs/bench/scale_loop.c`). Both compute the same result, checked each round."
        ),
        unit: "ns/call",
        rows,
        goals,
        notes: Vec::new(),
    })
}
