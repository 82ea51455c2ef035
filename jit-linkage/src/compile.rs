//! Obtaining a manifest library's files inside a build script.
//!
//! Compiled libraries go through the `cc` crate doing what it does: it reads `CC`, `CFLAGS`,
//! `TARGET`, `OPT_LEVEL`... itself, prints the `rerun-if-env-changed` lines for what it read,
//! and for a statically linked library prints the `rustc-link-lib` line with the
//! `+whole-archive` and `-bundle` modifiers (and the C++ runtime for C++ sources). Prebuilt
//! files are copied in; pkg-config libraries are found by the `pkg-config` crate (see
//! `system_library.rs`).
//!
//! Each library gets its own directory, `<artifact dir>/<name>/`, holding `lib<static_name>.a`,
//! `lib<shared_name>.so` and `<name>.bc`. Objects are compiled with `-MMD`, and the headers the
//! compiler reports are inputs of the build, so cargo re-runs the build script when one changes.

use std::any::Any;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use cc::{BuildMessage, BuildMessageKind, BuildMessageLogger};

use crate::manifest::{Library, Origin, is_reserved_soname};
use crate::{Error, Result};

/// What a build needs of one library.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Needs {
    /// Linked statically into the binaries: cc prints the whole-archive link line.
    pub link_static: bool,
    /// `lib<static_name>.a` as a file (linked statically, or loaded at run time).
    pub archive: bool,
    /// `lib<shared_name>.so` (linked dynamically, or loaded at run time).
    pub shared: bool,
    /// `<name>.bc` for LLVM `N`.
    pub bitcode: Option<u32>,
}

/// What obtaining one library produced.
#[derive(Debug, Clone, Default)]
pub(crate) struct Compiled {
    /// The library's own directory.
    pub dir: PathBuf,
    /// Every file the result depends on: the sources and the headers the compiler read, the
    /// prebuilt files.
    pub inputs: Vec<PathBuf>,
    /// What the compiler printed (warnings), to pass on.
    pub warnings: Vec<String>,
    /// The archive, when one was asked for.
    pub archive: Option<PathBuf>,
    /// Where the archive was copied from, when it is a copy (a system library's): the file to
    /// name in errors.
    pub archive_source: Option<PathBuf>,
    /// The static link line to print, for a library cc did not compile: its `-l` name.
    pub static_link: Option<String>,
    /// The shared library, when one was asked for.
    pub shared: Option<Shared>,
    /// More directories to search (pkg-config's `-L`).
    pub link_paths: Vec<PathBuf>,
    /// Libraries the library itself needs, linked normally (pkg-config's other `-l`).
    pub dependencies: Vec<String>,
    /// Include directories the library gives to the compiled libraries of the build
    /// (pkg-config's `-I`).
    pub include_paths: Vec<PathBuf>,
    /// Environment variables read to obtain it (pkg-config's), for `rerun-if-env-changed`.
    pub env_vars: Vec<String>,
}

/// A shared library to link and, unless the system provides it, to place next to the binary.
#[derive(Debug, Clone)]
pub(crate) struct Shared {
    /// The file the linker uses (and whose symbols are proven).
    pub file: PathBuf,
    /// Its `-l` name.
    pub link_name: String,
    /// The directory to search for it, when the linker does not search it anyway.
    pub link_dir: Option<PathBuf>,
    /// Its `SONAME`: the name in the binary's `DT_NEEDED`.
    pub soname: String,
    /// Whether it must be placed next to the binary (false for a system library).
    pub bundled: bool,
    /// Its GNU build ID, which the note records for a placed library: another build of a
    /// library of the same name (another package's, in the same directory) is not it.
    pub build_id: Option<String>,
}

/// Collects what the compiler says, so it reaches the user in our own error or warnings.
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

/// The `cc::Build` of `lib`'s sources into `dir`: PIC, warnings on, dependency files written,
/// the library's defines and flags, and `includes` from pkg-config libraries of the build.
fn cc_build(
    lib: &Library,
    dir: &Path,
    includes: &[PathBuf],
    output: &Arc<CompilerOutput>,
) -> cc::Build {
    let mut build = cc::Build::new();
    build
        .files(&lib.sources)
        .includes(&lib.include_dirs)
        .includes(includes)
        .cpp(lib.cpp)
        .pic(true)
        .warnings(true)
        .flag("-MMD")
        .out_dir(dir)
        // The compiler's messages come back through the logger, into our error or warnings.
        .cargo_warnings(false)
        .message_logger(Some(output.clone()));
    for define in &lib.defines {
        match define.split_once('=') {
            Some((key, value)) => build.define(key, value),
            None => build.define(define, None),
        };
    }
    for flag in &lib.flags {
        build.flag(flag);
    }
    build
}

fn cc_error(lib: &Library, output: &CompilerOutput) -> impl Fn(cc::Error) -> Error {
    move |e| Error::Compile {
        library: lib.name.clone(),
        message: e.to_string(),
        compiler_output: output.take().join("\n"),
    }
}

fn io_error(path: &Path, action: &'static str) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io {
        path,
        action,
        source,
    }
}

/// Obtains what `needs` asks of `lib` in `<artifacts>/<name>/`.
pub(crate) fn obtain(
    lib: &Library,
    artifacts: &Path,
    needs: Needs,
    includes: &[PathBuf],
) -> Result<Compiled> {
    let dir = artifacts.join(&lib.name);
    std::fs::create_dir_all(&dir).map_err(io_error(&dir, "create the artifact directory"))?;
    if needs.bitcode.is_some() && !matches!(lib.origin, Origin::Sources) {
        return Err(Error::Usage(format!(
            "library `{}` is not compiled from `sources`, so it has no bitcode; remove \
             .bitcode(\"{}\")",
            lib.name, lib.name
        )));
    }
    match &lib.origin {
        Origin::Sources => compile(lib, dir, needs, includes),
        Origin::Prebuilt {
            static_lib,
            shared_lib,
        } => prebuilt(
            lib,
            dir,
            needs,
            static_lib.as_deref(),
            shared_lib.as_deref(),
        ),
        Origin::PkgConfig(package) => crate::system_library::obtain(lib, dir, needs, package),
    }
}

/// Compiles `lib`'s sources.
fn compile(lib: &Library, dir: PathBuf, needs: Needs, includes: &[PathBuf]) -> Result<Compiled> {
    let output = Arc::new(CompilerOutput::default());
    let mut build = cc_build(lib, &dir, includes, &output);
    let fail = cc_error(lib, &output);
    let archive = dir.join(lib.static_file_name());
    if needs.link_static {
        // `-bundle`: a package with a library target keeps the archive out of its rlib, so the
        // final link of every binary gets it whole.
        build
            .link_lib_modifier("+whole-archive")
            .link_lib_modifier("-bundle")
            .try_compile(&lib.static_name)
            .map_err(&fail)?;
    } else if needs.archive || needs.shared {
        // No link line: the archive is a file for the shared library or for loading at run
        // time. cc's archiver (AR, ARFLAGS) makes it.
        let objects = build.try_compile_intermediates().map_err(&fail)?;
        let mut ar = build.try_get_archiver().map_err(&fail)?;
        ar.arg("crs").arg(&archive).args(&objects);
        run(ar).map_err(|(command, output)| Error::Link {
            library: lib.name.clone(),
            command,
            output,
        })?;
    }
    let mut warnings = output.take();
    let mut shared = None;
    if needs.shared {
        // The shared library is linked from the whole archive, so both hold the same objects;
        // the compiler driver (the C++ one for C++) adds the language's runtime.
        let compiler = build.try_get_compiler().map_err(&fail)?;
        let file = dir.join(lib.shared_file_name());
        let mut link = compiler.to_command();
        link.arg("-shared")
            .arg("-Wl,--build-id")
            .arg(format!("-Wl,-soname,{}", lib.shared_file_name()))
            .arg("-o")
            .arg(&file)
            .arg("-Wl,--whole-archive")
            .arg(&archive)
            .arg("-Wl,--no-whole-archive");
        let stderr = run(link).map_err(|(command, output)| Error::Link {
            library: lib.name.clone(),
            command,
            output,
        })?;
        warnings.extend(stderr.lines().map(str::to_owned));
        shared = Some(Shared {
            build_id: crate::symbols::identity(&file)?.build_id,
            file,
            link_name: lib.shared_name.clone(),
            link_dir: Some(dir.clone()),
            soname: lib.shared_file_name(),
            bundled: true,
        });
    }
    if let Some(version) = needs.bitcode {
        compile_bitcode(lib, &dir, version, includes)?;
    }
    let mut inputs = lib.sources.clone();
    for header in dependencies(&dir)? {
        if !inputs.contains(&header) {
            inputs.push(header);
        }
    }
    Ok(Compiled {
        archive: (needs.archive || needs.link_static || needs.shared).then_some(archive),
        dir,
        inputs,
        warnings,
        shared,
        ..Compiled::default()
    })
}

/// Copies `from` into `dir` as `name`.
pub(crate) fn copy_in(from: &Path, dir: &Path, name: &str) -> Result<PathBuf> {
    let to = dir.join(name);
    std::fs::copy(from, &to).map_err(io_error(from, "copy"))?;
    Ok(to)
}

/// A prebuilt library: its files copied in under their link names, so that only this build's
/// directory is searched for them.
fn prebuilt(
    lib: &Library,
    dir: PathBuf,
    needs: Needs,
    static_lib: Option<&Path>,
    shared_lib: Option<&Path>,
) -> Result<Compiled> {
    let missing = |key: &str, linkage: &str| {
        Error::Usage(format!(
            "library `{}` has no `{key}` in the manifest, so it cannot be {linkage}; add \
             `{key} = \"PATH\"` or choose the other linkage",
            lib.name
        ))
    };
    let mut compiled = Compiled::default();
    if needs.link_static || needs.archive {
        let from = static_lib.ok_or_else(|| missing("static_lib", "linked statically"))?;
        compiled.inputs.push(from.to_path_buf());
        compiled.archive = Some(copy_in(from, &dir, &lib.static_file_name())?);
        if needs.link_static {
            compiled.static_link = Some(lib.static_name.clone());
        }
    }
    if needs.shared {
        let from = shared_lib.ok_or_else(|| missing("shared_lib", "linked dynamically"))?;
        compiled.inputs.push(from.to_path_buf());
        // Read where the manifest says it is: an error names the user's file.
        let identity = crate::symbols::identity(from)?;
        let file = copy_in(from, &dir, &lib.shared_file_name())?;
        let soname = identity.soname.unwrap_or_else(|| lib.shared_file_name());
        compiled.shared = Some(Shared {
            build_id: identity.build_id,
            file,
            link_name: lib.shared_name.clone(),
            link_dir: Some(dir.clone()),
            soname,
            bundled: true,
        });
    }
    compiled.dir = dir;
    Ok(compiled)
}

/// A prebuilt shared library linked dynamically is placed next to the binaries (and in `deps/`
/// and `examples/`) under `soname`, the name the loader matches, so the name must be a plain
/// file name and must not be a system or toolchain library's: a `libevil.so` with the SONAME
/// `libm.so.6` would be every later process's libm there, rustc's first (cargo runs it with
/// `deps/` on its library path). The system's own file under its own name is allowed: placing
/// it replaces nothing.
pub(crate) fn check_placed_name(lib: &Library, file: &Path, soname: &str) -> Result<()> {
    let plain = !soname.is_empty() && soname != "." && soname != ".." && !soname.contains('/');
    if !plain {
        return Err(Error::SonameNotAFileName {
            library: lib.name.clone(),
            file: file.to_path_buf(),
            soname: soname.to_owned(),
        });
    }
    if is_reserved_soname(soname) && !is_system_copy(file, soname) {
        return Err(Error::ReservedSoname {
            library: lib.name.clone(),
            file: file.to_path_buf(),
            soname: soname.to_owned(),
        });
    }
    Ok(())
}

/// True when `file` is, or holds the same bytes as, the library the system has as `name`.
fn is_system_copy(file: &Path, name: &str) -> bool {
    let Some(system) = find_library(name, &[]) else {
        return false;
    };
    if file.canonicalize().is_ok_and(|f| f == system) {
        return true;
    }
    let same_size = match (std::fs::metadata(file), std::fs::metadata(&system)) {
        (Ok(a), Ok(b)) => a.len() == b.len(),
        _ => false,
    };
    same_size
        && matches!(
            (std::fs::read(file), std::fs::read(&system)),
            (Ok(a), Ok(b)) if a == b
        )
}

/// Where the linker finds `file`: in `paths`, else on the C compiler's own library path
/// (`cc -print-file-name`, which prints the name alone when it finds nothing).
pub(crate) fn find_library(file: &str, paths: &[PathBuf]) -> Option<PathBuf> {
    if let Some(found) = paths.iter().map(|p| p.join(file)).find(|p| p.is_file()) {
        return Some(found);
    }
    let compiler = cc::Build::new()
        .cargo_metadata(false)
        .cargo_warnings(false)
        .try_get_compiler()
        .ok()?;
    let out = compiler
        .to_command()
        .arg(format!("-print-file-name={file}"))
        .output()
        .ok()?;
    let printed = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let path = PathBuf::from(printed);
    (path.is_absolute() && path.is_file()).then(|| path.canonicalize().unwrap_or(path))
}

/// The C compiler that writes bitcode for LLVM `version` (Debian's `clang-N`): bitcode must
/// come from the same LLVM as the JIT that reads it, or older.
fn clang(version: u32) -> String {
    format!("clang-{version}")
}

/// Compiles `lib` to LLVM `version`'s bitcode through cc (so `CFLAGS`, the target and the
/// include directories apply as for the native build) with clang-N as the compiler and
/// `-emit-llvm`, and links the parts into `<dir>/<name>.bc` with llvm-link-N.
fn compile_bitcode(
    lib: &Library,
    dir: &Path,
    version: u32,
    includes: &[PathBuf],
) -> Result<PathBuf> {
    let parts_dir = dir.join("bitcode");
    let output = Arc::new(CompilerOutput::default());
    let mut build = cc_build(lib, &parts_dir, includes, &output);
    let compiler = if lib.cpp {
        format!("clang++-{version}")
    } else {
        clang(version)
    };
    build
        .compiler(compiler)
        .flag("-emit-llvm")
        // Bitcode is for inlining into JIT code: at -O0 clang marks every function
        // `optnone noinline`, which no later optimisation undoes.
        .opt_level(2)
        .flag("-Xclang")
        .flag("-disable-O0-optnone");
    let hint = |message: String| {
        format!(
            "{message} (bitcode for LLVM {version} needs clang-{version} and llvm-link-{version}, \
             from Debian's packages clang-{version} and llvm-{version})"
        )
    };
    let parts = build
        .try_compile_intermediates()
        .map_err(|e| Error::Compile {
            library: lib.name.clone(),
            message: hint(e.to_string()),
            compiler_output: output.take().join("\n"),
        })?;
    let bitcode = dir.join(lib.bitcode_file_name());
    let mut link = Command::new(format!("llvm-link-{version}"));
    link.args(&parts).arg("-o").arg(&bitcode);
    run(link).map_err(|(command, output)| Error::Compile {
        library: lib.name.clone(),
        message: hint(format!("{command} failed")),
        compiler_output: output,
    })?;
    Ok(bitcode)
}

/// Runs `command`: Ok(what it printed on stderr), or Err((the command, why it failed)).
fn run(mut command: Command) -> std::result::Result<String, (String, String)> {
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

/// The files named by the `.d` dependency files under `dir` (written by `-MMD`).
fn dependencies(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(io_error(&dir, "list"))?;
        for entry in entries {
            let path = entry.map_err(io_error(&dir, "list"))?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "d") {
                let text = std::fs::read_to_string(&path)
                    .map_err(io_error(&path, "read the dependency file"))?;
                for file in parse_depfile(&text) {
                    let file = PathBuf::from(file);
                    if !files.contains(&file) {
                        files.push(file);
                    }
                }
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The prerequisites of a Makefile dependency file as GCC and Clang write it: continuation
/// lines joined, `\ ` an escaped space, `$$` a dollar sign, targets before the first `: `.
fn parse_depfile(text: &str) -> Vec<String> {
    let joined = text.replace("\\\r\n", " ").replace("\\\n", " ");
    let mut files = Vec::new();
    for rule in joined.lines() {
        let Some(colon) = find_rule_colon(rule) else {
            continue;
        };
        let mut word = String::new();
        let mut chars = rule[colon + 1..].chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if matches!(chars.peek(), Some(' ' | '#' | '\\')) => {
                    word.extend(chars.next());
                }
                '$' if chars.peek() == Some(&'$') => {
                    chars.next();
                    word.push('$');
                }
                c if c.is_whitespace() => {
                    if !word.is_empty() {
                        files.push(std::mem::take(&mut word));
                    }
                }
                c => word.push(c),
            }
        }
        if !word.is_empty() {
            files.push(word);
        }
    }
    files
}

/// The colon that ends a rule's targets: the first `:` followed by whitespace or the end.
fn find_rule_colon(rule: &str) -> Option<usize> {
    let bytes = rule.as_bytes();
    (0..bytes.len())
        .find(|&i| bytes[i] == b':' && bytes.get(i + 1).is_none_or(|b| b.is_ascii_whitespace()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depfiles_parse_with_continuations_and_escapes() {
        let text = "/o/a.o: /src/a.c /inc/a.h \\\n /inc/with\\ space.h /inc/d$$.h\n";
        assert_eq!(
            parse_depfile(text),
            ["/src/a.c", "/inc/a.h", "/inc/with space.h", "/inc/d$.h"]
        );
        // A target path holding a colon (not followed by a space) is not the rule's colon.
        assert_eq!(parse_depfile("C:x.o: y.h\n"), ["y.h"]);
        assert!(parse_depfile("").is_empty());
    }
}
