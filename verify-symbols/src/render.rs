//! Output: a compact table per binary for people (coloured only when asked), JSON for tools.

use std::fmt::Write;

use crate::{BinaryReport, Report, Status};

/// `text` with control characters escaped: names and paths come from the binary, and a name
/// holding a terminal escape sequence must not drive the terminal.
pub(crate) fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn clean_path(path: &std::path::Path) -> String {
    clean(&path.display().to_string())
}

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
        paint(BOLD, &clean_path(&b.path)),
        b.kind,
        if b.pie { " (PIE)" } else { "" },
        yes_no(b.bind_now),
        yes_no(b.relro),
    )?;
    for (i, n) in b.needed.iter().enumerate() {
        let label = if i == 0 { "needed" } else { "" };
        let target = match &n.path {
            Some(p) => clean_path(p),
            None => paint(RED, "not found"),
        };
        writeln!(out, "  {label:<9}{} → {target}", clean(&n.name))?;
    }
    for (i, n) in b.preloaded.iter().enumerate() {
        let label = if i == 0 { "preload" } else { "" };
        let target = match &n.path {
            Some(p) => clean_path(p),
            None => paint(YELLOW, "not found (the loader goes on)"),
        };
        writeln!(out, "  {label:<9}{} → {target}", clean(&n.name))?;
    }
    if !b.runpath.is_empty() {
        writeln!(out, "  {:<9}{}", "runpath", clean(&b.runpath.join(":")))?;
    }
    if !b.rpath.is_empty() {
        writeln!(out, "  {:<9}{}", "rpath", clean(&b.rpath.join(":")))?;
    }
    if let Some(debugger) = &b.debugger {
        let answer = if debugger.sees_jit_code {
            paint(GREEN, "yes")
        } else {
            paint(YELLOW, "no")
        };
        writeln!(out, "  {:<9}{answer}: {}", "debugger", clean(&debugger.why))?;
    }
    for w in &b.warnings {
        writeln!(
            out,
            "  {}",
            paint(YELLOW, &format!("warning: {}", clean(w)))
        )?;
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
        let version = s
            .version
            .as_ref()
            .map(|v| format!(" (version {})", clean(v)))
            .unwrap_or_default();
        match &s.provider {
            Some(provider) => {
                let status = format!("{:<22}", s.status.as_str());
                let status = paint(code, &status);
                writeln!(
                    out,
                    "  {:<width$}  {status}  {}{version}",
                    clean(&s.name),
                    clean_path(provider)
                )?;
            }
            None => writeln!(
                out,
                "  {:<width$}  {}{version}",
                clean(&s.name),
                paint(code, s.status.as_str())
            )?,
        }
        if let Some(expected) = s.expected.as_ref().filter(|_| !s.status.is_found()) {
            writeln!(out, "  {:<width$}  expected: {}", "", clean(expected))?;
        }
        if let Some(hint) = &s.hint {
            if previous_hint == Some(hint) {
                writeln!(out, "  {:<width$}  hint: as above", "")?;
            } else {
                writeln!(out, "  {:<width$}  hint: {}", "", clean(hint))?;
            }
        }
        previous_hint = s.hint.as_ref();
    }
    let failing = b.symbols.iter().filter(|s| !s.status.is_found()).count();
    let verdict = if !b.refused.is_empty() {
        paint(
            RED,
            "FAIL: the binary will not start (the loader stops at an object it maps)",
        )
    } else if !b.starts() {
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

/// Per binary, per `DT_NEEDED`: each place the loader tries, in order, and why it was taken or
/// skipped.
pub fn render_explain(report: &Report) -> String {
    let mut out = String::new();
    for b in &report.binaries {
        out.push_str(&format!(
            "{}: where the loader looks\n",
            clean_path(&b.path)
        ));
        let preloads = b.preloaded.iter().map(|n| (n, " (preloaded)"));
        for (n, what) in preloads.chain(b.needed.iter().map(|n| (n, ""))) {
            out.push_str(&format!("  {}{what}\n", clean(&n.name)));
            for (i, step) in n.trace.iter().enumerate() {
                let place = if step.place.is_empty() {
                    String::new()
                } else {
                    format!(" {}", clean(&step.place))
                };
                out.push_str(&format!(
                    "    {}. {}{place}: {}\n",
                    i + 1,
                    clean(&step.source),
                    clean(&step.outcome)
                ));
            }
        }
        for i in &b.unresolved_indirect {
            out.push_str(&format!(
                "  {} (needed by {}): not found\n",
                clean(&i.name),
                clean_path(&i.needed_by)
            ));
        }
    }
    out
}

/// The version of the JSON output's shape; it changes when a field changes meaning.
pub const JSON_SCHEMA: u32 = 1;

/// The report as one JSON object: `{"schema": 1, "binaries": [{"path", "needed": [{"name",
/// "path", "trace"}], "preloaded" (as "needed"), "unresolved_indirect", "refused": [{"path",
/// "reason"}], "foreign", "runpath", "warnings", "symbols": [{"name", "status", "provider",
/// "version", "expected", "hint"}], "debugger": {"sees_jit_code", "why"}, ...}]}`.
pub fn render_json(report: &Report) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail, and the serialiser writes UTF-8.
    write_json(report, &mut out).unwrap_or_else(|e| out = format!("{{\"error\": \"{e}\"}}").into());
    String::from_utf8(out).unwrap_or_default()
}

/// [`render_json`] written straight into `out` (for a large report, no copy of it in memory).
pub fn write_json(report: &Report, out: &mut impl std::io::Write) -> std::io::Result<()> {
    #[derive(serde::Serialize)]
    struct Versioned<'a> {
        schema: u32,
        binaries: &'a [BinaryReport],
    }
    let versioned = Versioned {
        schema: JSON_SCHEMA,
        binaries: &report.binaries,
    };
    serde_json::to_writer(&mut *out, &versioned)?;
    Ok(())
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
