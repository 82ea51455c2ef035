//! Output: a compact table per binary for people (coloured only when asked), JSON for tools.

use std::fmt::Write;

use crate::{BinaryReport, Report, Status};

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// The report as text. `color` adds ANSI colours (for a terminal).
pub fn render_text(report: &Report, color: bool) -> String {
    let paint = |code: &str, text: &str| {
        if color {
            format!("{code}{text}{RESET}")
        } else {
            text.to_owned()
        }
    };
    let mut out = String::new();
    for binary in &report.binaries {
        // Writing to a String cannot fail.
        let _ = write_binary(&mut out, binary, &paint);
    }
    out
}

fn write_binary(
    out: &mut String,
    b: &BinaryReport,
    paint: &dyn Fn(&str, &str) -> String,
) -> std::fmt::Result {
    let yes_no = |v: bool| if v { "yes" } else { "no" };
    writeln!(
        out,
        "{}  {}{} · BIND_NOW {} · RELRO {}",
        paint(BOLD, &b.path.display().to_string()),
        b.kind,
        if b.pie { " (PIE)" } else { "" },
        yes_no(b.bind_now),
        yes_no(b.relro),
    )?;
    for (i, n) in b.needed.iter().enumerate() {
        let label = if i == 0 { "needed" } else { "" };
        let target = match &n.path {
            Some(p) => p.display().to_string(),
            None => paint(RED, "not found"),
        };
        writeln!(out, "  {label:<9}{} → {target}", n.name)?;
    }
    if !b.runpath.is_empty() {
        writeln!(out, "  {:<9}{}", "runpath", b.runpath.join(":"))?;
    }
    if !b.rpath.is_empty() {
        writeln!(out, "  {:<9}{}", "rpath", b.rpath.join(":"))?;
    }
    for w in &b.warnings {
        writeln!(out, "  {}", paint(YELLOW, &format!("warning: {w}")))?;
    }
    let width = b
        .symbols
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(0)
        .max(6);
    let mut previous_hint = None;
    for s in &b.symbols {
        let code = if s.status.is_found() { GREEN } else { RED };
        match &s.provider {
            Some(provider) => {
                let status = format!("{:<22}", s.status.as_str());
                let status = paint(code, &status);
                writeln!(
                    out,
                    "  {:<width$}  {status}  {}",
                    s.name,
                    provider.display()
                )?;
            }
            None => writeln!(
                out,
                "  {:<width$}  {}",
                s.name,
                paint(code, s.status.as_str())
            )?,
        }
        if let Some(expected) = s.expected.as_ref().filter(|_| !s.status.is_found()) {
            writeln!(out, "  {:<width$}  expected: {expected}", "")?;
        }
        if let Some(hint) = &s.hint {
            if previous_hint == Some(hint) {
                writeln!(out, "  {:<width$}  hint: as above", "")?;
            } else {
                writeln!(out, "  {:<width$}  hint: {hint}", "")?;
            }
        }
        previous_hint = s.hint.as_ref();
    }
    let failing = b.symbols.iter().filter(|s| !s.status.is_found()).count();
    let verdict = if !b.starts() {
        paint(
            RED,
            "FAIL: the binary will not start (a DT_NEEDED library is not found)",
        )
    } else if failing == 0 {
        paint(
            GREEN,
            &format!("ok: the JIT finds all {} symbols", b.symbols.len()),
        )
    } else {
        paint(
            RED,
            &format!(
                "FAIL: the JIT cannot find {failing} of {} symbols",
                b.symbols.len()
            ),
        )
    };
    writeln!(out, "  {verdict}")
}

/// The report as one JSON object:
/// `{"binaries": [{"path", "needed", "runpath", "symbols": [{"name", "status", "provider", "hint"}], ...}]}`.
pub fn render_json(report: &Report) -> String {
    // Serialising plain structs of strings, bools and vectors cannot fail.
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
