//! Isolated compilation: untrusted IR or bitcode is parsed, verified and compiled to an object
//! file by a worker process, so that whatever LLVM does with hostile input (`abort()`, a stack
//! overflow, memory without bound) takes down only the worker. The host links the object into
//! ORC and resolves its symbols as for any module.
//!
//! A worker is a program that calls [`serve_if_worker`] first thing in `main`: the host's own
//! executable ([`WorkerProgram::CurrentExe`], the default) or any other
//! ([`WorkerProgram::Path`]; orc-jit ships `orc-jit-worker`). Workers stay warm in a pool and
//! compile independent modules in parallel ([`crate::Jit::add_modules_isolated`]).
//!
//! The protocol, over the worker's stdin and stdout: frames of a little-endian `u32` length and
//! a JSON header, then a `u64` length and that many bytes (the module, or the object file).
//! The host trusts none of it: every length is bounded before anything is allocated for it
//! ([`IsolationLimits::object_bytes`] for the object), a frame must arrive whole, and the
//! object is checked before it is linked (object_file.rs).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::compile::Compiled;
use crate::error::{Error, Result};
use crate::key::ModuleKey;
use crate::module::Module;
use crate::object_file::ObjectLimits;
use crate::symbols::ModuleSymbols;
use crate::target::{Codegen, TargetMachine};

/// Set in a worker's environment; its value is the protocol version.
const WORKER_ENV: &str = "ORC_JIT_COMPILE_WORKER";
const PROTOCOL: u32 = 1;
use crate::module::PARSER_STACK as WORKER_STACK;

/// Which program runs as a compile worker.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum WorkerProgram {
    /// This process's own executable, which must call [`serve_if_worker`] first thing in
    /// `main` (otherwise the worker does not answer, and isolated compilation fails with an
    /// error saying so).
    #[default]
    CurrentExe,
    /// Another program that calls [`serve_if_worker`], such as orc-jit's `orc-jit-worker`.
    Path(PathBuf),
}

/// What one worker may use to compile one module, and what the host will allocate for the
/// object it returns.
/// Build it from the default and change what you need (`IsolationLimits { time, ..Default::default() }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsolationLimits {
    /// Address space of the worker process (`RLIMIT_AS`); LLVM's own mappings count too.
    pub memory_bytes: u64,
    /// Wall-clock time per module; the worker is killed after it.
    pub time: Duration,
    /// What the host allocates for one isolated module's object, from its worker or from the
    /// object cache: the object file itself plus every section it would allocate when linked
    /// (`.bss` included, with alignment). A module over it is refused before anything is
    /// linked ([`Error::ModuleRejected`]). A module added in-process is not bounded, cache or
    /// not: the cache does not change what the JIT accepts.
    pub object_bytes: u64,
}

impl Default for IsolationLimits {
    fn default() -> Self {
        IsolationLimits {
            memory_bytes: 8 << 30,
            time: Duration::from_secs(60),
            object_bytes: 1 << 30,
        }
    }
}

/// The largest JSON header either side accepts: a module's symbols and signatures (about 200
/// bytes a function) for the largest modules anyone compiles, with room to spare.
const MAX_HEADER: u64 = 256 << 20;

#[derive(serde::Serialize, serde::Deserialize)]
struct Request {
    name: String,
    codegen: Codegen,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
enum Reply {
    Hello { protocol: u32 },
    Compiled { symbols: ModuleSymbols },
    Failed { kind: Failure, message: String },
}

#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
enum Failure {
    Parse,
    Verify,
    Unsupported,
    Compile,
}

/// If this process was started as a compile worker, serves compile requests until the host
/// closes the connection, then exits; otherwise returns at once. Call it first thing in `main`
/// of any program that uses [`WorkerProgram::CurrentExe`] (the default).
pub fn serve_if_worker() {
    if std::env::var_os(WORKER_ENV).is_none() {
        return;
    }
    // SAFETY: only this process's file descriptors are rearranged, before any other thread
    // runs: the protocol keeps a private copy of stdout, and fd 1 becomes stderr so that
    // nothing else (LLVM, a library) can write into the protocol.
    let protocol = unsafe {
        let fd = libc::dup(1);
        if fd < 0 || libc::dup2(2, 1) < 0 {
            std::process::exit(3);
        }
        <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd)
    };
    let code = match serve(std::io::stdin().lock(), protocol) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("orc-jit compile worker: {e}");
            4
        }
    };
    std::process::exit(code);
}

fn serve(mut input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
    write_frame(&mut output, &Reply::Hello { protocol: PROTOCOL }, &[])?;
    // The host is trusted; the bound only keeps a broken host from making the worker allocate
    // without end.
    let stack = compile_stack();
    while let Some((request, module)) = read_frame::<Request>(&mut input, u64::MAX >> 1)? {
        let worker = std::thread::Builder::new()
            .name("compile".into())
            .stack_size(stack)
            .spawn(move || compile(&request, &module))
            .map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!(
                        "cannot start the compile thread with {} MiB of stack: {e} (out of \
                         memory under its address-space limit?)",
                        stack >> 20
                    ),
                )
            })?;
        let (reply, object) = worker
            .join()
            .unwrap_or_else(|_| failed(Failure::Compile, "the compiler panicked".into()));
        write_frame(&mut output, &reply, &object)?;
    }
    Ok(())
}

/// Whether a dead worker's last words say it ran out of memory: LLVM's bad-alloc handler
/// (`LLVM ERROR: out of memory`), the C++ runtime's `std::bad_alloc`, the loader unable to map
/// a library, or an allocation the kernel refused (ENOMEM, and EAGAIN for a thread's stack).
fn out_of_memory(words: &str) -> bool {
    [
        "out of memory",
        "bad_alloc",
        "Cannot allocate memory",
        "failed to map segment",
        "os error 12",
        "os error 11",
    ]
    .iter()
    .any(|sign| words.contains(sign))
}

/// The compile thread's stack: [`WORKER_STACK`], or a quarter of the worker's address-space
/// limit when that is smaller (the stack is reserved address space, and with a limit of a few
/// hundred MiB a 1 GiB stack could never be mapped: every module would fail).
fn compile_stack() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit through a valid pointer.
    let known = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } == 0;
    if known && limit.rlim_cur != libc::RLIM_INFINITY {
        WORKER_STACK.min(usize::try_from(limit.rlim_cur / 4).unwrap_or(WORKER_STACK))
    } else {
        WORKER_STACK
    }
}

fn failed(kind: Failure, message: String) -> (Reply, Vec<u8>) {
    (Reply::Failed { kind, message }, Vec::new())
}

/// Parses, verifies and compiles one module to an object file for this host, as the host
/// itself would (compile.rs).
fn compile(request: &Request, bytes: &[u8]) -> (Reply, Vec<u8>) {
    let module = match Module::parse(0, &request.name, bytes) {
        Ok(module) => module,
        Err(e) => return failure(e),
    };
    let machine = match TargetMachine::host(request.codegen) {
        Ok(machine) => machine,
        Err(e) => return failed(Failure::Compile, e.to_string()),
    };
    match crate::compile::compile(module, &machine) {
        Ok(compiled) => (
            Reply::Compiled {
                symbols: compiled.symbols,
            },
            compiled.object,
        ),
        Err(e) => failure(e),
    }
}

/// The reply for an error of parsing or compiling.
fn failure(error: Error) -> (Reply, Vec<u8>) {
    match error {
        Error::Verify { diagnostic, .. } => failed(Failure::Verify, diagnostic),
        Error::Parse { diagnostic, .. } => failed(Failure::Parse, diagnostic),
        Error::Unsupported { reason, .. } => failed(Failure::Unsupported, reason),
        Error::Compile { message, .. } => failed(Failure::Compile, message),
        other => failed(Failure::Compile, other.to_string()),
    }
}

fn write_frame(
    out: &mut impl Write,
    header: &impl serde::Serialize,
    blob: &[u8],
) -> std::io::Result<()> {
    let header = serde_json::to_vec(header)?;
    out.write_all(&(header.len() as u32).to_le_bytes())?;
    out.write_all(&header)?;
    out.write_all(&(blob.len() as u64).to_le_bytes())?;
    out.write_all(blob)?;
    out.flush()
}

/// The next frame, or `None` at a clean end of input. A header over [`MAX_HEADER`] or a blob
/// over `max_blob` bytes is refused before anything is allocated for it, and a frame cut short
/// is an error, never a shorter frame.
fn read_frame<T: serde::de::DeserializeOwned>(
    input: &mut impl Read,
    max_blob: u64,
) -> std::io::Result<Option<(T, Vec<u8>)>> {
    let mut length = [0; 4];
    match input.read_exact(&mut length) {
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        other => other?,
    }
    let header_length = u64::from(u32::from_le_bytes(length));
    // What the header costs once read (strings, lists: up to about 8 times its bytes) is
    // bounded with the data: a quarter of it, within MAX_HEADER, at least 1 MiB.
    let max_header = (max_blob / 4).clamp(1 << 20, MAX_HEADER);
    if header_length > max_header {
        return Err(protocol_error(format!(
            "a frame header of {header_length} bytes (at most {max_header})"
        )));
    }
    let header = read_exactly(input, header_length, "a frame header")?;
    let header = serde_json::from_slice(&header)?;
    let mut length = [0; 8];
    input.read_exact(&mut length)?;
    let blob_length = u64::from_le_bytes(length);
    if blob_length > max_blob {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            OverLimit {
                bytes: blob_length,
                limit: max_blob,
            },
        ));
    }
    Ok(Some((
        header,
        read_exactly(input, blob_length, "the data")?,
    )))
}

/// Exactly `length` bytes (already bounded by the caller), or an error if the input ends first.
fn read_exactly(input: &mut impl Read, length: u64, what: &str) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    input.take(length).read_to_end(&mut bytes)?;
    if bytes.len() as u64 != length {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!(
                "{what} was cut short: {} of {length} bytes arrived",
                bytes.len()
            ),
        ));
    }
    Ok(bytes)
}

/// A frame's data over what the reader accepts: for an object, the module is too big for
/// [`IsolationLimits::object_bytes`] (not a broken worker).
#[derive(Debug)]
struct OverLimit {
    bytes: u64,
    limit: u64,
}

impl std::fmt::Display for OverLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} bytes, over the limit of {}", self.bytes, self.limit)
    }
}

impl std::error::Error for OverLimit {}

fn protocol_error(what: String) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("broke the protocol: it sent {what}"),
    )
}

/// Runs `talk` (an exchange with the worker `child`), killing the worker if it takes longer
/// than `limit`, which makes the exchange fail; `timed_out` says afterwards whether it did.
fn within<T>(
    child: &Arc<Mutex<Child>>,
    timed_out: &Arc<AtomicBool>,
    limit: Duration,
    talk: impl FnOnce() -> T,
) -> T {
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let child = child.clone();
    let timed_out = timed_out.clone();
    let watchdog = std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(limit) {
            timed_out.store(true, Ordering::Relaxed);
            let _ = child.lock().unwrap_or_else(|e| e.into_inner()).kill();
        }
    });
    let result = talk();
    let _ = done.send(());
    let _ = watchdog.join();
    result
}

/// One running worker.
struct Worker {
    child: Arc<Mutex<Child>>,
    /// Set when orc-jit killed it for taking too long.
    timed_out: Arc<AtomicBool>,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    /// Reads the worker's stderr until it closes, and returns the last lines (LLVM's
    /// "LLVM ERROR: ..." before an abort).
    stderr: Option<std::thread::JoinHandle<VecDeque<String>>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Warm workers, each compiling one module at a time.
pub(crate) struct CompilerPool {
    program: WorkerProgram,
    limits: IsolationLimits,
    idle: Mutex<Vec<Worker>>,
}

impl CompilerPool {
    pub(crate) fn new(program: WorkerProgram, limits: IsolationLimits) -> CompilerPool {
        CompilerPool {
            program,
            limits,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Compiles one module in a worker. A worker that dies is
    /// [`Error::CompilerCrashed`] and is replaced on the next call.
    pub(crate) fn compile(&self, name: &str, bytes: &[u8], codegen: Codegen) -> Result<Compiled> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut worker = match idle {
            Some(worker) => worker,
            None => self.spawn(name)?,
        };
        let request = Request {
            name: name.to_owned(),
            codegen,
        };
        let reply = self.exchange(&mut worker, &request, bytes);
        match reply {
            Ok((Reply::Compiled { symbols }, object)) => {
                self.idle
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(worker);
                Ok(Compiled {
                    object,
                    symbols,
                    key: ModuleKey::of(bytes),
                    isolated: true,
                })
            }
            Ok((Reply::Failed { kind, message }, _)) => {
                self.idle
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(worker);
                let name = name.to_owned();
                Err(match kind {
                    Failure::Parse => Error::Parse {
                        name,
                        diagnostic: message,
                    },
                    Failure::Verify => Error::Verify {
                        name,
                        diagnostic: message,
                    },
                    Failure::Unsupported => Error::Unsupported {
                        name,
                        reason: message,
                    },
                    Failure::Compile => Error::Compile {
                        module: name,
                        message,
                    },
                })
            }
            Ok((Reply::Hello { .. }, _)) => Err(self.crashed(name, worker, "answered out of turn")),
            Err(e) => {
                if let Some(over) = e.get_ref().and_then(|e| e.downcast_ref::<OverLimit>()) {
                    let message = format!(
                        "its object file is {} bytes, over the limit of {} \
                         (IsolationLimits::object_bytes): the host does not take it",
                        over.bytes, over.limit
                    );
                    // The worker is left mid-frame: it goes.
                    drop(worker);
                    return Err(Error::ModuleRejected {
                        name: name.to_owned(),
                        message,
                    });
                }
                Err(self.crashed(name, worker, &e.to_string()))
            }
        }
    }

    /// Sends one request and reads the reply, killing the worker if it takes too long.
    fn exchange(
        &self,
        worker: &mut Worker,
        request: &Request,
        bytes: &[u8],
    ) -> std::io::Result<(Reply, Vec<u8>)> {
        let max = self.limits.object_bytes;
        within(&worker.child, &worker.timed_out, self.limits.time, || {
            write_frame(&mut worker.input, request, bytes)?;
            read_frame::<Reply>(&mut worker.output, max)?.ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "exited before answering")
            })
        })
    }

    /// What the host may allocate for one object a worker returns.
    pub(crate) fn object_limits(&self) -> ObjectLimits {
        ObjectLimits {
            max_bytes: self.limits.object_bytes,
        }
    }

    /// The error for a worker that died or broke the protocol, with its exit and last words.
    fn crashed(&self, name: &str, mut worker: Worker, what: &str) -> Error {
        // Whether it ended by itself (its status says how), or is still there and orc-jit
        // ends it now (it broke the protocol: its status says nothing). A worker that aborts
        // closes its pipes before the kernel has reaped it, so it gets a moment (up to 200 ms)
        // to be seen ending.
        let (status, ended_itself) = {
            let mut child = worker.child.lock().unwrap_or_else(|e| e.into_inner());
            let ended = (0..40).any(|_| {
                let ended = matches!(child.try_wait(), Ok(Some(_)));
                if !ended {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                ended
            });
            let _ = child.kill();
            (child.wait().ok(), ended)
        };
        // The worker is gone, so its stderr is closed: the reader has everything it said.
        let said: Vec<String> = worker
            .stderr
            .take()
            .and_then(|reader| reader.join().ok())
            .unwrap_or_default()
            .into();
        let timed_out = worker.timed_out.load(Ordering::Relaxed);
        let signal = status
            .and_then(|s| s.signal())
            .filter(|_| ended_itself || timed_out);
        let last_words = said
            .iter()
            .rev()
            .find(|l| l.contains("LLVM ERROR") || l.contains("error"))
            .or(said.last())
            .cloned();
        let message = match (timed_out, last_words) {
            (true, _) => format!(
                "orc-jit killed it after the time limit of {:?} (IsolationLimits::time)",
                self.limits.time
            ),
            (false, Some(words)) if out_of_memory(&words) => format!(
                "{words} (its address space is limited to {} MiB: IsolationLimits::memory_bytes)",
                self.limits.memory_bytes >> 20
            ),
            (false, Some(words)) => words,
            (false, None) => match signal {
                Some(9) => "killed by SIGKILL, not by orc-jit: by the kernel (out of memory, \
                            see dmesg) or by another process"
                    .to_owned(),
                Some(_) => "it said nothing".to_owned(),
                None => format!("it {what}"),
            },
        };
        Error::CompilerCrashed {
            module: name.to_owned(),
            signal,
            message,
        }
    }

    fn spawn(&self, name: &str) -> Result<Worker> {
        let program = match &self.program {
            WorkerProgram::CurrentExe => std::env::current_exe().map_err(|e| {
                Error::Llvm(format!(
                    "cannot find this program to run as a compile worker: {e}"
                ))
            })?,
            WorkerProgram::Path(path) => path.clone(),
        };
        let mut command = Command::new(&program);
        command
            .env(WORKER_ENV, PROTOCOL.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let memory = self.limits.memory_bytes;
        // SAFETY: the closure runs in the child between fork and exec and only calls
        // setrlimit, which is async-signal-safe; it touches no lock or allocation.
        unsafe {
            command.pre_exec(move || {
                let limit = libc::rlimit {
                    rlim_cur: memory,
                    rlim_max: memory,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            })
        };
        let mut child = command.spawn().map_err(|e| {
            Error::Llvm(format!(
                "cannot start the compile worker {}: {e}",
                program.display()
            ))
        })?;
        let (Some(input), Some(output), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(Error::Llvm("the compile worker has no pipes".into()));
        };
        let reader = std::thread::spawn(move || {
            let mut tail = VecDeque::new();
            for line in BufReader::new(stderr)
                .lines()
                .map_while(std::io::Result::ok)
            {
                if tail.len() == 20 {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
            tail
        });
        let mut worker = Worker {
            child: Arc::new(Mutex::new(child)),
            timed_out: Arc::new(AtomicBool::new(false)),
            input,
            output: BufReader::new(output),
            stderr: Some(reader),
        };
        // The worker greets first; a program that does not call serve_if_worker does not.
        let hello = within(
            &worker.child,
            &worker.timed_out,
            Duration::from_secs(10),
            || read_frame::<Reply>(&mut worker.output, 0),
        );
        match hello {
            Ok(Some((Reply::Hello { protocol }, _))) if protocol == PROTOCOL => Ok(worker),
            _ => {
                // What it said before it stopped (or was stopped) tells a program that cannot
                // start (the loader out of address space) from one that is not a worker.
                {
                    let mut child = worker.child.lock().unwrap_or_else(|e| e.into_inner());
                    let _ = child.kill();
                    let _ = child.wait();
                }
                let said = worker
                    .stderr
                    .take()
                    .and_then(|reader| reader.join().ok())
                    .unwrap_or_default();
                let last_words = said.iter().rev().find(|l| !l.trim().is_empty());
                match last_words {
                    Some(words) if out_of_memory(words) => Err(Error::CompilerCrashed {
                        module: name.to_owned(),
                        signal: None,
                        message: format!(
                            "{} could not start: {words} (its address space is limited to {} \
                             MiB: IsolationLimits::memory_bytes)",
                            program.display(),
                            self.limits.memory_bytes >> 20
                        ),
                    }),
                    _ => Err(Error::Llvm(format!(
                        "{name}: {} did not start as a compile worker{}: it must call \
                         orc_jit::serve_if_worker() first thing in main (or use \
                         WorkerProgram::Path with orc-jit's orc-jit-worker)",
                        program.display(),
                        last_words
                            .map(|w| format!(" (its last words: {w})"))
                            .unwrap_or_default()
                    ))),
                }
            }
        }
    }
}

/// Compiles IR to an object file in this process, exactly as a worker does, for tests of what
/// the host does with the objects LLVM produces (object_file.rs).
#[cfg(test)]
pub(crate) fn compile_here(
    name: &str,
    ir: &[u8],
    codegen: Codegen,
) -> std::result::Result<Vec<u8>, String> {
    let request = Request {
        name: name.to_owned(),
        codegen,
    };
    match compile(&request, ir) {
        (Reply::Compiled { .. }, object) => Ok(object),
        (reply, _) => Err(format!("{name} did not compile: {reply:?}")),
    }
}
