//! The conformance suite: every case runs through `lli-N` (N = the LLVM orc-jit is built
//! with), through `jit-lli` in-process and through `jit-lli --isolated`; orc-jit must give the
//! same exit status and the same stdout as lli. Where lli itself dies of a signal or refuses
//! the program with its own error, orc-jit must end with an exit status (no signal) and an
//! error on stderr.
//!
//! Cases:
//! - `ir/*.ll`: IR tests of our own, in lit's form (`; RUN: lli ... %s`);
//! - `programs/*.c`, `programs/*.cpp`: C and C++ programs, compiled now by `clang-N` /
//!   `clang++-N -O1 -S -emit-llvm` (headers: `// TAGS:`, `// ARGS:` for the program,
//!   `// LLI:` for lli's options);
//! - LLVM's own ExecutionEngine tests of the LLVM under test, from Debian's source package
//!   of the installed `llvm-N`, which `cargo xtask deps --llvm N` places in
//!   `target/llvm-tests/llvm-N/` (see `llvm_tests.rs`; never part of the repository); each
//!   runs as its first lli `RUN:` line says (`lit.rs`). Missing, the suite fails, saying how
//!   to fetch them. Their `lit.local.cfg` files are not read: on x86-64 Linux each allows its
//!   directory (they exclude other hosts and targets, AIX, old ARM; Interpreter's asks for an
//!   FFI-enabled interpreter, which lli's JIT does not use).
//!
//! It prints a table (case, feature tags, lli's result, in-process, isolated, the counts),
//! writes it to `target/conformance/report.md` (and `target/conformance/llvm-N/report.md`),
//! and fails listing every case that does not match, with both outputs.

mod lit;
mod llvm_tests;
mod process;
mod report;

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use process::{End, Outcome};

/// Each run's time limit: a case still running then is a failure, named.
const TIME_LIMIT: Duration = Duration::from_secs(30);
/// Set in every run's environment (c_argv_env.c prints it).
const MARKER_ENV: (&str, &str) = ("JIT_CONFORMANCE", "1");

/// One program to run three ways.
#[derive(Debug, Clone)]
pub struct Case {
    /// `ir/...`, `programs/...` or `llvm/...`.
    pub name: String,
    pub tags: Vec<String>,
    /// How lli runs it (and, through the modules and arguments, jit-lli).
    pub invocation: lit::Invocation,
    /// A C or C++ source to compile into `invocation.module` first.
    pub compile: Option<Compile>,
}

#[derive(Debug, Clone)]
pub struct Compile {
    pub compiler: PathBuf,
    pub source: PathBuf,
    pub cxx: bool,
}

/// What the suite learned about one case.
#[derive(Debug)]
pub struct Result {
    pub case: Case,
    pub lli: Outcome,
    /// lli's second run, when it ended otherwise or printed something else than the first:
    /// then lli gives no reference, and the case is left out.
    pub lli_again: Option<Outcome>,
    pub in_process: Outcome,
    pub isolated: Outcome,
    /// `Err(why)` when the case could not be run at all (a compile failure): every column
    /// fails.
    pub setup: std::result::Result<(), String>,
}

/// Whether one jit-lli run agrees with lli's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Match,
    Differs(String),
}

/// lli's run, as a reference: what orc-jit must do.
pub enum Reference<'a> {
    /// lli ran the program: the same status and stdout.
    Ran { status: i32, stdout: &'a [u8] },
    /// lli crashed or refused the program: an exit status and an error message.
    Failed(String),
    /// lli did not finish or start: no reference, the case fails.
    Broken(String),
}

impl Result {
    pub fn reference(&self) -> Reference<'_> {
        if let Err(why) = &self.setup {
            return Reference::Broken(why.clone());
        }
        match &self.lli.end {
            End::Exited(status) if lli_refused(&self.lli) => {
                Reference::Failed(format!("refused (exit {status})"))
            }
            End::Exited(status) => Reference::Ran {
                status: *status,
                stdout: &self.lli.stdout,
            },
            End::Signaled(signal) => Reference::Failed(process::signal_name(*signal)),
            End::TimedOut(limit) => {
                Reference::Broken(format!("lli timed out after {} s", limit.as_secs()))
            }
            End::NotStarted(why) => Reference::Broken(format!("lli did not start: {why}")),
        }
    }

    pub fn verdict(&self, run: &Outcome) -> Verdict {
        let differs = |why: String| Verdict::Differs(why);
        match (&self.reference(), &run.end) {
            (Reference::Broken(why), _) => differs(why.clone()),
            (_, End::TimedOut(limit)) => differs(format!("timed out after {} s", limit.as_secs())),
            (_, End::NotStarted(why)) => differs(format!("did not start: {why}")),
            (_, End::Signaled(signal)) => {
                differs(format!("died of {}", process::signal_name(*signal)))
            }
            (Reference::Ran { status, stdout }, End::Exited(code)) => {
                if code != status {
                    differs(format!("exit {code}, lli {status}"))
                } else if run.stdout != *stdout {
                    differs("stdout differs".into())
                } else {
                    Verdict::Match
                }
            }
            (Reference::Failed(lli), End::Exited(code)) => {
                if run.stderr_text().contains("error") {
                    Verdict::Match
                } else {
                    differs(format!("exit {code} and no error, where lli: {lli}"))
                }
            }
        }
    }
}

/// lli's own diagnostic on stderr with a failing status: lli refused or could not run the
/// program (a parse error, "JIT session error", "LLVM ERROR"), which is not the program's
/// own answer.
fn lli_refused(outcome: &Outcome) -> bool {
    let End::Exited(status) = outcome.end else {
        return false;
    };
    let stderr = outcome.stderr_text();
    status != 0
        && stderr.lines().any(|line| {
            line.starts_with("lli")
                || line.contains("JIT session error")
                || line.starts_with("LLVM ERROR")
        })
}

/// The tools of the LLVM under test.
struct Tools {
    version: u32,
    /// What `REQUIRES:` lines are checked against.
    host: lit::Host,
    lli: PathBuf,
    clang: PathBuf,
    clangxx: PathBuf,
    jit_lli: PathBuf,
}

impl Tools {
    fn find() -> std::result::Result<Tools, String> {
        let version = orc_jit::LLVM_VERSION;
        let find = |tool: String, package: String| {
            on_path(&tool).ok_or_else(|| {
                format!(
                    "{tool} is not on PATH: `cargo xtask deps --llvm {version}` installs it \
                     (Debian package {package})"
                )
            })
        };
        let llvm_config = find(format!("llvm-config-{version}"), format!("llvm-{version}"))?;
        Ok(Tools {
            version,
            host: lit::Host::of_llvm(&llvm_config)?,
            lli: find(format!("lli-{version}"), format!("llvm-{version}"))?,
            clang: find(format!("clang-{version}"), format!("clang-{version}"))?,
            clangxx: find(format!("clang++-{version}"), format!("clang-{version}"))?,
            jit_lli: PathBuf::from(env!("CARGO_BIN_EXE_jit-lli")),
        })
    }
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `target/conformance`, next to cargo's `target/tmp`.
fn output_dir() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(&tmp).join("conformance")
}

/// The `.ll` tests under `dir` (not their `Inputs/`), sorted, as paths and names.
fn ll_tests(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "Inputs") {
                    pending.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "ll") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// A case from a lit-style `.ll` test, or why it is left out.
fn lit_case(
    path: &Path,
    name: String,
    explicit_tags: bool,
    host: &lit::Host,
) -> std::result::Result<std::result::Result<Case, lit::Skip>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let header = lit::header(&text);
    if let Err(skip) = lit::applicable(&header, host) {
        return Ok(Err(skip));
    }
    let invocation = match lit::invocation(&header, path) {
        Ok(invocation) => invocation,
        Err(skip) => return Ok(Err(skip)),
    };
    for module in std::iter::once(&invocation.module).chain(&invocation.extra_modules) {
        if !module.is_file() {
            return Ok(Err(lit::Skip(format!(
                "an input it names is missing: {}",
                module.display()
            ))));
        }
    }
    let tags = if explicit_tags && !header.tags.is_empty() {
        header.tags.clone()
    } else {
        let mut texts = vec![text];
        for module in std::iter::once(&invocation.module).chain(&invocation.extra_modules) {
            if module != path {
                texts.push(std::fs::read_to_string(module).unwrap_or_default());
            }
        }
        lit::tags_of(&texts, !invocation.extra_modules.is_empty())
    };
    Ok(Ok(Case {
        name,
        tags,
        invocation,
        compile: None,
    }))
}

/// A case for a C or C++ program, compiled into `build`.
fn program_case(tools: &Tools, source: &Path, build: &Path) -> std::result::Result<Case, String> {
    let text = std::fs::read_to_string(source)
        .map_err(|e| format!("{}: cannot read: {e}", source.display()))?;
    let header = lit::header(&text);
    let cxx = source.extension().is_some_and(|e| e == "cpp");
    let file_name = source.file_name().unwrap_or_default().to_string_lossy();
    let stem = source.file_stem().unwrap_or_default().to_string_lossy();
    let module = build.join(format!("{stem}.ll"));
    Ok(Case {
        name: format!("programs/{file_name}"),
        tags: if header.tags.is_empty() {
            vec!["basic".into()]
        } else {
            header.tags
        },
        invocation: lit::Invocation {
            lli_args: header.lli,
            extra_modules: Vec::new(),
            module,
            program_args: header.args,
        },
        compile: Some(Compile {
            compiler: if cxx {
                tools.clangxx.clone()
            } else {
                tools.clang.clone()
            },
            source: source.to_path_buf(),
            cxx,
        }),
    })
}

/// Every case, the tests left out (name, reason), and errors that fail the suite.
struct Plan {
    cases: Vec<Case>,
    left_out: Vec<(String, String)>,
    errors: Vec<String>,
    llvm_tests: Option<llvm_tests::LlvmTests>,
}

fn plan(tools: &Tools) -> Plan {
    let mut plan = Plan {
        cases: Vec::new(),
        left_out: Vec::new(),
        errors: Vec::new(),
        llvm_tests: None,
    };
    let add_lit_dir = |plan: &mut Plan, dir: &Path, prefix: &str, explicit_tags: bool| {
        let tests = match ll_tests(dir) {
            Ok(tests) if tests.is_empty() => {
                plan.errors.push(format!("{}: no .ll tests", dir.display()));
                return;
            }
            Ok(tests) => tests,
            Err(e) => {
                plan.errors
                    .push(format!("{}: cannot read: {e}", dir.display()));
                return;
            }
        };
        for path in tests {
            let relative = path.strip_prefix(dir).unwrap_or(&path).display();
            let name = format!("{prefix}/{relative}");
            match lit_case(&path, name.clone(), explicit_tags, &tools.host) {
                Ok(Ok(case)) => plan.cases.push(case),
                Ok(Err(skip)) => plan.left_out.push((name, skip.0)),
                Err(e) => plan.errors.push(e),
            }
        }
    };
    add_lit_dir(&mut plan, &crate_dir().join("ir"), "ir", true);

    let build = output_dir().join(format!("llvm-{}/programs", tools.version));
    if let Err(e) = std::fs::create_dir_all(&build) {
        plan.errors
            .push(format!("{}: cannot create: {e}", build.display()));
    }
    let programs = crate_dir().join("programs");
    match std::fs::read_dir(&programs) {
        Ok(entries) => {
            let mut sources: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "c" || e == "cpp"))
                .collect();
            sources.sort();
            for source in sources {
                match program_case(tools, &source, &build) {
                    Ok(case) => plan.cases.push(case),
                    Err(e) => plan.errors.push(e),
                }
            }
        }
        Err(e) => plan
            .errors
            .push(format!("{}: cannot read: {e}", programs.display())),
    }

    match llvm_tests::find(&llvm_tests::location(tools.version), tools.version) {
        Ok(tests) => {
            add_lit_dir(&mut plan, &tests.dir, "llvm", false);
            plan.llvm_tests = Some(tests);
        }
        Err(why) => plan.errors.push(why),
    }
    plan
}

/// Compiles a program's source with clang-N into its module.
fn compile(compile: &Compile, module: &Path) -> std::result::Result<(), String> {
    let mut command = Command::new(&compile.compiler);
    if compile.cxx {
        command.arg("-std=c++17");
    }
    command
        .args(["-O1", "-S", "-emit-llvm", "-o"])
        .arg(module)
        .arg(&compile.source);
    let outcome = process::run(command, TIME_LIMIT);
    match &outcome.end {
        End::Exited(0) => Ok(()),
        end => Err(format!(
            "{} {} failed ({end:?}):\n{}",
            compile.compiler.display(),
            compile.source.display(),
            outcome.stderr_text()
        )),
    }
}

fn run_case(tools: &Tools, case: Case) -> Result {
    let not_run = || Outcome {
        end: End::NotStarted("not run".into()),
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    let invocation = &case.invocation;
    if let Some(source) = &case.compile
        && let Err(why) = compile(source, &invocation.module)
    {
        return Result {
            case,
            lli: not_run(),
            lli_again: None,
            in_process: not_run(),
            isolated: not_run(),
            setup: Err(why),
        };
    }
    let dir = invocation
        .module
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(crate_dir);
    let command = |program: &Path| {
        let mut command = Command::new(program);
        command.current_dir(&dir).env(MARKER_ENV.0, MARKER_ENV.1);
        command
    };
    let lli_command = || {
        let mut lli = command(&tools.lli);
        // lli's own messages then start with "lli-N: ", as from a shell.
        lli.arg0(format!("lli-{}", tools.version))
            .args(&invocation.lli_args)
            .arg(&invocation.module)
            .args(&invocation.program_args);
        lli
    };
    let jit = |isolated: bool| {
        let mut jit = command(&tools.jit_lli);
        if isolated {
            jit.arg("--isolated");
        }
        for extra in &invocation.extra_modules {
            jit.arg("--extra-module").arg(extra);
        }
        jit.arg(&invocation.module).args(&invocation.program_args);
        process::run(jit, TIME_LIMIT)
    };
    let lli = process::run(lli_command(), TIME_LIMIT);
    // Twice: a program whose own result varies (undefined behaviour, as in a test meant for
    // LLVM's interpreter) gives no reference.
    let again = process::run(lli_command(), TIME_LIMIT);
    let lli_again = (again.end != lli.end || again.stdout != lli.stdout).then_some(again);
    let in_process = jit(false);
    let isolated = jit(true);
    Result {
        case,
        lli,
        lli_again,
        in_process,
        isolated,
        setup: Ok(()),
    }
}

/// Runs the cases on as many threads as the machine has cores; results in the cases' order.
fn run_all(tools: &Tools, cases: Vec<Case>) -> Vec<Result> {
    let count = cases.len();
    let cases: Vec<Mutex<Option<Case>>> = cases.into_iter().map(|c| Mutex::new(Some(c))).collect();
    let results: Vec<Mutex<Option<Result>>> = (0..count).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..threads.min(count.max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(slot) = cases.get(i) else { break };
                    let Some(case) = slot.lock().unwrap_or_else(|e| e.into_inner()).take() else {
                        continue;
                    };
                    let result = run_case(tools, case);
                    *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                }
            });
        }
    });
    results
        .into_iter()
        .filter_map(|slot| slot.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect()
}

#[test]
fn orc_jit_runs_programs_as_lli_does() {
    let tools = match Tools::find() {
        Ok(tools) => tools,
        Err(message) => panic!("{message}"),
    };
    let plan = plan(&tools);
    assert!(
        plan.errors.is_empty(),
        "the suite cannot be set up:\n{}",
        plan.errors.join("\n")
    );
    let total = plan.cases.len();
    let results = run_all(&tools, plan.cases);
    assert_eq!(results.len(), total, "every case must have a result");
    let mut left_out = plan.left_out;
    let (unstable, results): (Vec<Result>, Vec<Result>) =
        results.into_iter().partition(|r| r.lli_again.is_some());
    for result in &unstable {
        let again = result.lli_again.as_ref().map(|o| &o.end);
        left_out.push((
            result.case.name.clone(),
            format!(
                "lli's own result varies: two runs gave {:?} and {:?}, with {} stdout",
                result.lli.end,
                again,
                if result.lli_again.as_ref().map(|o| &o.stdout) == Some(&result.lli.stdout) {
                    "the same"
                } else {
                    "different"
                }
            ),
        ));
    }
    let total = results.len();
    let summary = report::Summary::new(&results);
    let markdown = report::markdown(
        &results,
        &summary,
        &left_out,
        plan.llvm_tests.as_ref(),
        tools.version,
    );
    let _ = writeln!(std::io::stderr(), "\n{markdown}");
    let out = output_dir();
    for path in [
        out.join("report.md"),
        out.join(format!("llvm-{}/report.md", tools.version)),
    ] {
        if let Err(e) = std::fs::write(&path, &markdown) {
            panic!("cannot write {}: {e}", path.display());
        }
    }
    let failures = report::failures(&results);
    assert!(
        failures.is_empty(),
        "{} of {total} cases do not match lli-{} ({}; {}):\n\n{}",
        summary.failing_cases,
        tools.version,
        summary.in_process_line(),
        summary.isolated_line(),
        failures
    );
}
