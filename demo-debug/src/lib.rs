//! gdb and perf run over a demo binary (demo-static, demo-dynamic) as a user types them, and
//! what they must show (issue 24, point 5):
//!
//! - [`gdb_stops_in_f`]: `gdb -batch -ex 'set breakpoint pending on' -ex 'break f' -ex run -ex bt
//!   --args DEMO --debugger` stops in the JIT-compiled `f`, and the backtrace shows the host's
//!   frames below it;
//! - [`perf_attributes_the_loop`]: `perf record` of `DEMO --perf --bench-calls N` (or
//!   `--jitdump`, then `perf inject --jit`), and `perf report` puts at least [`MIN_SHARE`]% of
//!   the samples on `call_loop`, the JIT function that runs the loop.
//!
//! `cargo xtask demo debug`, `cargo xtask test` (on the demos with LLVM linked statically,
//! stripped and not) and the demos' own tests run these, so all three check the same thing.
//! The real tools run; a tool that is missing, or perf that cannot open events, is a failure
//! that says so, never a pass.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use object::{Object, ObjectSymbol};

/// The share of the samples perf must put on the JIT's loop, in percent.
pub const MIN_SHARE: f64 = 90.0;

/// Calls of `external_function` the profiled demo makes (`--bench-calls`): some 2.5 s of loop
/// in a debug build, against 50-100 ms of start-up and compilation, which perf samples too
/// (with 500,000,000 calls the loop's share came down to 93% on a loaded machine).
pub const PERF_CALLS: u64 = 1_000_000_000;

/// The JIT function of `--bench-calls` (demo-runner's call_loop.ll).
pub const LOOP_FUNCTION: &str = "call_loop";

/// What the GDB JIT interface needs exported from a binary that links LLVM statically: gdb
/// finds the first two only through symbols (in a stripped binary, `.dynsym`), and LLVM's
/// JITLink debugger support (LLVM 19 on) looks the last two up among the process's dynamic
/// symbols.
pub const GDB_INTERFACE_SYMBOLS: [&str; 4] = [
    "__jit_debug_register_code",
    "__jit_debug_descriptor",
    "llvm_orc_registerJITLoaderGDBWrapper",
    "llvm_orc_registerJITLoaderGDBAllocAction",
];

/// How long one tool may run before it is killed (gdb reading a large binary takes seconds).
const TIMEOUT: Duration = Duration::from_secs(180);

/// What a check ran and what the tools showed that proves it.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// Each command, as a user would type it.
    pub ran: Vec<String>,
    /// The lines of the tools' output that show the result.
    pub lines: Vec<String>,
    /// One line: what was seen.
    pub summary: String,
}

/// Runs `gdb -batch -nx -ex 'set breakpoint pending on' -ex 'break f' -ex run -ex bt --args
/// BINARY --debugger` (`-nx`: no `~/.gdbinit` of the machine's user) and checks that gdb
/// stopped in `f`, the JIT's function, and showed frames of the host below it: by name
/// (`main`), unless the binary has no symbol table (stripped), where gdb can only show them by
/// address. `Err` says what was missing, with gdb's whole output and, when the binary does not
/// export the GDB JIT interface, the names it lacks.
pub fn gdb_stops_in_f(binary: &Path) -> Result<Checked, String> {
    gdb_breaks(binary, "f", "break f")
}

/// [`gdb_stops_in_f`] for another JIT function, with `break -qualified FUNCTION`: a plain
/// `break compute` also stops in every C++ method named `compute` (libLLVM has some).
pub fn gdb_stops_in(binary: &Path, function: &str) -> Result<Checked, String> {
    gdb_breaks(binary, function, &format!("break -qualified {function}"))
}

fn gdb_breaks(binary: &Path, function: &str, breakpoint: &str) -> Result<Checked, String> {
    let args: Vec<OsString> = [
        "-batch",
        "-nx",
        "-ex",
        "set breakpoint pending on",
        "-ex",
        breakpoint,
        "-ex",
        "run",
        "-ex",
        "bt",
        "--args",
    ]
    .iter()
    .map(OsString::from)
    .chain([binary.as_os_str().to_owned(), "--debugger".into()])
    .collect();
    let shown = shown("gdb", &args);
    let out = run("gdb", "gdb", &args, None)?;
    let said = text(&out);
    let stop = said
        .lines()
        .find(|l| l.starts_with("Breakpoint 1, ") && frame_function(l) == Some(function));
    let frames: Vec<&str> = said.lines().filter(|l| is_frame(l)).collect();
    let symbols = Symbols::read(binary)?;
    let below: Vec<&str> = frames
        .iter()
        .skip(1)
        .filter_map(|l| frame_function(l))
        .collect();
    let named_host = below.iter().any(|f| *f == "main" || f.ends_with("::main"));
    let problem = match (stop, frames.first()) {
        (None, _) => Some(format!("gdb did not stop in the JIT-compiled {function}")),
        (Some(_), first) if first.and_then(|l| frame_function(l)) != Some(function) => {
            Some(format!("the backtrace does not start in {function}"))
        }
        _ if below.is_empty() => Some(format!(
            "the backtrace shows no host frame below {function}"
        )),
        _ if symbols.has_symtab && !named_host => Some(format!(
            "the backtrace does not reach the host's main below {function} (frames: {})",
            below.join(", ")
        )),
        _ => None,
    };
    if let Some(problem) = problem {
        return Err(format!(
            "{problem}: {} {}\n$ {shown}\n{said}{}",
            binary.display(),
            symbols.describe(),
            symbols.gdb_diagnosis()
        ));
    }
    let mut lines: Vec<String> = stop.into_iter().map(str::to_owned).collect();
    lines.extend(frames.iter().map(|l| l.to_string()));
    let host = if symbols.has_symtab {
        below.join(" < ")
    } else {
        format!("{} frames (the binary is stripped: no names)", below.len())
    };
    Ok(Checked {
        ran: vec![shown],
        lines,
        summary: format!("gdb stopped in the JIT's {function}; the host below it: {host}"),
    })
}

/// Which file tells perf the JIT's function names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `--perf`: `/tmp/perf-PID.map`, read by `perf report`.
    PerfMap,
    /// `--jitdump`: `/tmp/jit-PID.dump`, recorded with `-k mono` and merged into the profile by
    /// `perf inject --jit`.
    JitDump,
}

impl Profile {
    /// The demo's flag.
    pub fn flag(self) -> &'static str {
        match self {
            Profile::PerfMap => "--perf",
            Profile::JitDump => "--jitdump",
        }
    }
}

/// Records `BINARY --perf --bench-calls CALLS` (or `--jitdump`) with `perf record -e cpu-clock
/// --call-graph dwarf` into `dir` and checks that `perf report --children` puts at least
/// [`MIN_SHARE`]% of the samples on [`LOOP_FUNCTION`], by the name the JIT gave perf.
///
/// Why with what it calls (`--children`, and a call graph to know the callers): each iteration
/// of the loop calls the C library's `external_function`, which the JIT cannot inline (the
/// point of the calls benchmark), and most samples land there, in the host binary. The loop
/// is the JIT function's all the same, and perf attributes it so only through the call graph.
/// `Err` when perf cannot record here (saying so, with `perf_event_paranoid`), or the share
/// is lower, with perf's report.
pub fn perf_attributes_the_loop(
    binary: &Path,
    profile: Profile,
    calls: u64,
    dir: &Path,
) -> Result<Checked, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    // perf runs in `dir`: a relative path would be looked for there.
    let binary = &std::path::absolute(binary)
        .map_err(|e| format!("cannot resolve {}: {e}", binary.display()))?;
    let data = dir.join("perf.data");
    let mut record: Vec<OsString> = ["record", "-e", "cpu-clock", "-F", "999"]
        .iter()
        .map(OsString::from)
        .collect();
    record.extend(["--call-graph".into(), "dwarf".into()]);
    if profile == Profile::JitDump {
        // perf inject --jit needs the jitdump's clock.
        record.extend(["-k".into(), "mono".into()]);
    }
    record.extend(["-o".into(), data.clone().into_os_string(), "--".into()]);
    record.extend([
        binary.as_os_str().to_owned(),
        profile.flag().into(),
        "--bench-calls".into(),
        calls.to_string().into(),
    ]);
    let mut ran = vec![shown("perf", &record)];
    let recorded = run_perf(&record, dir)?;
    if !recorded.contains("ns-per-call") {
        return Err(format!(
            "the demo under perf did not run its loop:\n$ {}\n{recorded}",
            ran[0]
        ));
    }
    let report_input = match profile {
        Profile::PerfMap => data,
        Profile::JitDump => {
            let injected = dir.join("perf.jit.data");
            let inject: Vec<OsString> = vec![
                "inject".into(),
                "--jit".into(),
                "-i".into(),
                data.into_os_string(),
                "-o".into(),
                injected.clone().into_os_string(),
            ];
            ran.push(shown("perf", &inject));
            run_perf(&inject, dir)?;
            injected
        }
    };
    // --no-inline: resolving inlined frames runs addr2line for every sample (25 s, not 0.4 s).
    let report: Vec<OsString> = vec![
        "report".into(),
        "-i".into(),
        report_input.into_os_string(),
        "--stdio".into(),
        "--children".into(),
        "--no-inline".into(),
        "--sort".into(),
        "pid,symbol".into(),
        "-g".into(),
        "none".into(),
    ];
    ran.push(shown("perf", &report));
    let said = run_perf(&report, dir)?;
    remove_tool_files(&said);
    let rows: Vec<Row<'_>> = said.lines().filter_map(Row::parse).collect();
    let jit = rows.iter().find(|r| r.symbol == LOOP_FUNCTION);
    let callee = rows.iter().find(|r| r.symbol == "external_function");
    let lines: Vec<String> = [jit, callee]
        .into_iter()
        .flatten()
        .map(|r| {
            // Without the empty IPC columns (`-  -`) perf adds.
            let words: Vec<&str> = r.line.split_whitespace().collect();
            words[..words.len().min(5)].join(" ")
        })
        .collect();
    let Some(jit) = jit.filter(|r| r.children >= MIN_SHARE) else {
        let share = jit.map_or(0.0, |r| r.children);
        return Err(format!(
            "perf put {share:.1}% of the samples on {LOOP_FUNCTION}, the JIT's loop (with what \
             it calls), not at least {MIN_SHARE}% ({}):\n$ {}\n{said}",
            binary.display(),
            ran.join("\n$ ")
        ));
    };
    let callee = callee.map_or(String::new(), |c| {
        format!("; external_function {:.1}%", c.own)
    });
    Ok(Checked {
        ran,
        lines,
        summary: format!(
            "perf put {:.1}% of the samples on {LOOP_FUNCTION}, the JIT's loop, with what it \
             calls ({:.1}% in itself{callee}), named through the {}",
            jit.children,
            jit.own,
            match profile {
                Profile::PerfMap => "perf map",
                Profile::JitDump => "jitdump",
            }
        ),
    })
}

/// A copy of `binary` with its symbol table and debug information removed (`strip -o`), in
/// `dir`, named like the binary (so gdb and perf show the same program name).
pub fn strip_copy(binary: &Path, dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let name = binary
        .file_name()
        .ok_or_else(|| format!("{} names no file", binary.display()))?;
    let stripped = dir.join(name);
    let args: Vec<OsString> = vec![
        "-o".into(),
        stripped.clone().into_os_string(),
        binary.as_os_str().to_owned(),
    ];
    let out = run("strip", "binutils", &args, None)?;
    if !out.status.success() {
        return Err(format!(
            "$ {}\nexited with {}:\n{}",
            shown("strip", &args),
            out.status,
            text(&out)
        ));
    }
    Ok(stripped)
}

/// What of the GDB JIT interface a binary exports, and whether it has a symbol table.
#[derive(Debug)]
pub struct Symbols {
    /// The binary has `.symtab` (not stripped).
    pub has_symtab: bool,
    /// It links libLLVM as a shared library (imports `LLVM*` functions), which exports the
    /// interface itself.
    pub shared_llvm: bool,
    /// [`GDB_INTERFACE_SYMBOLS`] its `.dynsym` does not define.
    pub unexported: Vec<&'static str>,
}

impl Symbols {
    /// Reads `binary`'s symbol tables.
    pub fn read(binary: &Path) -> Result<Symbols, String> {
        let data =
            std::fs::read(binary).map_err(|e| format!("cannot read {}: {e}", binary.display()))?;
        let file = object::File::parse(&*data)
            .map_err(|e| format!("{}: not an object file: {e}", binary.display()))?;
        let mut defined = std::collections::HashSet::new();
        let mut shared_llvm = false;
        for symbol in file.dynamic_symbols() {
            let Ok(name) = symbol.name() else { continue };
            if symbol.is_undefined() {
                shared_llvm |= name.starts_with("LLVM");
            } else {
                defined.insert(name.to_owned());
            }
        }
        Ok(Symbols {
            has_symtab: file.symbol_table().is_some(),
            shared_llvm,
            unexported: GDB_INTERFACE_SYMBOLS
                .into_iter()
                .filter(|s| !defined.contains(*s))
                .collect(),
        })
    }

    fn describe(&self) -> String {
        format!(
            "({}, {})",
            if self.shared_llvm {
                "libLLVM shared"
            } else {
                "LLVM linked statically"
            },
            if self.has_symtab {
                "with a symbol table"
            } else {
                "stripped"
            }
        )
    }

    /// Why gdb may not have seen the JIT's code, from the binary's symbols.
    fn gdb_diagnosis(&self) -> String {
        if self.shared_llvm || self.unexported.is_empty() {
            return String::new();
        }
        let (gdb, registrar): (Vec<&str>, Vec<&str>) = self
            .unexported
            .iter()
            .partition(|s| s.starts_with("__jit_debug"));
        let mut why = String::from("\nThe binary links LLVM statically");
        if !gdb.is_empty() {
            why += &format!(
                ", and its .dynsym does not export {}: gdb finds the GDB JIT interface by these \
                 names, in a binary without a symbol table (stripped) through .dynsym only",
                gdb.join(", ")
            );
        }
        if !registrar.is_empty() {
            why += &format!(
                "; nor {}, which LLVM 19's JITLink debugger support looks up among the \
                 process's dynamic symbols (LLVM 22 has the second only, and finds it \
                 without)",
                registrar.join(", ")
            );
        }
        why + ". The binary's build script must export them (jit-linkage, when the build asks \
               for a debugger)."
    }
}

/// One row of `perf report --children --sort pid,symbol`: `CHILDREN% SELF% PID:COMM [.] NAME`.
struct Row<'a> {
    children: f64,
    own: f64,
    pid: Option<u32>,
    symbol: &'a str,
    line: &'a str,
}

impl<'a> Row<'a> {
    fn parse(line: &'a str) -> Option<Row<'a>> {
        let mut words = line.split_whitespace();
        let percent = |w: Option<&str>| w?.strip_suffix('%')?.parse::<f64>().ok();
        let children = percent(words.next())?;
        let own = percent(words.next())?;
        let pid = words.next()?.split(':').next()?.parse().ok();
        let _kind = words.next()?;
        Some(Row {
            children,
            own,
            pid,
            symbol: words.next()?,
            line,
        })
    }
}

/// Removes the files the profiled process left for perf: its perf map and jitdump in /tmp,
/// and what `perf inject --jit` wrote next to the dump (`jitted-PID-N.so`).
fn remove_tool_files(report: &str) {
    let mut pids: Vec<u32> = report
        .lines()
        .filter_map(Row::parse)
        .filter_map(|r| r.pid)
        .collect();
    pids.sort_unstable();
    pids.dedup();
    let tmp = Path::new("/tmp");
    for pid in pids {
        let _ = std::fs::remove_file(tmp.join(format!("perf-{pid}.map")));
        let _ = std::fs::remove_file(tmp.join(format!("jit-{pid}.dump")));
        let prefix = format!("jitted-{pid}-");
        if let Ok(entries) = std::fs::read_dir(tmp) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }
}

/// Runs perf with `args` in `dir`; its output, or `Err` saying what perf could not do, and
/// when it could not open events, that this machine does not let it.
fn run_perf(args: &[OsString], dir: &Path) -> Result<String, String> {
    let out = run("perf", "linux-perf", args, Some(dir))?;
    let said = text(&out);
    if out.status.success() {
        return Ok(said);
    }
    let refused = [
        "perf_event_paranoid",
        "ermission",
        "not permitted",
        "perf_event_open",
    ]
    .iter()
    .any(|word| said.contains(word));
    let why = if refused {
        let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
            .map(|p| p.trim().to_owned())
            .unwrap_or_else(|_| "unreadable".into());
        format!(
            "perf cannot open cpu-clock events on this machine (perf_event_paranoid is \
             {paranoid}; profiling one's own processes needs 2 or lower, or CAP_PERFMON)"
        )
    } else {
        "perf failed".to_owned()
    };
    Err(format!(
        "{why} ({}):\n$ {}\n{said}",
        out.status,
        shown("perf", args)
    ))
}

/// Runs `program` (from the Debian package `package`) with `args`, its stdin empty, and
/// collects its output; kills it after [`TIMEOUT`].
fn run(
    program: &str,
    package: &str,
    args: &[OsString],
    dir: Option<&Path>,
) -> Result<Output, String> {
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let mut child = command.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            format!(
                "{program} is not installed (not on PATH): `cargo xtask deps` installs it \
                 (Debian package {package})"
            )
        } else {
            format!("cannot start {program}: {e}")
        }
    })?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "$ {}\ndid not finish in {} s: killed",
                    shown(program, args),
                    TIMEOUT.as_secs()
                ));
            }
            Err(e) => return Err(format!("waiting for {program}: {e}")),
        }
    };
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `program args...` as a user would type it in a POSIX shell.
pub fn shown(program: &str, args: &[OsString]) -> String {
    let quote = |arg: &str| {
        let plain = !arg.is_empty()
            && arg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
        if plain {
            arg.to_owned()
        } else {
            format!("'{}'", arg.replace('\'', r"'\''"))
        }
    };
    std::iter::once(program.to_owned())
        .chain(args.iter().map(|a| quote(&a.to_string_lossy())))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A backtrace line of gdb: `#N  ...`.
fn is_frame(line: &str) -> bool {
    line.strip_prefix('#')
        .and_then(|rest| rest.split_whitespace().next())
        .is_some_and(|n| n.parse::<u32>().is_ok())
}

/// The function a gdb frame or stop line names: `#1  0x... in NAME (...)`, `#0  NAME (...)`,
/// `Breakpoint 1, 0x... in NAME ()`, `Breakpoint 1, NAME () at ...`.
fn frame_function(line: &str) -> Option<&str> {
    let rest = match line.split_once(" in ") {
        Some((_, rest)) => rest,
        None => line
            .strip_prefix("Breakpoint 1, ")
            .or_else(|| line.split_once("  ").map(|(_, rest)| rest))?,
    };
    let name = rest.split(" (").next()?.trim();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_gdbs_frames() {
        assert_eq!(
            frame_function("Breakpoint 1, 0x00007ffff7fb8000 in f ()"),
            Some("f")
        );
        assert_eq!(
            frame_function("Breakpoint 1, f () at module.ll:7"),
            Some("f")
        );
        assert_eq!(frame_function("#0  0x00007ffff7fb8000 in f ()"), Some("f"));
        assert_eq!(
            frame_function(
                "#2  0x0000555555610ccb in demo_runner::run (path=..., builder=0x7ff) at demo-runner/src/lib.rs:263"
            ),
            Some("demo_runner::run")
        );
        assert_eq!(
            frame_function("#5  demo_static::main () at x.rs:5"),
            Some("demo_static::main")
        );
        assert_eq!(
            frame_function("#1  0x0000555555614c7d in ?? ()"),
            Some("??")
        );
        assert!(is_frame("#12 0x0 in ?? ()") && !is_frame("# Samples: 3K"));
    }

    #[test]
    fn reads_perfs_rows() {
        let row = Row::parse(
            "    93.54%    11.73%  1234:demo-static  [.] call_loop                       -      -",
        )
        .unwrap();
        assert_eq!(
            (row.children, row.own, row.pid, row.symbol),
            (93.54, 11.73, Some(1234), "call_loop")
        );
        assert!(Row::parse("# Overhead  Symbol").is_none());
    }

    #[test]
    fn shows_commands_as_typed() {
        let args: Vec<OsString> = ["-ex", "set breakpoint pending on", "--args", "it's"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(
            shown("gdb", &args),
            r"gdb -ex 'set breakpoint pending on' --args 'it'\''s'"
        );
    }
}
