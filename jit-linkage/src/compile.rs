//! Compiling a manifest library with the `cc` crate: PIC objects, archived into
//! `lib<static_name>.a` and linked into `lib<shared_name>.so` (with that `SONAME`).

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use cc::{BuildMessage, BuildMessageKind, BuildMessageLogger};

use crate::manifest::{Library, Manifest};
use crate::{Error, Result};

/// Where and for what to compile.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    /// Target triple of the code.
    pub target: String,
    /// Triple of the machine running the compiler.
    pub host: String,
    /// Directory for the artifacts (objects go in a subdirectory of it).
    pub out_dir: PathBuf,
    /// Optimisation level passed to the C compiler (`0`-`3`, `s`).
    pub opt_level: String,
    /// Whether to emit debug info.
    pub debug: bool,
}

impl CompileOptions {
    /// Options for the machine this code runs on, writing into `out_dir` (used by xtask).
    pub fn host(out_dir: impl Into<PathBuf>) -> CompileOptions {
        let host = env!("JIT_LINKAGE_HOST_TARGET").to_owned();
        CompileOptions {
            target: host.clone(),
            host,
            out_dir: out_dir.into(),
            opt_level: "2".into(),
            debug: false,
        }
    }
}

/// The files one library compiles to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifacts {
    /// `lib<static_name>.a`.
    pub static_lib: PathBuf,
    /// `lib<shared_name>.so`.
    pub shared_lib: PathBuf,
    /// `<name>.bc`, for libraries with `bitcode = true`.
    pub bitcode: Option<PathBuf>,
}

impl Artifacts {
    /// Where `lib`'s artifacts are (or will be) in `dir`.
    pub fn in_dir(lib: &Library, dir: &Path) -> Artifacts {
        Artifacts {
            static_lib: dir.join(lib.static_file_name()),
            shared_lib: dir.join(lib.shared_file_name()),
            bitcode: lib.bitcode.then(|| dir.join(lib.bitcode_file_name())),
        }
    }

    /// True when both artifacts exist and are newer than the manifest and every input of `lib`.
    pub fn is_fresh(&self, lib: &Library, manifest: &Manifest) -> bool {
        let oldest_output = [&self.static_lib, &self.shared_lib]
            .into_iter()
            .chain(&self.bitcode)
            .map(|p| modified(p))
            .min()
            .flatten();
        let Some(oldest_output) = oldest_output else {
            return false;
        };
        let mut inputs = lib.inputs();
        inputs.push(manifest.path.clone());
        // An input whose time cannot be read counts as changed.
        inputs
            .iter()
            .all(|p| modified(p).is_some_and(|t| t <= oldest_output))
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Collects what the compiler says, so it reaches the user through our own output.
#[derive(Default)]
struct CompilerOutput(Mutex<Vec<String>>);

impl BuildMessageLogger for CompilerOutput {
    fn log(&self, kind: BuildMessageKind, msg: BuildMessage<'_>, _extra: &dyn Any) {
        let keep = match kind {
            BuildMessageKind::StderrForwarding | BuildMessageKind::GeneralWarning => true,
            BuildMessageKind::CommandFailed {
                is_detection_cmd, ..
            } => !is_detection_cmd,
            _ => false,
        };
        if keep {
            let mut lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
            lines.push(msg.to_string());
        }
    }
}

impl CompilerOutput {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// A successful compile: the artifacts, and the compiler's warnings (if any) to show.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The files written.
    pub artifacts: Artifacts,
    /// Lines the compiler printed (warnings).
    pub warnings: Vec<String>,
}

/// Compiles `lib` into `options.out_dir`. Prints nothing: the compiler's messages come back in
/// the result or the error.
pub fn compile(lib: &Library, options: &CompileOptions) -> Result<Compiled> {
    let io_err = |path: &Path, action: &'static str| {
        let path = path.to_path_buf();
        move |source| Error::Io {
            path,
            action,
            source,
        }
    };
    std::fs::create_dir_all(&options.out_dir)
        .map_err(io_err(&options.out_dir, "create the output directory"))?;
    let artifacts = Artifacts::in_dir(lib, &options.out_dir);
    let output = Arc::new(CompilerOutput::default());

    let mut build = cc::Build::new();
    build
        .files(&lib.sources)
        .includes(&lib.include_dirs)
        .pic(true)
        .target(&options.target)
        .host(&options.host)
        .opt_level_str(&options.opt_level)
        .debug(options.debug)
        .out_dir(&options.out_dir)
        .warnings(true)
        // Nothing goes to stdout: the caller decides how to report (cargo directives or a
        // terminal) and prints every cargo line through one function.
        .cargo_metadata(false)
        .cargo_warnings(false)
        .message_logger(Some(output.clone()));
    let compile_error = |e: cc::Error, output: &CompilerOutput| Error::Compile {
        library: lib.name.clone(),
        message: e.to_string(),
        compiler_output: output.take().join("\n"),
    };
    build
        .try_compile(&lib.static_name)
        .map_err(|e| compile_error(e, &output))?;

    // The shared library is linked from the whole archive, so both hold the same objects.
    let compiler = build
        .try_get_compiler()
        .map_err(|e| compile_error(e, &output))?;
    let mut link = compiler.to_command();
    link.arg("-shared")
        .arg(format!("-Wl,-soname,{}", lib.shared_file_name()))
        .arg("-o")
        .arg(&artifacts.shared_lib)
        .arg("-Wl,--whole-archive")
        .arg(&artifacts.static_lib)
        .arg("-Wl,--no-whole-archive");
    let stderr = run(link).map_err(|(command, output)| Error::Link {
        library: lib.name.clone(),
        command,
        output,
    })?;
    let mut warnings = output.take();
    warnings.extend(stderr.lines().map(str::to_owned));
    Ok(Compiled {
        artifacts,
        warnings,
    })
}

/// The LLVM version bitcode is compiled for when nothing says otherwise: jit-core's default.
pub const DEFAULT_LLVM: u32 = 22;

/// The C compiler that writes bitcode for LLVM `version` (Debian's `clang-N`): bitcode must
/// come from the same LLVM as the JIT that reads it, or older.
pub fn clang(version: u32) -> String {
    format!("clang-{version}")
}

/// The IR linker of LLVM `version` (Debian's `llvm-link-N`).
pub fn llvm_link(version: u32) -> String {
    format!("llvm-link-{version}")
}

/// Compiles `lib`'s sources to LLVM `version`'s bitcode with clang-N and links them into one
/// `<name>.bc` in `out_dir` with llvm-link-N.
pub fn compile_bitcode(lib: &Library, out_dir: &Path, version: u32) -> Result<PathBuf> {
    let objects = out_dir.join(format!("{}-bitcode", lib.name));
    std::fs::create_dir_all(&objects).map_err(|source| Error::Io {
        path: objects.clone(),
        action: "create the bitcode directory",
        source,
    })?;
    let mut parts = Vec::with_capacity(lib.sources.len());
    for (i, source) in lib.sources.iter().enumerate() {
        let stem = source.file_stem().unwrap_or_default().to_string_lossy();
        let part = objects.join(format!("{i}-{stem}.bc"));
        let mut clang = std::process::Command::new(clang(version));
        clang.args(["-O2", "-fPIC", "-emit-llvm", "-c"]);
        for dir in &lib.include_dirs {
            clang.arg("-I").arg(dir);
        }
        clang.arg(source).arg("-o").arg(&part);
        run_tool(lib, clang, version)?;
        parts.push(part);
    }
    let output = out_dir.join(lib.bitcode_file_name());
    let mut link = std::process::Command::new(llvm_link(version));
    link.args(&parts).arg("-o").arg(&output);
    run_tool(lib, link, version)?;
    Ok(output)
}

fn run_tool(lib: &Library, command: std::process::Command, version: u32) -> Result<()> {
    run(command)
        .map(drop)
        .map_err(|(command, output)| Error::Compile {
            library: lib.name.clone(),
            message: format!(
                "{command} failed (bitcode for LLVM {version} needs clang-{version} and \
                 llvm-link-{version}: Debian's packages clang-{version} and llvm-{version}, which \
                 `cargo xtask deps --llvm {version}` installs in the toolkit's workspace)"
            ),
            compiler_output: output,
        })
}

/// Runs `command`: Ok(what it printed on stderr), or Err((the command, why it failed)).
fn run(mut command: std::process::Command) -> std::result::Result<String, (String, String)> {
    let shown = format!("{command:?}");
    match command.output() {
        Err(e) => Err((shown, e.to_string())),
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr).trim_end().to_owned();
            if out.status.success() {
                Ok(stderr)
            } else {
                Err((shown, stderr))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn library(test: &str, source: &str) -> (Manifest, CompileOptions) {
        let dir = std::env::temp_dir().join(format!("jit-linkage-compile-{test}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("t.c"), source).unwrap();
        let text = "[[library]]\nname = \"t\"\nsources = [\"t.c\"]\nsymbols = [\"t_fn\"]\n";
        let manifest = Manifest::parse(text, &dir.join("libraries.toml")).unwrap();
        std::fs::write(&manifest.path, text).unwrap();
        (manifest, CompileOptions::host(dir.join("out")))
    }

    #[test]
    fn compiles_an_archive_and_a_shared_library_with_a_soname() {
        let (manifest, options) = library("ok", "int t_fn(int x) { return x + 1; }\n");
        let lib = &manifest.libraries[0];
        let compiled = compile(lib, &options).unwrap();
        let archive = std::fs::read(&compiled.artifacts.static_lib).unwrap();
        assert!(archive.starts_with(b"!<arch>\n"));
        let shared = std::fs::read(&compiled.artifacts.shared_lib).unwrap();
        assert!(shared.starts_with(b"\x7fELF"));
        // The SONAME string is in the dynamic string table.
        assert!(shared.windows(7).any(|w| w == b"libt.so"));
        assert!(compiled.artifacts.is_fresh(lib, &manifest));
    }

    #[test]
    fn a_changed_source_makes_the_artifacts_stale() {
        let (manifest, options) = library("stale", "int t_fn(int x) { return x; }\n");
        let lib = &manifest.libraries[0];
        let compiled = compile(lib, &options).unwrap();
        assert!(compiled.artifacts.is_fresh(lib, &manifest));
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        let source = std::fs::File::options()
            .append(true)
            .open(&lib.sources[0])
            .unwrap();
        source.set_modified(later).unwrap();
        assert!(!compiled.artifacts.is_fresh(lib, &manifest));
    }

    #[test]
    fn a_compile_error_carries_the_compiler_diagnostic() {
        let (manifest, options) = library("bad", "int t_fn(int x) { return x +; }\n");
        let err = compile(&manifest.libraries[0], &options).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Compile { .. }), "{msg}");
        assert!(msg.contains("t.c:1"), "{msg}");
        assert!(msg.contains("library `t`"), "{msg}");
    }
}
