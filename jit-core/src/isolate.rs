//! Isolated compilation: untrusted IR or bitcode is parsed, verified and compiled to an object
//! file by a worker process, so that whatever LLVM does with hostile input (`abort()`, a stack
//! overflow, memory without bound) takes down only the worker. The host links the object into
//! ORC and resolves its symbols as for any module.
//!
//! A worker is a program that calls [`serve_if_worker`] first thing in `main`: the host's own
//! executable ([`WorkerProgram::CurrentExe`], the default) or any other
//! ([`WorkerProgram::Path`]; jit-core ships `jit-core-worker`). Workers stay warm in a pool and
//! compile independent modules in parallel ([`crate::Jit::add_modules_isolated`]).
//!
//! The protocol, over the worker's stdin and stdout: frames of a little-endian `u32` length and
//! a JSON header, then a `u64` length and that many bytes (the module, or the object file).

use std::collections::VecDeque;
use std::ffi::c_char;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use llvm_sys::target_machine::{
    LLVMCodeGenFileType, LLVMCreateTargetDataLayout, LLVMGetTargetMachineTriple,
    LLVMTargetMachineEmitToMemoryBuffer,
};

use crate::builder::{CodeModel, OptLevel, RelocModel};
use crate::llvm::take_message;
use crate::module::{Module, ModuleSymbols};
use crate::target::TargetMachine;
use crate::{Error, Result};

/// Set in a worker's environment; its value is the protocol version.
const WORKER_ENV: &str = "JIT_CORE_COMPILE_WORKER";
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
    /// Another program that calls [`serve_if_worker`], such as jit-core's `jit-core-worker`.
    Path(PathBuf),
}

/// What one worker may use to compile one module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsolationLimits {
    /// Address space of the worker process (`RLIMIT_AS`); LLVM's own mappings count too.
    pub memory_bytes: u64,
    /// Wall-clock time per module; the worker is killed after it.
    pub time: Duration,
}

impl Default for IsolationLimits {
    fn default() -> Self {
        IsolationLimits {
            memory_bytes: 8 << 30,
            time: Duration::from_secs(60),
        }
    }
}

/// The code generation settings a worker compiles with: the JIT's.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub(crate) struct Codegen {
    pub(crate) opt: OptLevel,
    pub(crate) reloc: RelocModel,
    pub(crate) code_model: CodeModel,
}

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

/// A module compiled by a worker: the object file and what the module defines and needs.
pub(crate) struct Compiled {
    pub(crate) object: Vec<u8>,
    pub(crate) symbols: ModuleSymbols,
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
            eprintln!("jit-core compile worker: {e}");
            4
        }
    };
    std::process::exit(code);
}

fn serve(mut input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
    write_frame(&mut output, &Reply::Hello { protocol: PROTOCOL }, &[])?;
    while let Some((request, module)) = read_frame::<Request>(&mut input)? {
        let worker = std::thread::Builder::new()
            .name("compile".into())
            .stack_size(WORKER_STACK)
            .spawn(move || compile(&request, &module))?;
        let (reply, object) = worker
            .join()
            .unwrap_or_else(|_| failed(Failure::Compile, "the compiler panicked".into()));
        write_frame(&mut output, &reply, &object)?;
    }
    Ok(())
}

fn failed(kind: Failure, message: String) -> (Reply, Vec<u8>) {
    (Reply::Failed { kind, message }, Vec::new())
}

/// Parses, verifies and compiles one module to an object file for this host.
fn compile(request: &Request, bytes: &[u8]) -> (Reply, Vec<u8>) {
    let mut module = match Module::parse(0, &request.name, bytes) {
        Ok(module) => module,
        Err(Error::Verify { diagnostic, .. }) => return failed(Failure::Verify, diagnostic),
        Err(Error::Parse { diagnostic, .. }) => return failed(Failure::Parse, diagnostic),
        Err(Error::Unsupported { reason, .. }) => return failed(Failure::Unsupported, reason),
        Err(other) => return failed(Failure::Parse, other.to_string()),
    };
    let structors = module.take_structors();
    let mut symbols = module.symbols();
    symbols.structors = structors;
    let codegen = request.codegen;
    let machine = match TargetMachine::host(codegen.opt, codegen.reloc, codegen.code_model) {
        Ok(machine) => machine,
        Err(e) => return failed(Failure::Compile, e.to_string()),
    };
    let mut message: *mut c_char = std::ptr::null_mut();
    let mut buffer = std::ptr::null_mut();
    // SAFETY: the module and the target machine are live and ours; the module gets the
    // machine's triple and data layout (the JIT's, so the object links there), then is
    // compiled; every string and the buffer LLVM hands back are freed once.
    let (failed_to_emit, error, object) = unsafe {
        let triple = LLVMGetTargetMachineTriple(machine.raw());
        llvm_sys::core::LLVMSetTarget(module.raw(), triple);
        take_message(triple);
        let layout = LLVMCreateTargetDataLayout(machine.raw());
        llvm_sys::target::LLVMSetModuleDataLayout(module.raw(), layout);
        llvm_sys::target::LLVMDisposeTargetData(layout);
        let failed = LLVMTargetMachineEmitToMemoryBuffer(
            machine.raw(),
            module.raw(),
            LLVMCodeGenFileType::LLVMObjectFile,
            &mut message,
            &mut buffer,
        ) != 0;
        let error = take_message(message);
        let object = if buffer.is_null() {
            Vec::new()
        } else {
            let start = llvm_sys::core::LLVMGetBufferStart(buffer) as *const u8;
            let size = llvm_sys::core::LLVMGetBufferSize(buffer);
            let object = std::slice::from_raw_parts(start, size).to_vec();
            llvm_sys::core::LLVMDisposeMemoryBuffer(buffer);
            object
        };
        (failed, error, object)
    };
    // Code generation reports some errors (inline assembly, for one) as diagnostics and goes on.
    let said = module.diagnostics().take_errors();
    if failed_to_emit || !said.is_empty() {
        let mut lines: Vec<String> = said.iter().map(|s| s.trim_end().to_owned()).collect();
        if !error.is_empty() {
            lines.push(error);
        }
        return failed(Failure::Compile, lines.join("\n"));
    }
    (Reply::Compiled { symbols }, object)
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

/// The next frame, or `None` at a clean end of input.
fn read_frame<T: serde::de::DeserializeOwned>(
    input: &mut impl Read,
) -> std::io::Result<Option<(T, Vec<u8>)>> {
    let mut length = [0; 4];
    match input.read_exact(&mut length) {
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        other => other?,
    }
    let mut header = vec![0; u32::from_le_bytes(length) as usize];
    input.read_exact(&mut header)?;
    let header = serde_json::from_slice(&header)?;
    let mut length = [0; 8];
    input.read_exact(&mut length)?;
    let mut blob = Vec::new();
    input
        .take(u64::from_le_bytes(length))
        .read_to_end(&mut blob)?;
    Ok(Some((header, blob)))
}

/// Runs `talk` (an exchange with the worker `child`), killing the worker if it takes longer
/// than `limit`, which makes the exchange fail.
fn within<T>(child: &Arc<Mutex<Child>>, limit: Duration, talk: impl FnOnce() -> T) -> T {
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let child = child.clone();
    let watchdog = std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(limit) {
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
                Ok(Compiled { object, symbols })
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
            Err(e) => Err(self.crashed(name, worker, &e.to_string())),
        }
    }

    /// Sends one request and reads the reply, killing the worker if it takes too long.
    fn exchange(
        &self,
        worker: &mut Worker,
        request: &Request,
        bytes: &[u8],
    ) -> std::io::Result<(Reply, Vec<u8>)> {
        within(&worker.child, self.limits.time, || {
            write_frame(&mut worker.input, request, bytes)?;
            read_frame::<Reply>(&mut worker.output)?.ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the worker exited")
            })
        })
    }

    /// The error for a worker that died or broke the protocol, with its exit and last words.
    fn crashed(&self, name: &str, mut worker: Worker, what: &str) -> Error {
        let status = {
            let mut child = worker.child.lock().unwrap_or_else(|e| e.into_inner());
            let _ = child.kill();
            child.wait().ok()
        };
        // The worker is gone, so its stderr is closed: the reader has everything it said.
        let said: Vec<String> = worker
            .stderr
            .take()
            .and_then(|reader| reader.join().ok())
            .unwrap_or_default()
            .into();
        let signal = status.and_then(|s| s.signal());
        let message = said
            .iter()
            .rev()
            .find(|l| l.contains("LLVM ERROR") || l.contains("error"))
            .or(said.last())
            .cloned()
            .unwrap_or_else(|| match signal {
                Some(9) => format!(
                    "killed: over the time limit of {} s, or out of memory",
                    self.limits.time.as_secs()
                ),
                _ => format!("the worker {what}"),
            });
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
            input,
            output: BufReader::new(output),
            stderr: Some(reader),
        };
        // The worker greets first; a program that does not call serve_if_worker does not.
        let hello = within(&worker.child, Duration::from_secs(10), || {
            read_frame::<Reply>(&mut worker.output)
        });
        match hello {
            Ok(Some((Reply::Hello { protocol }, _))) if protocol == PROTOCOL => Ok(worker),
            _ => Err(Error::Llvm(format!(
                "{name}: {} did not start as a compile worker: it must call \
                 jit_core::serve_if_worker() first thing in main (or use \
                 WorkerProgram::Path with jit-core's jit-core-worker)",
                program.display()
            ))),
        }
    }
}
