//! `jit-lli`: runs a module's `main` through orc-jit the way `lli` runs it.
//!
//! ```text
//! jit-lli [--isolated] [--extra-module FILE]... FILE [ARGS...]
//! ```
//!
//! FILE (and each extra module, added after it, as lli adds them) is a `.ll` or `.bc` file.
//! In-process, each is parsed and added with `Jit::load_module` + `Jit::add_module`; with
//! `--isolated`, each is compiled by a compile worker (`Jit::load_module_isolated`; the worker
//! is this program). `main` is called with `argv[0]` = FILE, then ARGS, and the environment;
//! then the JIT is dropped (which runs the program's destructors) and the process exits with
//! main's return value, as lli does (the low 8 bits).
//!
//! Exit status: main's, or 70 when orc-jit reports an error (printed on stderr as
//! `jit-lli: error: ...`), or 64 for a usage error. Never a panic.

use std::ffi::{CString, OsString, c_char, c_int, c_void};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use orc_jit::{Error, Jit, WorkerProgram};

/// The status of a run that orc-jit refused or failed (BSD's `EX_SOFTWARE`).
const JIT_ERROR: i32 = 70;
/// The status of a command line jit-lli cannot read (BSD's `EX_USAGE`).
const USAGE_ERROR: i32 = 64;

const USAGE: &str = "usage: jit-lli [--isolated] [--extra-module FILE]... FILE [ARGS...]

Runs FILE's main through orc-jit, as lli does: argv[0] is FILE, then ARGS; the exit status
is main's (its low 8 bits), 70 when orc-jit reports an error, 64 for a usage error.
  --isolated            compile each module in a compile worker (Jit::load_module_isolated)
  --extra-module FILE   add FILE too, after the main module (repeatable)";

unsafe extern "C" {
    /// C's `fflush`; with a null stream it flushes every output stream of the C runtime, which
    /// the JIT code's `printf`s write into.
    fn fflush(stream: *mut c_void) -> c_int;
}

struct Options {
    isolated: bool,
    extra_modules: Vec<PathBuf>,
    module: PathBuf,
    args: Vec<OsString>,
}

fn main() {
    orc_jit::serve_if_worker();
    let options = match parse_args(std::env::args_os().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return;
        }
        Err(message) => {
            eprintln!("jit-lli: {message}\n{USAGE}");
            std::process::exit(USAGE_ERROR);
        }
    };
    let status = match run(&options) {
        Ok(status) => status & 0xff,
        Err(err) => {
            eprintln!("jit-lli: error: {err}");
            JIT_ERROR
        }
    };
    flush_c_streams();
    std::process::exit(status);
}

/// The options, `None` for `--help`, or what is wrong with the command line.
fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Option<Options>, String> {
    let mut args = args.into_iter();
    let mut isolated = false;
    let mut extra_modules = Vec::new();
    while let Some(arg) = args.next() {
        let bytes = arg.as_bytes();
        match bytes {
            b"-h" | b"--help" => return Ok(None),
            b"--isolated" => isolated = true,
            b"--extra-module" => match args.next() {
                Some(file) => extra_modules.push(PathBuf::from(file)),
                None => return Err("--extra-module needs a FILE".into()),
            },
            _ if bytes.starts_with(b"--extra-module=") => {
                let file = std::ffi::OsStr::from_bytes(&bytes[b"--extra-module=".len()..]);
                extra_modules.push(PathBuf::from(file));
            }
            b"--" => {
                let module = args.next().ok_or("no module FILE given")?;
                return Ok(Some(options(isolated, extra_modules, module, args)));
            }
            _ if bytes.starts_with(b"-") && bytes.len() > 1 => {
                return Err(format!("unknown option `{}`", arg.to_string_lossy()));
            }
            _ => return Ok(Some(options(isolated, extra_modules, arg, args))),
        }
    }
    Err("no module FILE given".into())
}

fn options(
    isolated: bool,
    extra_modules: Vec<PathBuf>,
    module: OsString,
    rest: impl Iterator<Item = OsString>,
) -> Options {
    Options {
        isolated,
        extra_modules,
        module: PathBuf::from(module),
        args: rest.collect(),
    }
}

/// Builds the JIT, adds the modules, calls main and drops the JIT; main's return value.
fn run(options: &Options) -> Result<i32, Error> {
    let mut builder = Jit::builder();
    // SAFETY: jit-lli is a test runner: like lli, it exists to run the programs it is given,
    // constructors and destructors included, and the caller vouches for them as for `main`.
    unsafe {
        builder.run_constructors(true);
    }
    builder.compile_worker(WorkerProgram::CurrentExe);
    let jit = builder.build()?;
    for path in std::iter::once(&options.module).chain(&options.extra_modules) {
        if options.isolated {
            jit.load_module_isolated(path)?;
        } else {
            jit.add_module(jit.load_module(path)?)?;
        }
    }
    let argv = c_strings(
        std::iter::once(options.module.as_os_str().as_bytes().to_vec())
            .chain(options.args.iter().map(|a| a.as_bytes().to_vec())),
    );
    let envp = c_strings(std::env::vars_os().map(|(key, value)| {
        let mut entry = key.as_bytes().to_vec();
        entry.push(b'=');
        entry.extend_from_slice(value.as_bytes());
        entry
    }));
    let status = call_main(&jit, &argv, &envp)?;
    // What main printed reaches stdout before the destructors print.
    flush_c_streams();
    drop(jit);
    Ok(status)
}

/// NUL-terminated strings and the null-terminated array of pointers to them that C's `argv`
/// and `envp` are. A string with an interior NUL is cut there, as C would read it.
struct CStrings {
    _strings: Vec<CString>,
    pointers: Vec<*const c_char>,
}

fn c_strings(items: impl Iterator<Item = Vec<u8>>) -> CStrings {
    let strings: Vec<CString> = items
        .map(|mut bytes| {
            if let Some(nul) = bytes.iter().position(|&b| b == 0) {
                bytes.truncate(nul);
            }
            CString::new(bytes).unwrap_or_default()
        })
        .collect();
    let mut pointers: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
    pointers.push(std::ptr::null());
    CStrings {
        _strings: strings,
        pointers,
    }
}

type Main0 = extern "C" fn() -> i32;
type Main1 = extern "C" fn(i32) -> i32;
type Main2 = extern "C" fn(i32, *const *const c_char) -> i32;
type Main3 = extern "C" fn(i32, *const *const c_char, *const *const c_char) -> i32;

/// Looks `main` up with each signature C allows for it, and `main(int)`, which lli runs too (it
/// calls every main as `main(argc, argv)`; LLVM's tests have one), and calls it. orc-jit's
/// lookup is ABI-checked, so a wrong one is a `SignatureMismatch`.
fn call_main(jit: &Jit, argv: &CStrings, envp: &CStrings) -> Result<i32, Error> {
    let argc = i32::try_from(argv.pointers.len() - 1).unwrap_or(i32::MAX);
    let mismatch = match jit.lookup::<Main2>("main") {
        // SAFETY: running the program is what jit-lli is for (see `run`); argv and envp are
        // null-terminated arrays of NUL-terminated strings that outlive the call.
        Ok(main) => return Ok(unsafe { main.call(argc, argv.pointers.as_ptr()) }),
        Err(err @ Error::SignatureMismatch { .. }) => err,
        Err(err) => return Err(err),
    };
    match jit.lookup::<Main0>("main") {
        // SAFETY: as above.
        Ok(main) => return Ok(unsafe { main.call() }),
        Err(Error::SignatureMismatch { .. }) => {}
        Err(err) => return Err(err),
    }
    match jit.lookup::<Main1>("main") {
        // SAFETY: as above.
        Ok(main) => return Ok(unsafe { main.call(argc) }),
        Err(Error::SignatureMismatch { .. }) => {}
        Err(err) => return Err(err),
    }
    match jit.lookup::<Main3>("main") {
        // SAFETY: as above.
        Ok(main) => Ok(unsafe { main.call(argc, argv.pointers.as_ptr(), envp.pointers.as_ptr()) }),
        // None fits: say how main is defined (the first mismatch names both signatures).
        Err(Error::SignatureMismatch { .. }) => Err(mismatch),
        Err(err) => Err(err),
    }
}

fn flush_c_streams() {
    // SAFETY: fflush(NULL) is defined by C: it flushes every output stream.
    unsafe {
        fflush(std::ptr::null_mut());
    }
}
