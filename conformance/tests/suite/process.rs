//! Running one program with a time limit, keeping what it printed and how it ended.

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Exited with this status.
    Exited(i32),
    /// Killed by this signal.
    Signaled(i32),
    /// Still running at the time limit (then killed, with its process group).
    TimedOut(Duration),
    /// Could not be started.
    NotStarted(String),
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub end: End,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Outcome {
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Runs `command` (stdin empty, stdout and stderr kept) in a process group of its own, killed
/// whole after `limit`.
pub fn run(mut command: Command, limit: Duration) -> Outcome {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => {
            return Outcome {
                end: End::NotStarted(format!("{:?}: {err}", command.get_program())),
                stdout: Vec::new(),
                stderr: Vec::new(),
            };
        }
    };
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let start = Instant::now();
    let end = loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                break match (status.code(), status.signal()) {
                    (Some(code), _) => End::Exited(code),
                    (None, Some(signal)) => End::Signaled(signal),
                    (None, None) => End::NotStarted(format!("unknown end: {status:?}")),
                };
            }
            Ok(None) if start.elapsed() >= limit => {
                kill_group(child.id());
                let _ = child.kill();
                let _ = child.wait();
                break End::TimedOut(limit);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(err) => break End::NotStarted(format!("waiting for it failed: {err}")),
        }
    };
    // A process left in the group (a compile worker) would keep the pipes open.
    kill_group(child.id());
    let collect = |reader: Option<std::thread::JoinHandle<Vec<u8>>>| {
        reader.and_then(|r| r.join().ok()).unwrap_or_default()
    };
    Outcome {
        end,
        stdout: collect(stdout),
        stderr: collect(stderr),
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

fn kill_group(pid: u32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) with a negative pid signals the process group `pid`, which the child
    // leads (process_group(0)); it touches no memory of ours.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

pub fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGSEGV => "SIGSEGV".into(),
        libc::SIGABRT => "SIGABRT".into(),
        libc::SIGBUS => "SIGBUS".into(),
        libc::SIGILL => "SIGILL".into(),
        libc::SIGFPE => "SIGFPE".into(),
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGTRAP => "SIGTRAP".into(),
        other => format!("signal {other}"),
    }
}
