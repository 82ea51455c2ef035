//! The suite's table (markdown, printed and written to target/conformance/report.md) and the
//! failure listing with both outputs.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::llvm_tests::LlvmTests;
use crate::process::{End, Outcome, signal_name};
use crate::{Reference, Result, Verdict};

pub struct Summary {
    pub total: usize,
    pub in_process: usize,
    pub isolated: usize,
    pub failing_cases: usize,
}

impl Summary {
    pub fn new(results: &[Result]) -> Summary {
        let matches = |pick: fn(&Result) -> &Outcome| {
            results
                .iter()
                .filter(|r| r.verdict(pick(r)) == Verdict::Match)
                .count()
        };
        Summary {
            total: results.len(),
            in_process: matches(|r| &r.in_process),
            isolated: matches(|r| &r.isolated),
            failing_cases: results.iter().filter(|r| !all_match(r)).count(),
        }
    }

    pub fn in_process_line(&self) -> String {
        format!("{} of {} match in-process", self.in_process, self.total)
    }

    pub fn isolated_line(&self) -> String {
        format!("{} of {} isolated", self.isolated, self.total)
    }
}

fn all_match(result: &Result) -> bool {
    result.verdict(&result.in_process) == Verdict::Match
        && result.verdict(&result.isolated) == Verdict::Match
}

fn end_text(end: &End) -> String {
    match end {
        End::Exited(status) => format!("exit {status}"),
        End::Signaled(signal) => signal_name(*signal),
        End::TimedOut(limit) => format!("timeout ({} s)", limit.as_secs()),
        End::NotStarted(why) => format!("not started: {why}"),
    }
}

fn lli_cell(result: &Result) -> String {
    match result.reference() {
        Reference::Ran { status, .. } => format!("exit {status}"),
        Reference::Failed(why) => why,
        Reference::Broken(why) => first_line(&why, 60),
    }
}

fn jit_cell(result: &Result, run: &Outcome) -> String {
    match result.verdict(run) {
        Verdict::Match => match run.end {
            End::Exited(status) if matches!(result.reference(), Reference::Failed(_)) => {
                format!("✓ error (exit {status})")
            }
            _ => format!("✓ {}", end_text(&run.end)),
        },
        Verdict::Differs(why) => {
            let mut cell = format!("✗ {why}");
            if let Some(error) = jit_error(run) {
                write!(cell, ": {}", first_line(&error, 70)).ok();
            }
            cell
        }
    }
}

/// jit-lli's own error message, without its prefixes.
fn jit_error(run: &Outcome) -> Option<String> {
    let stderr = run.stderr_text();
    let line = stderr.lines().find(|l| l.starts_with("jit-lli: error: "))?;
    let message = line.trim_start_matches("jit-lli: error: ");
    // "<module path>: error: what" -> "what"
    let message = message
        .split_once(": error: ")
        .map_or(message, |(_, what)| what);
    Some(message.to_owned())
}

fn first_line(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > max {
        let cut: String = line.chars().take(max).collect();
        format!("{cut}…")
    } else {
        line.to_owned()
    }
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

pub fn markdown(
    results: &[Result],
    summary: &Summary,
    left_out: &[(String, String)],
    llvm_tests: Option<&LlvmTests>,
    version: u32,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# orc-jit against lli-{version}\n");
    let _ = writeln!(
        out,
        "{}, {} (LLVM {version}: same exit status and stdout as lli; where lli crashes or \
         refuses the program, an exit status and an error message).\n",
        summary.in_process_line(),
        summary.isolated_line()
    );
    if let Some(tests) = llvm_tests {
        let taken = results
            .iter()
            .filter(|r| r.case.name.starts_with("llvm/"))
            .count();
        let _ = writeln!(
            out,
            "`llvm/` cases: LLVM's own ExecutionEngine tests (`llvm/test/ExecutionEngine/`), \
             from Debian's source package {} ({}, SHA-256 {}), Apache-2.0 WITH \
             LLVM-exception: {taken} compared, {} left out (below). Fetched into `{}` by \
             `cargo xtask deps --llvm {version}`.\n",
            tests.package,
            tests.tarball,
            tests.sha256,
            left_out
                .iter()
                .filter(|(name, _)| name.starts_with("llvm/"))
                .count(),
            tests.dir.display(),
        );
    }
    let _ = writeln!(
        out,
        "| case | feature | lli-{version} | in-process | isolated |\n|---|---|---|---|---|"
    );
    for result in results {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            cell(&result.case.name),
            cell(&result.case.tags.join(", ")),
            cell(&lli_cell(result)),
            cell(&jit_cell(result, &result.in_process)),
            cell(&jit_cell(result, &result.isolated)),
        );
    }

    // Per feature: how many cases carrying the tag match on each path.
    let mut features: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for result in results {
        for tag in &result.case.tags {
            let entry = features.entry(tag).or_default();
            entry.0 += 1;
            entry.1 += usize::from(result.verdict(&result.in_process) == Verdict::Match);
            entry.2 += usize::from(result.verdict(&result.isolated) == Verdict::Match);
        }
    }
    let _ = writeln!(
        out,
        "\n## By feature\n\n| feature | cases | in-process | isolated |\n|---|---|---|---|"
    );
    for (tag, (cases, in_process, isolated)) in features {
        let _ = writeln!(out, "| {tag} | {cases} | {in_process} | {isolated} |");
    }
    if !left_out.is_empty() {
        let _ = writeln!(out, "\n## Left out\n\n| test | why |\n|---|---|");
        for (name, why) in left_out {
            let _ = writeln!(out, "| {} | {} |", cell(name), cell(why));
        }
    }
    out
}

/// Each case that does not match, with lli's and jit-lli's outputs.
pub fn failures(results: &[Result]) -> String {
    let mut out = String::new();
    for result in results.iter().filter(|r| !all_match(r)) {
        let case = &result.case;
        let invocation = &case.invocation;
        let _ = writeln!(out, "== {} [{}]", case.name, case.tags.join(", "));
        if let Err(why) = &result.setup {
            let _ = writeln!(out, "cannot run: {why}");
            continue;
        }
        let mut command = vec!["lli".to_owned()];
        command.extend(invocation.lli_args.iter().cloned());
        command.push(invocation.module.display().to_string());
        command.extend(invocation.program_args.iter().cloned());
        let _ = writeln!(out, "{}: {}", command.join(" "), end_text(&result.lli.end));
        outputs(&mut out, &result.lli);
        for (path, run) in [
            ("in-process", &result.in_process),
            ("isolated", &result.isolated),
        ] {
            let verdict = match result.verdict(run) {
                Verdict::Match => "matches".to_owned(),
                Verdict::Differs(why) => format!("DIFFERS: {why}"),
            };
            let _ = writeln!(out, "jit-lli {path}: {} — {verdict}", end_text(&run.end));
            outputs(&mut out, run);
        }
        out.push('\n');
    }
    out
}

fn outputs(out: &mut String, run: &Outcome) {
    for (name, bytes) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        if bytes.is_empty() {
            continue;
        }
        let text = String::from_utf8_lossy(bytes);
        let shown: String = text.chars().take(1500).collect();
        let more = if shown.len() < text.len() { " …" } else { "" };
        let _ = writeln!(out, "  {name}:");
        for line in shown.lines() {
            let _ = writeln!(out, "    {line}");
        }
        if !more.is_empty() {
            let _ = writeln!(out, "   {more}");
        }
    }
}
