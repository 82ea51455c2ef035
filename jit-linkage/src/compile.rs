//! A manifest library compiled from its sources inside a build script.
//!
//! Compiled libraries go through the `cc` crate doing what it does: it reads `CC`, `CFLAGS`,
//! `TARGET`, `OPT_LEVEL`... itself, prints the `rerun-if-env-changed` lines for what it read,
//! and for a statically linked library prints the `rustc-link-lib` line with the
//! `+whole-archive` and `-bundle` modifiers (and the C++ runtime for C++ sources). (Prebuilt
//! files are copied in by `prebuilt.rs`; pkg-config libraries are found by
//! `system_library.rs`.)
//!
//! Each library gets its own directory, `<artifact dir>/<name>/`, holding `lib<static_name>.a`,
//! `lib<shared_name>.so` and `<name>.bc`. Objects are compiled with `-MMD`, and the headers the
//! compiler reports are inputs of the build, so cargo re-runs the build script when one changes.

use std::any::Any;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use cc::{BuildMessage, BuildMessageKind, BuildMessageLogger};

use crate::artifact::{Compiled, Needs, Shared, io_error};
use crate::manifest::Library;
use crate::{Error, Result};

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

/// Compiles `lib`'s sources.
pub(crate) fn compile(
    lib: &Library,
    dir: PathBuf,
    needs: Needs,
    includes: &[PathBuf],
) -> Result<Compiled> {
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
