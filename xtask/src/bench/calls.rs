//! A call from JIT code into a C helper through each symbol source, against ahead-of-time
//! calls through the PLT and direct.

use std::process::Command;

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use super::{Bound, Goal, Outcome, Row, Settings, ratio};
use crate::flags::{BenchTarget, Variant};
use crate::{build_libs, demo, progress, project_root};

const CALLS: u64 = 100_000_000;
const TINY_CALLS: u64 = 100_000;

/// The JIT sides: label, variant, and the symbol source's arguments before `--bench-calls`.
enum Source {
    Process(Variant),
    Archive,
    Library,
    HostFunction,
}

const SOURCES: [(&str, Source); 5] = [
    (
        "process symbol, static link (demo-static)",
        Source::Process(Variant::Static),
    ),
    (
        "process symbol, dynamic link (demo-dynamic)",
        Source::Process(Variant::Dynamic),
    ),
    (".static_archive in the JIT", Source::Archive),
    (".shared_library loaded by path", Source::Library),
    ("Rust host function", Source::HostFunction),
];

const PLT: &str = "AOT call through the PLT";
const DIRECT: &str = "AOT direct call";

pub(super) fn run(sh: &Shell, settings: &Settings) -> anyhow::Result<Outcome> {
    let llvm = settings.llvm;
    let calls = if settings.tiny { TINY_CALLS } else { CALLS }.to_string();
    // Every side calls the same C, compiled at -O3: the release profile's, like the release
    // demos' own copies.
    let libs = build_libs::build_release(llvm)?;
    let lib = libs.first().context("the manifest has no library")?;
    let variants = [Variant::Static, Variant::Dynamic, Variant::Archive];
    demo::build_with(sh, &variants, llvm, &["--release"])?;
    let release = crate::target_dir().join("release");

    let root = project_root();
    let source = root.join("c-libs/bench/call_loop.c");
    let include = root.join("c-libs/include");
    let clang = format!("clang-{llvm}");
    let plt = settings.dir.join("call_loop_plt");
    let direct = settings.dir.join("call_loop_direct");
    let (shared, archive) = (&lib.shared_lib, &lib.static_lib);
    let shared_dir = shared
        .parent()
        .context("the shared library has no directory")?;
    let rpath = format!("-Wl,-rpath,{}", shared_dir.display());
    cmd!(
        sh,
        "{clang} -O2 -fno-lto -I {include} -o {plt} {source} {shared} {rpath}"
    )
    .run()?;
    cmd!(
        sh,
        "{clang} -O2 -fno-lto -I {include} -o {direct} {source} {archive}"
    )
    .run()?;

    progress!(
        "bench calls: {calls} calls per side, 1 warm-up + {} rounds, alternating",
        settings.rounds
    );
    let sides = SOURCES.len() + 2;
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); sides];
    let mut expected: Option<String> = None;
    super::alternate(settings.rounds, sides, |side, counted| {
        let (result, ns) = if side < SOURCES.len() {
            let runner = Variant::Archive.binary_in(&release);
            let mut command = match &SOURCES[side].1 {
                Source::Process(variant) => Command::new(variant.binary_in(&release)),
                Source::Archive => {
                    let mut c = Command::new(&runner);
                    c.arg("archive").arg(archive);
                    c
                }
                Source::Library => {
                    let mut c = Command::new(&runner);
                    c.arg("library").arg(shared);
                    c
                }
                Source::HostFunction => {
                    let mut c = Command::new(&runner);
                    c.arg("host-function");
                    c
                }
            };
            command.arg("--bench-calls").arg(&calls);
            // The demo prints `ns-per-call NS result R`.
            let (_, output) = super::timed(&mut command)?;
            let fields: Vec<&str> = output.split_whitespace().collect();
            let ["ns-per-call", ns, "result", result] = fields.as_slice() else {
                bail!("unexpected output of {command:?}: {output}");
            };
            ((*result).to_owned(), ns.parse::<f64>()?)
        } else {
            let binary = if side == SOURCES.len() { &plt } else { &direct };
            super::aot_loop(Command::new(binary).arg(&calls))?
        };
        super::same_result(&mut expected, &result)?;
        if counted {
            samples[side].push(ns);
        }
        Ok(())
    })?;
    let case = "one call";
    let mut rows: Vec<Row> = SOURCES
        .iter()
        .zip(&samples)
        .map(|((label, _), s)| Row::ours(case, *label, s.clone()))
        .collect();
    rows.push(Row::peer(case, PLT, samples[SOURCES.len()].clone()));
    rows.push(Row::peer(case, DIRECT, samples[SOURCES.len() + 1].clone()));
    let mut goals = Vec::new();
    let mut against_direct = Vec::new();
    for (label, _) in &SOURCES {
        goals.push(Goal {
            text: format!("{label} / {PLT}"),
            ratio: ratio(&rows, (case, label), (case, PLT))?,
            bound: Bound::AtMost(1.1),
        });
        against_direct.push(format!(
            "{label} {:.2}x",
            ratio(&rows, (case, label), (case, DIRECT))?
        ));
    }
    let notes = vec![
        format!(
            "Against the direct call: {}; the PLT call itself is {:.2}x the direct one.",
            against_direct.join(", "),
            ratio(&rows, (case, PLT), (case, DIRECT))?
        ),
        "How JIT code makes the call: it loads the callee's absolute address into a register \
         and calls through it (`call *%r12`, seen in gdb for the process-symbol and \
         shared-library sources, LLVM 22): an indirect call that the branch predictor follows \
         almost like a direct one, with no PLT stub in between. The sources differ only in \
         where the callee lives, not in the instruction. What reaches the direct call: giving \
         the JIT the library itself (`.shared_library`, `.static_archive`; compare their rows \
         with the direct call's), or inlining the helper from bitcode, which removes the call \
         (the `ipo` benchmark)."
            .to_owned(),
    ];
    Ok(Outcome {
        target: BenchTarget::Calls,
        title: "A call into C through each symbol source".into(),
        method: format!(
            "{calls} iterations of a loop in JIT code (`demo-runner/call_loop.ll`, LLVM {llvm}) \
             that calls the C library's `external_function` — a symbol the module does not \
             define, so never inlined — timed inside the process (ns per call, after a warm-up \
             call that resolves the symbol). Each symbol source is its own release demo \
             process (`--bench-calls N`). The peers are the same loop in C \
             (`c-libs/bench/call_loop.c`, clang-{llvm} -O2) calling the same function linked \
             from the shared library (through the PLT) and from the static archive into the \
             executable (a direct call). The C library is compiled once more by the release \
             profile (`-O3`) for every side. All sides must compute the same sum."
        ),
        unit: "ns/call",
        rows,
        goals,
        notes,
    })
}
