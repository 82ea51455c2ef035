//! The summary table on the terminal and `report.md` with one SVG plot per benchmark.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use plotters::prelude::*;

use super::{Outcome, Settings, number};
use crate::llvm::Llvm;

/// Every benchmark's rows and goals as a table.
pub(crate) fn summary(outcomes: &[Outcome]) -> String {
    let mut lines: Vec<[String; 4]> = vec![[
        "benchmark".into(),
        "case".into(),
        "side".into(),
        "median (min–max)".into(),
    ]];
    for outcome in outcomes {
        for row in &outcome.rows {
            lines.push([
                outcome.target.name().into(),
                row.case.clone(),
                format!("{}{}", row.side, if row.peer { " (peer)" } else { "" }),
                format!("{} {}", row.spread(), outcome.unit),
            ]);
        }
    }
    let widths: Vec<usize> = (0..4)
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for line in &lines {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    let _ = writeln!(out);
    for outcome in outcomes {
        for goal in &outcome.goals {
            let _ = writeln!(
                out,
                "goal {}: {} = {:.2}x, wanted {}: {}",
                outcome.target.name(),
                goal.text,
                goal.ratio,
                goal.wanted(),
                if goal.holds() {
                    "holds".to_owned()
                } else {
                    goal.verdict().to_uppercase()
                }
            );
        }
    }
    out
}

/// Writes `report.md` and the plots into the settings' directory; returns the report's path.
pub(crate) fn write(
    settings: &Settings,
    outcomes: &[Outcome],
    took: Duration,
) -> anyhow::Result<PathBuf> {
    let mut md = String::new();
    let command: Vec<String> = std::env::args().skip(1).collect();
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "Produced by `cargo xtask {}` on {} in {:.0} s; {} timed round(s) per side, alternating \
         with the peer. Medians, with the fastest and slowest round in parentheses.{}\n",
        command.join(" "),
        now(),
        took.as_secs_f64(),
        settings.rounds,
        if settings.tiny {
            " **A `--tiny` run: one round at the smallest sizes, to check that each benchmark \
             runs. These numbers mean nothing.**"
        } else {
            ""
        }
    );
    let _ = writeln!(md, "## Machine\n\n| | |\n|---|---|");
    for (key, value) in machine(settings.llvm) {
        let _ = writeln!(md, "| {key} | {} |", cell(&value));
    }
    let _ = writeln!(
        md,
        "\n## Goals\n\n| benchmark | ratio | measured | goal | holds |\n|---|---|---|---|---|"
    );
    for outcome in outcomes {
        for goal in &outcome.goals {
            let _ = writeln!(
                md,
                "| [{}](#{}) | {} | {:.2}x | {} | {} |",
                outcome.target.name(),
                anchor(&outcome.title),
                cell(&goal.text),
                goal.ratio,
                goal.wanted(),
                if goal.holds() { "yes" } else { "**no**" }
            );
        }
    }
    for outcome in outcomes {
        let plot = format!("{}.svg", outcome.target.name());
        draw(outcome, &settings.dir.join(&plot)).with_context(|| format!("cannot draw {plot}"))?;
        let _ = writeln!(md, "\n## {}\n\n{}\n", outcome.title, outcome.method);
        let _ = writeln!(md, "![{}]({plot})\n", outcome.title);
        let _ = writeln!(
            md,
            "| case | side | median ({unit}) | min–max | rounds |\n|---|---|---|---|---|",
            unit = outcome.unit
        );
        for row in &outcome.rows {
            let spread = row.spread();
            let _ = writeln!(
                md,
                "| {} | {}{} | {} | {}–{} | {} |",
                cell(&row.case),
                cell(&row.side),
                if row.peer { " (peer)" } else { "" },
                number(spread.median),
                number(spread.min),
                number(spread.max),
                row.samples.len()
            );
        }
        if !outcome.goals.is_empty() {
            let _ = writeln!(md);
        }
        for goal in &outcome.goals {
            let _ = writeln!(
                md,
                "Goal: {} {}; measured **{:.2}x**: {}.",
                goal.text,
                goal.wanted(),
                goal.ratio,
                goal.verdict()
            );
        }
        if !outcome.notes.is_empty() {
            let _ = writeln!(md);
        }
        for note in &outcome.notes {
            let _ = writeln!(md, "- {note}");
        }
    }
    let path = settings.dir.join("report.md");
    std::fs::write(&path, md).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// A Markdown table cell: no line breaks, no column separators.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// GitHub's anchor for a heading.
fn anchor(title: &str) -> String {
    title
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' | '-' | '_' => Some(c),
            ' ' => Some('-'),
            _ => None,
        })
        .collect()
}

/// The time now, from `date` (UTC).
fn now() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// What the numbers were measured on.
fn machine(llvm: Llvm) -> Vec<(&'static str, String)> {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, v)| v.trim())
        })
        .unwrap_or("unknown")
        .to_owned();
    let memory = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_default();
    let os = read("/etc/os-release")
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_owned())
        .unwrap_or_default();
    let output = |program: &str, args: &[&str]| {
        std::process::Command::new(program)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_else(|| format!("{program}: not found"))
    };
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let installed: Vec<String> = Llvm::installed().iter().map(ToString::to_string).collect();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    vec![
        ("CPU", cpu),
        ("cores", cores.to_string()),
        ("memory", memory),
        ("system", os),
        (
            "kernel",
            read("/proc/sys/kernel/osrelease").trim().to_owned(),
        ),
        ("rustc", output(&rustc, &["--version"])),
        (
            "LLVM (JIT side)",
            output(
                &llvm.prefix().join("bin/llvm-config").to_string_lossy(),
                &["--version"],
            ),
        ),
        ("LLVM installed", installed.join(", ")),
    ]
}

/// Colours: ours blue, the peer orange.
const OURS: RGBColor = RGBColor(31, 119, 180);
const PEER: RGBColor = RGBColor(230, 120, 20);

/// One row per side and case: the median as a dot, the min-max spread as a line, on a
/// logarithmic axis (ratios read as distances).
fn draw(outcome: &Outcome, path: &Path) -> anyhow::Result<()> {
    let rows = &outcome.rows;
    let labels: Vec<String> = rows
        .iter()
        .map(|r| format!("{} · {}", r.case, r.side))
        .collect();
    let values = rows.iter().flat_map(|r| r.samples.iter().copied());
    let (low, high) = values
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (low, high) = if low <= high {
        (low / 1.5, high * 1.5)
    } else {
        (0.1, 10.0)
    };
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(10);
    let label_area = u32::try_from(longest * 7 + 20).unwrap_or(400).min(520);
    let count = i32::try_from(rows.len()).unwrap_or(i32::MAX);
    let height = 110 + 30 * u32::try_from(rows.len()).unwrap_or(0);
    let root = SVGBackend::new(path, (960, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(&outcome.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(label_area)
        .build_cartesian_2d((low..high).log_scale(), (0..count).into_segmented())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .x_desc(format!(
            "{} (log scale; dot: median, line: min–max)",
            outcome.unit
        ))
        .y_labels(rows.len())
        .y_label_formatter(&|value| match value {
            SegmentValue::CenterOf(i) => usize::try_from(*i)
                .ok()
                .and_then(|i| labels.len().checked_sub(i + 1))
                .and_then(|i| labels.get(i))
                .cloned()
                .unwrap_or_default(),
            _ => String::new(),
        })
        .x_label_formatter(&|v| number(*v))
        .draw()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for (index, row) in rows.iter().enumerate() {
        // The first row at the top.
        let y = SegmentValue::CenterOf(i32::try_from(rows.len() - 1 - index).unwrap_or(0));
        let color = if row.peer { PEER } else { OURS };
        let spread = row.spread();
        // A log axis has no place for zero or less (an empty row, a clock's rounding).
        if !(spread.median.is_finite() && spread.median > 0.0) {
            continue;
        }
        let (min, max) = (spread.min.max(low), spread.max.max(low));
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(min, y.clone()), (max, y.clone())],
                color.stroke_width(2),
            )))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        chart
            .draw_series(std::iter::once(Circle::new(
                (spread.median, y),
                5,
                color.filled(),
            )))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    root.present().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}
