//! Reading a test file's header the way LLVM's lit does, as far as the suite needs: the first
//! `RUN:` line that runs lli (options, extra modules, the module, the program's arguments), the
//! `REQUIRES:`/`UNSUPPORTED:` lines, and the suite's own `TAGS:`, `ARGS:` and `LLI:` lines.
//! Comments start with `;` (IR) or `//` (C and C++).

use std::path::{Path, PathBuf};

/// How lli is run on a test, and how jit-lli runs the same program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// Every option for lli, in order (`-extra-module` included).
    pub lli_args: Vec<String>,
    /// The modules after the main one (`-extra-module`), which jit-lli gets too.
    pub extra_modules: Vec<PathBuf>,
    /// The main module (lli's positional argument).
    pub module: PathBuf,
    /// The program's arguments (after the module).
    pub program_args: Vec<String>,
}

/// What a file's header says.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Header {
    /// `RUN:` commands, continuation lines joined.
    pub run: Vec<String>,
    /// `REQUIRES:` items.
    pub requires: Vec<String>,
    /// `UNSUPPORTED:` items.
    pub unsupported: Vec<String>,
    /// The suite's `TAGS:` (comma-separated feature tags).
    pub tags: Vec<String>,
    /// The suite's `ARGS:` for a program (shell words).
    pub args: Vec<String>,
    /// The suite's `LLI:` options for a program (shell words).
    pub lli: Vec<String>,
}

pub fn header(text: &str) -> Header {
    let mut header = Header::default();
    let mut pending: Option<String> = None;
    for line in text.lines() {
        let Some(comment) = comment_body(line) else {
            continue;
        };
        let Some((key, value)) = directive(comment) else {
            continue;
        };
        let value = value.trim();
        match key {
            "RUN" => {
                let mut command = pending.take().unwrap_or_default();
                if let Some(body) = value.strip_suffix('\\') {
                    command.push_str(body);
                    command.push(' ');
                    pending = Some(command);
                } else {
                    command.push_str(value);
                    header.run.push(command);
                }
            }
            "REQUIRES" => header.requires.extend(list(value)),
            "UNSUPPORTED" => header.unsupported.extend(list(value)),
            "TAGS" => header.tags.extend(list(value)),
            "ARGS" => header.args.extend(shell_words(value)),
            "LLI" => header.lli.extend(shell_words(value)),
            _ => {}
        }
    }
    if let Some(command) = pending {
        header.run.push(command);
    }
    header
}

fn comment_body(line: &str) -> Option<&str> {
    let line = line.trim_start();
    line.strip_prefix("//").or_else(|| {
        line.strip_prefix(';')
            .map(|rest| rest.trim_start_matches(';'))
    })
}

/// `KEY: value` at the start of a comment (lit also accepts it anywhere; LLVM's tests keep it
/// first).
fn directive(comment: &str) -> Option<(&str, &str)> {
    let comment = comment.trim_start();
    let (key, value) = comment.split_once(':')?;
    matches!(
        key,
        "RUN" | "REQUIRES" | "UNSUPPORTED" | "TAGS" | "ARGS" | "LLI"
    )
    .then_some((key, value))
}

fn list(value: &str) -> impl Iterator<Item = String> + '_ {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Splits like a POSIX shell: whitespace separates words, quotes group, a backslash escapes;
/// `|`, `;` and `&&` outside quotes are words of their own.
pub fn shell_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => {
                            if let Some(e) = chars.next() {
                                word.push(e);
                            }
                        }
                        _ => word.push(q),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(e) = chars.next() {
                    word.push(e);
                }
            }
            '|' | ';' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                let mut op = c.to_string();
                if chars.peek() == Some(&c) {
                    op.push(c);
                    chars.next();
                }
                words.push(op);
            }
            '&' if chars.peek() == Some(&'&') => {
                chars.next();
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                words.push("&&".into());
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// lli options whose value may be the next word.
const VALUE_OPTIONS: &[&str] = &[
    "extra-module",
    "extra-object",
    "extra-archive",
    "jd",
    "dlopen",
    "entry-function",
    "mtriple",
    "march",
    "mcpu",
    "mattr",
    "thread-entry",
    "load",
    "fake-argv0",
    "object-cache-dir",
];

/// lli options left out of lli's run: they change only what lli prints about itself, or exist
/// to make lli fail on purpose (LLVM's test then checks the error), which says nothing about
/// running the program.
const LLI_ONLY_DROPPED: &[(&str, &str)] = &[
    (
        "orc-lazy-debug",
        "prints lli's own debugging output on stdout",
    ),
    ("jd", "names lli's JITDylibs"),
    ("no-process-syms", "hides the process's symbols from lli"),
    ("lljit-platform", "chooses lli's platform support"),
    ("emulated-tls", "chooses lli's TLS lowering"),
    (
        "force-interpreter",
        "chooses LLVM's interpreter; lli's JIT runs the program instead",
    ),
    (
        "enable-cache-manager",
        "keeps lli's compiled objects in a cache (the program is the same)",
    ),
    ("object-cache-dir", "names lli's object cache"),
];

/// lli options that change what the program is or how it runs, which jit-lli cannot express:
/// a test using one is left out, with the reason.
const UNSUPPORTED_OPTIONS: &[(&str, &str)] = &[
    ("remote-mcjit", "runs the code in another process"),
    ("mcjit-remote-process", "runs the code in another process"),
    ("mtriple", "compiles for another target"),
    ("march", "compiles for another architecture"),
    ("extra-object", "adds an object file"),
    ("extra-archive", "adds an archive"),
    ("dlopen", "loads a shared library"),
    ("entry-function", "calls another entry point than main"),
    ("thread-entry", "starts a function on another thread"),
    ("generate", "adds lli's own built-in functions"),
    ("fake-argv0", "changes argv[0]"),
    ("load", "loads an lli plugin"),
];

/// Why a test is not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip(pub String);

/// Host facts for `REQUIRES:` and `UNSUPPORTED:` (besides the registered targets, [`Host`]).
const HOST_FEATURES: &[&str] = &[
    "native",
    "x86_64-linux",
    // lit's architecture of the target triple (LLVM 14's OrcLazy/debug-*-elf-minimal.ll).
    "target-x86_64",
    "system-linux",
    "linux",
    "shell",
    "object-emission",
    "thread_support",
    "host-byteorder-little-endian",
    "default_triple",
    // lli (libLLVM) loads libstdc++.so, as jit-lli does.
    "cxx-shared-library",
];
const HOST_TRIPLE: &str = "x86_64-unknown-linux-gnu";

/// What the LLVM under test was built with, as lit's features see it.
#[derive(Debug, Clone)]
pub struct Host {
    /// The targets LLVM was built with, lower-cased as in lit's `<target>-registered-target`
    /// (`x86`, `aarch64`...): Debian builds every target, so a test that needs another target
    /// registered is left out only for what it really does.
    pub targets: Vec<String>,
}

impl Host {
    /// From `llvm-config --targets-built` of the LLVM under test.
    pub fn of_llvm(llvm_config: &Path) -> Result<Host, String> {
        let output = std::process::Command::new(llvm_config)
            .arg("--targets-built")
            .output()
            .map_err(|e| format!("cannot run {}: {e}", llvm_config.display()))?;
        if !output.status.success() {
            return Err(format!(
                "{} --targets-built failed ({}): {}",
                llvm_config.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(Host {
            targets: String::from_utf8_lossy(&output.stdout)
                .split_whitespace()
                .map(str::to_lowercase)
                .collect(),
        })
    }
}

/// Whether the test's `REQUIRES:` and `UNSUPPORTED:` let it run on this host.
pub fn applicable(header: &Header, host: &Host) -> Result<(), Skip> {
    for item in &header.requires {
        if !expression(item, host).unwrap_or(false) {
            return Err(Skip(format!("REQUIRES: {item}")));
        }
    }
    for item in &header.unsupported {
        if expression(item, host).unwrap_or(true) {
            return Err(Skip(format!("UNSUPPORTED: {item}")));
        }
    }
    Ok(())
}

/// A lit boolean expression of features (`a && !b || c`), or `None` when it has a part this
/// reader does not understand.
fn expression(text: &str, host: &Host) -> Option<bool> {
    let mut any = false;
    for alternative in text.split("||") {
        let mut all = true;
        for term in alternative.split("&&") {
            let term = term.trim().trim_matches(|c| c == '(' || c == ')').trim();
            let (negated, name) = match term.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, term),
            };
            let value = feature(name, host)?;
            all &= value != negated;
        }
        any |= all;
    }
    Some(any)
}

fn feature(name: &str, host: &Host) -> Option<bool> {
    if let Some(pattern) = name.strip_prefix("target=") {
        return Some(lit_pattern_matches(pattern, HOST_TRIPLE));
    }
    if let Some(target) = name.strip_suffix("-registered-target") {
        return Some(host.targets.iter().any(|t| t == target));
    }
    if name == "*" {
        return Some(true);
    }
    if HOST_FEATURES.contains(&name) {
        return Some(true);
    }
    if name == "fma3" {
        return Some(cpu_has("fma"));
    }
    // Another target's name, an OS, or a build feature this host lacks (asserts, ...).
    if name.contains(['{', '[', '(']) {
        None
    } else {
        Some(false)
    }
}

/// Whether /proc/cpuinfo lists the CPU flag `flag`.
fn cpu_has(flag: &str) -> bool {
    std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|info| {
        info.lines()
            .filter(|l| l.starts_with("flags"))
            .any(|l| l.split_whitespace().any(|f| f == flag))
    })
}

/// lit's `target=` patterns: literal text with `{{regex}}` parts; only `.*` is understood.
fn lit_pattern_matches(pattern: &str, text: &str) -> bool {
    let glob = pattern.replace("{{.*}}", "*");
    if glob.contains("{{") {
        return false;
    }
    glob_matches(glob.as_bytes(), text.as_bytes())
}

fn glob_matches(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| glob_matches(rest, &text[i..])),
        Some((c, rest)) => text.first() == Some(c) && glob_matches(rest, &text[1..]),
    }
}

/// The first `RUN:` command that runs lli, read as lli would read it. `file` is the test
/// itself (lit's `%s`).
pub fn invocation(header: &Header, file: &Path) -> Result<Invocation, Skip> {
    let mut reason = Skip("no RUN line runs lli".into());
    for command in &header.run {
        match lli_command(command, file) {
            Ok(Some(invocation)) => return Ok(invocation),
            Ok(None) => {}
            Err(skip) => {
                reason = skip;
                break;
            }
        }
    }
    Err(reason)
}

/// `Ok(None)`: this command does not run lli.
fn lli_command(command: &str, file: &Path) -> Result<Option<Invocation>, Skip> {
    if command.contains("%if") {
        return Ok(None);
    }
    let words = shell_words(command);
    let first_stage = words
        .split(|w| matches!(w.as_str(), "|" | "||" | "&&" | ";" | ";;"))
        .next()
        .unwrap_or_default();
    let mut words = first_stage.iter().map(String::as_str).peekable();
    while words.next_if(|w| *w == "not" || *w == "--crash").is_some() {}
    match words.next() {
        Some("%lli" | "%lli_mcjit" | "lli") => {}
        _ => return Ok(None),
    }
    let dir = file.parent().unwrap_or(Path::new("."));
    let substitute = |word: &str| -> Result<String, Skip> {
        if word.contains("%t") || word.contains("%T") {
            return Err(Skip("RUN line uses a temporary file (%t)".into()));
        }
        Ok(word
            .replace("%s", &file.display().to_string())
            .replace("%S", &dir.display().to_string())
            .replace("%p", &dir.display().to_string()))
    };
    let mut lli_args = Vec::new();
    let mut extra_modules = Vec::new();
    let mut module = None;
    let mut program_args = Vec::new();
    let mut stdin = None;
    while let Some(word) = words.next() {
        if let Some(path) = word.strip_prefix('<') {
            let path = if path.is_empty() {
                words.next()
            } else {
                Some(path)
            };
            let path = path.ok_or_else(|| Skip("`<` has no file".into()))?;
            stdin = Some(PathBuf::from(substitute(path)?));
            continue;
        }
        if let Some(target) = redirection(word) {
            if target.is_empty() {
                words.next();
            }
            continue;
        }
        if module.is_some() {
            program_args.push(substitute(word)?);
            continue;
        }
        let Some(option) = word.strip_prefix('-') else {
            module = Some(PathBuf::from(substitute(word)?));
            continue;
        };
        let option = option.strip_prefix('-').unwrap_or(option);
        let (name, inline_value) = match option.split_once('=') {
            Some((name, value)) => (name, Some(value.to_owned())),
            None => (option, None),
        };
        let value = match inline_value {
            Some(value) => Some(value),
            None if VALUE_OPTIONS.contains(&name) => Some(
                words
                    .next()
                    .ok_or_else(|| Skip(format!("-{name} has no value")))?
                    .to_owned(),
            ),
            None => None,
        };
        if let Some((_, why)) = UNSUPPORTED_OPTIONS.iter().find(|(o, _)| *o == name) {
            return Err(Skip(format!("lli -{name} {why}")));
        }
        // Before substituting: a dropped option's value may name a temporary (%t) that
        // earlier RUN lines would have made.
        if LLI_ONLY_DROPPED.iter().any(|(o, _)| *o == name) {
            continue;
        }
        let value = value.as_deref().map(substitute).transpose()?;
        if name == "extra-module"
            && let Some(path) = &value
        {
            extra_modules.push(PathBuf::from(path));
        }
        lli_args.push(match value {
            Some(value) => format!("-{name}={value}"),
            None => format!("-{name}"),
        });
    }
    // lli reads its module from stdin when it names none (`lli < %s`); the program then sees
    // an empty stdin, as under jit-lli (only its argv[0] differs: `-` under lli). A test that
    // names its module and feeds the program's stdin is left out.
    let module = match (module, stdin) {
        (Some(_), Some(_)) => return Err(Skip("RUN line reads the program's stdin".into())),
        (Some(module), None) | (None, Some(module)) => module,
        (None, None) => return Err(Skip("the lli RUN line names no module".into())),
    };
    Ok(Some(Invocation {
        lli_args,
        extra_modules,
        module,
        program_args,
    }))
}

/// For an output redirection word: `Some("")` when its target is the next word,
/// `Some(target)` otherwise; `None` for an ordinary word.
fn redirection(word: &str) -> Option<&str> {
    let rest = word
        .strip_prefix("2>&1")
        .map(|_| "-")
        .or_else(|| word.strip_prefix("&>"))
        .or_else(|| word.strip_prefix("2>>"))
        .or_else(|| word.strip_prefix("2>"))
        .or_else(|| word.strip_prefix(">>"))
        .or_else(|| word.strip_prefix('>'))?;
    Some(rest)
}

/// Feature tags read off a test's modules, for tests that do not name theirs.
pub fn tags_of(texts: &[String], multi_module: bool) -> Vec<String> {
    let has = |needle: &str| texts.iter().any(|t| t.contains(needle));
    let mut tags = Vec::new();
    let mut tag = |yes: bool, name: &str| {
        if yes {
            tags.push(name.to_owned());
        }
    };
    tag(has("thread_local"), "tls");
    tag(has(" alias ") || has(" ifunc "), "aliases");
    tag(
        has("llvm.global_ctors") || has("llvm.global_dtors"),
        "ctors",
    );
    tag(has("__cxa_atexit") || has("@atexit"), "exit-handlers");
    tag(
        has("personality") || has("__cxa_throw") || has("landingpad"),
        "exceptions",
    );
    tag(has(" common global "), "common");
    tag(has("comdat"), "comdat");
    tag(has(" weak ") || has("extern_weak"), "weak");
    tag(has("\\01"), "names");
    tag(multi_module, "multi-module");
    if tags.is_empty() {
        tags.push("basic".into());
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_line(text: &str) -> Result<Invocation, Skip> {
        invocation(&header(text), Path::new("/t/dir/test.ll"))
    }

    #[test]
    fn reads_options_modules_and_arguments() {
        let text = "; RUN: %lli -jit-kind=orc-lazy -orc-lazy-debug=funcs-to-stdout \\\n\
                    ; RUN:   -extra-module %S/Inputs/a.ll %s x 'y z' > /dev/null | FileCheck %s\n";
        let invocation = run_line(text).unwrap();
        assert_eq!(
            invocation.lli_args,
            ["-jit-kind=orc-lazy", "-extra-module=/t/dir/Inputs/a.ll"]
        );
        assert_eq!(
            invocation.extra_modules,
            [PathBuf::from("/t/dir/Inputs/a.ll")]
        );
        assert_eq!(invocation.module, PathBuf::from("/t/dir/test.ll"));
        assert_eq!(invocation.program_args, ["x", "y z"]);
    }

    #[test]
    fn the_main_module_is_the_positional_one() {
        let text = "; RUN: lli -jd extra -extra-module %s -jd main %S/Inputs/main.ll\n";
        let invocation = run_line(text).unwrap();
        assert_eq!(invocation.module, PathBuf::from("/t/dir/Inputs/main.ll"));
        assert_eq!(invocation.extra_modules, [PathBuf::from("/t/dir/test.ll")]);
        assert_eq!(invocation.lli_args, ["-extra-module=/t/dir/test.ll"]);
    }

    #[test]
    fn skips_what_jit_lli_cannot_express() {
        let interpreter = run_line("; RUN: %lli -jit-kind=mcjit -force-interpreter=true %s\n");
        assert_eq!(interpreter.unwrap().lli_args, ["-jit-kind=mcjit"]);
        let remote = run_line("; RUN: %lli -remote-mcjit -mcjit-remote-process=x %s\n");
        assert!(remote.unwrap_err().0.contains("remote-mcjit"));
        let stdin = run_line("; RUN: %lli %s < %s\n");
        assert!(stdin.unwrap_err().0.contains("stdin"));
        let module_on_stdin = run_line("; RUN: lli -jit-kind=mcjit -O0 -force-interpreter < %s\n");
        let module_on_stdin = module_on_stdin.unwrap();
        assert_eq!(module_on_stdin.module, PathBuf::from("/t/dir/test.ll"));
        assert_eq!(module_on_stdin.lli_args, ["-jit-kind=mcjit", "-O0"]);
        let temporary = run_line("; RUN: lli -extra-object %t.o %s\n");
        assert!(temporary.unwrap_err().0.contains("extra-object"));
        let temporary = run_line("; RUN: lli -extra-module=%t.ll %s\n");
        assert!(temporary.unwrap_err().0.contains("%t"));
        let cache = run_line(
            "; RUN: lli -jit-kind=orc-lazy -enable-cache-manager -object-cache-dir=%t %s\n",
        );
        assert_eq!(cache.unwrap().lli_args, ["-jit-kind=orc-lazy"]);
        let none = run_line("; RUN: llc %s -o -\n");
        assert_eq!(none.unwrap_err().0, "no RUN line runs lli");
    }

    #[test]
    fn not_and_conditional_lines() {
        let text = "; RUN: %if system-linux %{ lli -jit-linker=rtdyld %s %}\n\
                    ; RUN: not lli -no-process-syms -lljit-platform=Inactive %s 2>&1 | FileCheck %s\n";
        let invocation = run_line(text).unwrap();
        assert!(invocation.lli_args.is_empty());
    }

    #[test]
    fn requires_and_unsupported() {
        let host = Host {
            targets: vec!["aarch64".into(), "x86".into()],
        };
        let ok = header(
            "; REQUIRES: native, x86-registered-target\n; UNSUPPORTED: target=loongarch{{.*}}\n",
        );
        assert_eq!(applicable(&ok, &host), Ok(()));
        let asserts = header("; REQUIRES: asserts\n");
        assert!(applicable(&asserts, &host).is_err());
        let here = header("; UNSUPPORTED: target={{.*}}-linux{{.*}}\n");
        assert!(applicable(&here, &host).is_err());
        let windows = header("; UNSUPPORTED: target={{.*}}-windows-msvc\n");
        assert_eq!(applicable(&windows, &host), Ok(()));
        let two = header("; REQUIRES: x86-registered-target && aarch64-registered-target\n");
        assert_eq!(applicable(&two, &host), Ok(()));
        let x86_64 = header("; REQUIRES: native && target-x86_64\n");
        assert_eq!(applicable(&x86_64, &host), Ok(()));
        let riscv = header("; REQUIRES: riscv-registered-target\n");
        assert!(applicable(&riscv, &host).is_err());
    }

    #[test]
    fn program_headers() {
        let h =
            header("// TAGS: tls, threads\n// ARGS: a \"b c\"\n// LLI: -jit-kind=mcjit\nint x;\n");
        assert_eq!(h.tags, ["tls", "threads"]);
        assert_eq!(h.args, ["a", "b c"]);
        assert_eq!(h.lli, ["-jit-kind=mcjit"]);
    }
}
