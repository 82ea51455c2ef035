//! The manifest: one TOML file that declares every C library JIT code calls into. Its keys are
//! documented on [`Manifest`], the public type it parses into.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{Error, Result};

/// The manifest: one TOML file that declares every C library JIT code calls into, parsed and
/// checked. Paths in it are absolute (resolved against the manifest's directory), so it can be
/// used from any working directory.
///
/// # The file
///
/// One `[[library]]` table per library. A library comes from sources it compiles, from prebuilt
/// files, or from pkg-config: exactly one of `sources`, `static_lib`/`shared_lib` and
/// `pkg_config`.
///
/// | key | applies to | meaning |
/// |---|---|---|
/// | `name` | every library (required) | what build scripts select it by (`.link_static("name")`); letters, digits, `_`, `-` |
/// | `symbols` | every library (required) | exactly the functions and globals JIT code needs from it: the ones exported (static link), proven defined before anything is linked, and recorded in the binary's note |
/// | `sources` | compiled | C files, or C++ (`.cpp`, `.cc`, `.cxx`, `.C`, `.c++`; `extern "C"` exports), or glob patterns, relative to the manifest; each must match a file; C and C++ are not mixed in one library |
/// | `include_dirs` | compiled | include directories, relative to the manifest |
/// | `defines` | compiled | `NAME` or `NAME=VALUE`, for the native and the bitcode compile |
/// | `flags` | compiled | more compiler flags, for both |
/// | `static_name` | compiled | the archive is `lib<static_name>.a` (default: `name`) |
/// | `shared_name` | compiled | the shared library is `lib<shared_name>.so`, also its SONAME (default: `name`) |
/// | `bitcode` | compiled | `true`: also compile to LLVM bitcode, `<name>.bc`, with clang-N of the JIT's LLVM (default `false`; a build script asks for it with `.bitcode("name")`) |
/// | `static_lib` | prebuilt | a `lib<NAME>.a`, for `.link_static` |
/// | `shared_lib` | prebuilt | a `lib<NAME>.so[.VERSION]`, for `.link_dynamic`: placed next to the binaries under its SONAME, which must not be a system library's (unless the file is the system's own) |
/// | `pkg_config` | system library | the pkg-config package (its `<package>.pc`): `--static` for a static link; its include paths reach the compiled libraries of the same build |
///
/// ```toml
/// [[library]]
/// name = "external"
/// sources = ["src/*.c"]
/// include_dirs = ["include"]
/// defines = ["NDEBUG", "LEVEL=2"]
/// flags = ["-Wno-unused"]
/// static_name = "externalstatic"
/// shared_name = "externaldynamic"
/// symbols = ["external_function"]
/// bitcode = false
///
/// [[library]]
/// name = "zlib"
/// static_lib = "vendor/libz.a"
/// shared_lib = "vendor/libz.so"
/// symbols = ["zlibVersion", "crc32"]
///
/// [[library]]
/// name = "sqlite"
/// pkg_config = "sqlite3"
/// symbols = ["sqlite3_libversion"]
/// ```
///
/// One optional `[jit]` table says what the binaries' JIT code needs beyond the libraries:
///
/// | key | meaning |
/// |---|---|
/// | `debugger` | `true`: a debugger is to see the JIT code (orc-jit's `JitBuilder::debugger`). With LLVM linked into the binary statically (`llvm<N>-static`; orc-jit tells the build through `DEP_ORC_JIT_LLVM_STATIC`, or [`crate::Build::llvm_static`]), the build then exports exactly what gdb and LLVM's registrar look up: `__jit_debug_register_code`, `__jit_debug_descriptor`, `llvm_orc_registerJITLoaderGDBWrapper` (LLVM 14 to 19 only; a name the binary does not define is not exported), `llvm_orc_registerJITLoaderGDBAllocAction` (gdb finds the first two through `.symtab`, gone once the binary is stripped, or `.dynsym`; LLVM's JITLink debug support looks the others up as the process's dynamic symbols). With the shared libLLVM, which exports them, nothing is added. Default `false`; a build script can also ask with [`crate::Build::debugger`] |
///
/// ```toml
/// [jit]
/// debugger = true
/// ```
///
/// Unknown keys are rejected with their name and line, a key that does not apply to the
/// library's kind is refused by name, every path is checked to exist and every glob to match,
/// and an artifact name that would shadow a system or toolchain library (`shared_name = "m"`)
/// is refused: a typo fails here, with the file named, instead of as a missing symbol at run
/// time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The manifest file itself.
    pub path: PathBuf,
    /// The libraries, in the order the manifest lists them.
    pub libraries: Vec<Library>,
    /// `debugger` of the `[jit]` table: the binaries' JIT code is to be seen by a debugger.
    pub debugger: bool,
}

/// One C library of the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Library {
    /// The name build scripts select the library by.
    pub name: String,
    /// Where the library comes from.
    pub origin: Origin,
    /// Source files (absolute, globs expanded); empty unless compiled.
    pub sources: Vec<PathBuf>,
    /// The directories of the glob patterns in `sources`: a file added there changes the set.
    pub source_dirs: Vec<PathBuf>,
    /// Include directories (absolute).
    pub include_dirs: Vec<PathBuf>,
    /// Preprocessor definitions: `NAME` or `NAME=VALUE`.
    pub defines: Vec<String>,
    /// More compiler flags.
    pub flags: Vec<String>,
    /// The sources are C++ (the shared library links with the C++ driver, a static link adds
    /// the C++ runtime).
    pub cpp: bool,
    /// `lib<static_name>.a` is the archive.
    pub static_name: String,
    /// `lib<shared_name>.so` is the shared library (for a compiled one, also its `SONAME`).
    pub shared_name: String,
    /// The symbols JIT code needs from this library: the ones that must be exported.
    pub symbols: Vec<String>,
    /// Whether to also compile the library to LLVM bitcode (`<name>.bc`) for JIT code to
    /// import and inline.
    pub bitcode: bool,
}

/// Where a library comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Compiled from `sources` with cc.
    Sources,
    /// Prebuilt files (`static_lib`, `shared_lib`; at least one).
    Prebuilt {
        /// The archive, for a static link.
        static_lib: Option<PathBuf>,
        /// The shared library, for a dynamic link.
        shared_lib: Option<PathBuf>,
    },
    /// A system library found by pkg-config under this package name.
    PkgConfig(String),
}

impl Library {
    /// File name of the static archive, e.g. `libexternalstatic.a`.
    pub fn static_file_name(&self) -> String {
        format!("lib{}.a", self.static_name)
    }

    /// File name of the bitcode, e.g. `wrapped.bc` (when `bitcode = true`).
    pub fn bitcode_file_name(&self) -> String {
        format!("{}.bc", self.name)
    }

    /// File name of the shared library, e.g. `libexternaldynamic.so`.
    pub fn shared_file_name(&self) -> String {
        format!("lib{}.so", self.shared_name)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    library: Vec<RawLibrary>,
    #[serde(default)]
    jit: RawJit,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawJit {
    #[serde(default)]
    debugger: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLibrary {
    name: String,
    sources: Option<Vec<String>>,
    static_lib: Option<PathBuf>,
    shared_lib: Option<PathBuf>,
    pkg_config: Option<String>,
    #[serde(default)]
    include_dirs: Vec<PathBuf>,
    #[serde(default)]
    defines: Vec<String>,
    #[serde(default)]
    flags: Vec<String>,
    static_name: Option<String>,
    shared_name: Option<String>,
    symbols: Vec<String>,
    #[serde(default)]
    bitcode: bool,
}

/// Names of libraries every C or C++ program links, or that the toolkit itself loads: an
/// artifact with one of these names would shadow it (`shared_name = "m"` replaced libm).
pub(crate) const RESERVED: &[&str] = &[
    "c", "m", "dl", "rt", "pthread", "util", "resolv", "crypt", "gcc", "gcc_s", "stdc++", "c++",
    "atomic", "LLVM", "ffi", "z", "zstd", "tinfo", "xml2", "edit",
];

/// True when `lib<name>` would shadow a system or toolchain library by its name alone.
pub(crate) fn is_reserved(name: &str) -> bool {
    RESERVED.contains(&name)
        || name
            .strip_prefix("LLVM-")
            .or_else(|| name.strip_prefix("LLVM."))
            .is_some_and(|v| !v.is_empty())
}

/// True when a shared library known to the loader as `soname` would shadow a system or
/// toolchain library: `lib<NAME>.so[.VERSION]` for a reserved NAME (`libm.so.6`,
/// `libLLVM.so.22.1`), or the dynamic loader itself (`ld-linux-x86-64.so.2`, `ld.so.1`).
pub(crate) fn is_reserved_soname(soname: &str) -> bool {
    if soname.starts_with("ld-") || soname.starts_with("ld.so") {
        return true;
    }
    let Some(rest) = soname.strip_prefix("lib") else {
        return false;
    };
    let Some(at) = rest.find(".so") else {
        return false;
    };
    let after = &rest[at + ".so".len()..];
    (after.is_empty() || after.starts_with('.')) && is_reserved(&rest[..at])
}

const CPP_EXTENSIONS: &[&str] = &["cpp", "cc", "cxx", "C", "c++"];

impl Manifest {
    /// Reads and checks the manifest at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Manifest> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            action: "read the manifest",
            source,
        })?;
        // Resolve relative paths against the manifest's own directory, whatever the cwd is.
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        Manifest::parse(&text, &path)
    }

    /// Parses manifest text as if it had been read from `path` (used for paths and messages).
    pub fn parse(text: &str, path: &Path) -> Result<Manifest> {
        let raw: RawManifest = toml::from_str(text).map_err(|e| Error::Manifest {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let invalid = |message: String| Error::Manifest {
            path: path.to_path_buf(),
            message,
        };

        let mut names = BTreeSet::new();
        let mut file_names = BTreeSet::new();
        let mut all_symbols = BTreeSet::new();
        let mut libraries = Vec::with_capacity(raw.library.len());
        if raw.library.is_empty() {
            return Err(invalid(
                "no [[library]] is declared; add one with name, sources and symbols".into(),
            ));
        }
        for lib in raw.library {
            let name = lib.name.clone();
            check_name("name", &name).map_err(&invalid)?;
            if !names.insert(name.clone()) {
                return Err(invalid(format!(
                    "library `{name}` is declared twice; library names must be unique"
                )));
            }
            let kinds = [
                lib.sources.is_some(),
                lib.static_lib.is_some() || lib.shared_lib.is_some(),
                lib.pkg_config.is_some(),
            ];
            match kinds.iter().filter(|k| **k).count() {
                1 => {}
                0 => {
                    return Err(invalid(format!(
                        "library `{name}` says nowhere where it comes from: give `sources` (C or \
                         C++ files to compile), `static_lib`/`shared_lib` (prebuilt files) or \
                         `pkg_config` (a system library)"
                    )));
                }
                _ => {
                    return Err(invalid(format!(
                        "library `{name}` has more than one of `sources`, \
                         `static_lib`/`shared_lib` and `pkg_config`; a library comes from one"
                    )));
                }
            }
            if lib.symbols.is_empty() {
                return Err(invalid(format!(
                    "library `{name}` lists no symbols; list the functions and globals JIT code \
                     needs in `symbols`"
                )));
            }
            for symbol in &lib.symbols {
                if !is_c_identifier(symbol) {
                    return Err(invalid(format!(
                        "library `{name}`: `{symbol}` is not a C identifier"
                    )));
                }
                if !all_symbols.insert(symbol.clone()) {
                    return Err(invalid(format!(
                        "symbol `{symbol}` is listed twice; each symbol belongs to one library"
                    )));
                }
            }
            let library = if lib.sources.is_some() {
                compiled(lib, base, path, &invalid)?
            } else {
                external(lib, base, &invalid)?
            };
            if matches!(library.origin, Origin::Sources) {
                for (key, value) in [
                    ("static_name", &library.static_name),
                    ("shared_name", &library.shared_name),
                ] {
                    if is_reserved(value) {
                        return Err(invalid(format!(
                            "library `{name}`: `{key} = \"{value}\"` would make lib{value}, \
                             the name of a system or toolchain library, and shadow it in every \
                             link and at run time; choose another name"
                        )));
                    }
                }
                for file in [library.static_file_name(), library.shared_file_name()] {
                    if !file_names.insert(file.clone()) {
                        return Err(invalid(format!(
                            "library `{name}`: {file} is produced by another library too"
                        )));
                    }
                }
            }
            libraries.push(library);
        }
        Ok(Manifest {
            path: path.to_path_buf(),
            libraries,
            debugger: raw.jit.debugger,
        })
    }

    /// The library called `name`, or an error listing the ones there are.
    pub fn library(&self, name: &str) -> Result<&Library> {
        self.libraries
            .iter()
            .find(|lib| lib.name == name)
            .ok_or_else(|| Error::UnknownLibrary {
                manifest: self.path.clone(),
                name: name.to_owned(),
                known: self
                    .libraries
                    .iter()
                    .map(|l| l.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// A library compiled from `sources`.
fn compiled(
    lib: RawLibrary,
    base: &Path,
    manifest: &Path,
    invalid: &impl Fn(String) -> Error,
) -> Result<Library> {
    let name = lib.name;
    let patterns = lib.sources.unwrap_or_default();
    if patterns.is_empty() {
        return Err(invalid(format!(
            "library `{name}` has no sources; list its C or C++ files in `sources`"
        )));
    }
    let mut sources = Vec::new();
    let mut source_dirs = Vec::new();
    for pattern in patterns {
        let full = base.join(&pattern);
        if !pattern.contains(['*', '?', '[']) {
            if !full.is_file() {
                return Err(Error::MissingSource {
                    manifest: manifest.to_path_buf(),
                    library: name.clone(),
                    source_path: full,
                });
            }
            sources.push(full);
            continue;
        }
        let text = full.to_string_lossy().into_owned();
        let matches = glob::glob(&text).map_err(|e| {
            invalid(format!(
                "library `{name}`: source pattern `{pattern}` is not a valid glob: {e}"
            ))
        })?;
        let mut found: Vec<PathBuf> = matches
            .filter_map(std::result::Result::ok)
            .filter(|p| p.is_file())
            .collect();
        if found.is_empty() {
            return Err(invalid(format!(
                "library `{name}`: source pattern `{pattern}` matches no file (looked for {text}); \
                 fix the pattern or add the files"
            )));
        }
        found.sort();
        sources.extend(found);
        // The directory the pattern lists (up to its first wildcard), watched for new files.
        let fixed: PathBuf = Path::new(&pattern)
            .components()
            .take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '[']))
            .collect();
        source_dirs.push(base.join(fixed));
    }
    sources.dedup();
    let is_cpp = |p: &PathBuf| {
        p.extension()
            .is_some_and(|e| CPP_EXTENSIONS.iter().any(|c| e == *c))
    };
    let cpp = sources.iter().any(is_cpp);
    if cpp && !sources.iter().all(is_cpp) {
        return Err(invalid(format!(
            "library `{name}` mixes C and C++ sources; the C++ compiler would compile the C files \
             as C++. Make two libraries, one of each"
        )));
    }
    let mut include_dirs = Vec::with_capacity(lib.include_dirs.len());
    for dir in lib.include_dirs {
        let full = base.join(&dir);
        if !full.is_dir() {
            return Err(invalid(format!(
                "library `{name}`: include directory {} does not exist",
                full.display()
            )));
        }
        include_dirs.push(full);
    }
    for define in &lib.defines {
        let key = define.split('=').next().unwrap_or("");
        if !is_c_identifier(key) {
            return Err(invalid(format!(
                "library `{name}`: define `{define}` is not `NAME` or `NAME=VALUE` with a C \
                 identifier for NAME"
            )));
        }
    }
    let static_name = lib.static_name.unwrap_or_else(|| name.clone());
    let shared_name = lib.shared_name.unwrap_or_else(|| name.clone());
    check_name("static_name", &static_name).map_err(invalid)?;
    check_name("shared_name", &shared_name).map_err(invalid)?;
    Ok(Library {
        name,
        origin: Origin::Sources,
        sources,
        source_dirs,
        include_dirs,
        defines: lib.defines,
        flags: lib.flags,
        cpp,
        static_name,
        shared_name,
        symbols: lib.symbols,
        bitcode: lib.bitcode,
    })
}

/// A prebuilt or pkg-config library: nothing to compile, so no compile settings.
fn external(lib: RawLibrary, base: &Path, invalid: &impl Fn(String) -> Error) -> Result<Library> {
    let name = lib.name;
    let compile_only = [
        ("include_dirs", !lib.include_dirs.is_empty()),
        ("defines", !lib.defines.is_empty()),
        ("flags", !lib.flags.is_empty()),
        ("static_name", lib.static_name.is_some()),
        ("shared_name", lib.shared_name.is_some()),
        ("bitcode", lib.bitcode),
    ];
    if let Some((key, _)) = compile_only.iter().find(|(_, set)| *set) {
        return Err(invalid(format!(
            "library `{name}`: `{key}` applies to a library compiled from `sources`; this one \
             comes prebuilt or from pkg-config. Remove `{key}`"
        )));
    }
    if let Some(package) = lib.pkg_config {
        if package.is_empty() || package.contains(char::is_whitespace) {
            return Err(invalid(format!(
                "library `{name}`: `pkg_config = \"{package}\"` is not a package name"
            )));
        }
        return Ok(Library {
            static_name: package.clone(),
            shared_name: package.clone(),
            name,
            origin: Origin::PkgConfig(package),
            sources: Vec::new(),
            source_dirs: Vec::new(),
            include_dirs: Vec::new(),
            defines: Vec::new(),
            flags: Vec::new(),
            cpp: false,
            symbols: lib.symbols,
            bitcode: false,
        });
    }
    let link_name = |key: &str, file: &Option<PathBuf>, suffix: &str| -> Result<_> {
        let Some(file) = file else {
            return Ok((None, None));
        };
        let full = base.join(file);
        if !full.is_file() {
            return Err(invalid(format!(
                "library `{name}`: `{key} = \"{}\"`: {} does not exist (paths are relative to \
                 the manifest); fix the path or build the library first",
                file.display(),
                full.display()
            )));
        }
        let file_name = full
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        // libz.a -> z; libz.so, libz.so.1.3 -> z
        let stem = file_name
            .strip_prefix("lib")
            .and_then(|rest| match suffix {
                ".a" => rest.strip_suffix(".a"),
                _ => rest.find(".so").map(|i| &rest[..i]).filter(|_| {
                    let after = &rest[rest.find(".so").unwrap_or(0) + 3..];
                    after.is_empty() || after.starts_with('.')
                }),
            })
            .filter(|s| !s.is_empty());
        match stem {
            Some(stem) => {
                check_name(key, stem).map_err(invalid)?;
                Ok((Some(full.clone()), Some(stem.to_owned())))
            }
            None => Err(invalid(format!(
                "library `{name}`: `{key}` must name a file called lib<NAME>{suffix} (the linker \
                 finds libraries by that name), not {file_name}"
            ))),
        }
    };
    let (static_lib, static_stem) = link_name("static_lib", &lib.static_lib, ".a")?;
    let (shared_lib, shared_stem) = link_name("shared_lib", &lib.shared_lib, ".so")?;
    Ok(Library {
        static_name: static_stem
            .clone()
            .or(shared_stem.clone())
            .unwrap_or_default(),
        shared_name: shared_stem.or(static_stem).unwrap_or_default(),
        name,
        origin: Origin::Prebuilt {
            static_lib,
            shared_lib,
        },
        sources: Vec::new(),
        source_dirs: Vec::new(),
        include_dirs: Vec::new(),
        defines: Vec::new(),
        flags: Vec::new(),
        cpp: false,
        symbols: lib.symbols,
        bitcode: false,
    })
}

fn check_name(key: &str, value: &str) -> std::result::Result<(), String> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{key} = \"{value}\"`: use letters, digits, `_` and `-` only (it becomes a file name \
             and a linker `-l` argument)"
        ))
    }
}

fn is_c_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A manifest in a temporary directory with one real source file.
    fn fixture(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("jit-linkage-manifest-{test}"));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join("src/a.c"), "int a(void) { return 1; }\n").unwrap();
        dir.join("libraries.toml")
    }

    /// Each manifest text is refused with an error containing its expected words.
    fn assert_rejected(path: &Path, cases: &[(String, &str)]) {
        for (text, expected) in cases {
            let err = Manifest::parse(text, path).unwrap_err().to_string();
            assert!(err.contains(expected), "expected {expected:?} in: {err}");
        }
    }

    const GOOD: &str = r#"
[[library]]
name = "a"
sources = ["src/a.c"]
symbols = ["a"]
"#;

    #[test]
    fn parses_and_resolves_paths_against_the_manifest() {
        let path = fixture("good");
        let manifest = Manifest::parse(GOOD, &path).unwrap();
        let lib = manifest.library("a").unwrap();
        assert_eq!(lib.sources, vec![path.parent().unwrap().join("src/a.c")]);
        assert_eq!(lib.static_file_name(), "liba.a");
        assert_eq!(lib.shared_file_name(), "liba.so");
        assert_eq!(lib.symbols, vec!["a".to_owned()]);
    }

    #[test]
    fn rejects_unknown_key_with_its_name_and_line() {
        let path = fixture("unknown-key");
        let text = GOOD.replace("symbols", "sybmols = [\"x\"]\nsymbols");
        let err = Manifest::parse(&text, &path).unwrap_err().to_string();
        assert!(err.contains("sybmols"), "{err}");
        assert!(err.contains("line 5"), "{err}");
        assert!(err.contains("libraries.toml"), "{err}");
    }

    #[test]
    fn names_the_missing_source_file() {
        let path = fixture("missing-source");
        let text = GOOD.replace("src/a.c", "src/nope.c");
        let err = Manifest::parse(&text, &path).unwrap_err();
        assert!(matches!(err, Error::MissingSource { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("src/nope.c"), "{msg}");
        assert!(msg.contains("libraries.toml"), "{msg}");
    }

    #[test]
    fn rejects_bad_values() {
        let path = fixture("bad-values");
        let cases = [
            (GOOD.replace("[\"a\"]\n", "[]\n"), "lists no symbols"),
            (
                GOOD.replace("symbols = [\"a\"]", "symbols = [\"a b\"]"),
                "not a C identifier",
            ),
            (
                GOOD.replace("name = \"a\"", "name = \"a/b\""),
                "letters, digits",
            ),
            (format!("{GOOD}{GOOD}"), "declared twice"),
            ("library = []".to_owned(), "no [[library]]"),
            (
                GOOD.replace("sources = [\"src/a.c\"]", "sources = []"),
                "no sources",
            ),
            (GOOD.replace("name = \"a\"\n", ""), "missing field `name`"),
            ("[[library]\n".to_owned(), "line 1"),
        ];
        assert_rejected(&path, &cases);
    }

    #[test]
    fn sources_take_globs_defines_flags_and_cpp() {
        let path = fixture("globs");
        let dir = path.parent().unwrap();
        std::fs::write(dir.join("src/b.c"), "int b(void) { return 2; }\n").unwrap();
        std::fs::create_dir_all(dir.join("cpp")).unwrap();
        std::fs::write(
            dir.join("cpp/w.cpp"),
            "extern \"C\" int w() { return 3; }\n",
        )
        .unwrap();
        let text = GOOD.replace(
            "[\"src/a.c\"]",
            "[\"src/*.c\"]\ndefines = [\"X\", \"Y=2\"]\nflags = [\"-Wall\"]",
        );
        let manifest = Manifest::parse(&text, &path).unwrap();
        let lib = manifest.library("a").unwrap();
        assert_eq!(lib.sources, [dir.join("src/a.c"), dir.join("src/b.c")]);
        // A file added to src/ later changes the set: the build watches the directory.
        assert_eq!(lib.source_dirs, [dir.join("src")]);
        assert_eq!(lib.defines, ["X", "Y=2"]);
        assert_eq!(lib.flags, ["-Wall"]);
        assert!(!lib.cpp);
        let cpp = GOOD.replace("[\"src/a.c\"]", "[\"cpp/*.cpp\"]");
        assert!(Manifest::parse(&cpp, &path).unwrap().libraries[0].cpp);
        let cases = [
            (GOOD.replace("src/a.c", "src/*.cxx"), "matches no file"),
            (
                GOOD.replace("[\"src/a.c\"]", "[\"src/a.c\", \"cpp/w.cpp\"]"),
                "mixes C and C++",
            ),
            (
                GOOD.replace("symbols", "defines = [\"1X\"]\nsymbols"),
                "define `1X`",
            ),
            (
                GOOD.replace("symbols", "shared_name = \"m\"\nsymbols"),
                "shadow it",
            ),
            (
                GOOD.replace("symbols", "static_name = \"LLVM-22\"\nsymbols"),
                "shadow it",
            ),
        ];
        assert_rejected(&path, &cases);
    }

    #[test]
    fn prebuilt_and_pkg_config_libraries_are_checked_for_what_applies_to_them() {
        let path = fixture("prebuilt");
        let dir = path.parent().unwrap();
        std::fs::write(dir.join("libz.a"), "!<arch>\n").unwrap();
        std::fs::write(dir.join("libz.so.1.3"), "").unwrap();
        let prebuilt = "[[library]]\nname = \"zlib\"\nstatic_lib = \"libz.a\"\n\
                        shared_lib = \"libz.so.1.3\"\nsymbols = [\"crc32\"]\n";
        let manifest = Manifest::parse(prebuilt, &path).unwrap();
        let lib = manifest.library("zlib").unwrap();
        assert_eq!(
            (lib.static_name.as_str(), lib.shared_name.as_str()),
            ("z", "z")
        );
        assert!(matches!(
            &lib.origin,
            Origin::Prebuilt {
                static_lib: Some(_),
                shared_lib: Some(_)
            }
        ));
        let pkg = "[[library]]\nname = \"sqlite\"\npkg_config = \"sqlite3\"\nsymbols = [\"s\"]\n";
        let manifest = Manifest::parse(pkg, &path).unwrap();
        assert_eq!(
            manifest.libraries[0].origin,
            Origin::PkgConfig("sqlite3".into())
        );
        let cases = [
            (
                prebuilt.replace("libz.a", "nope/libz.a"),
                "`static_lib = \"nope/libz.a\"`",
            ),
            (prebuilt.replace("libz.so.1.3", "libz.a"), "lib<NAME>.so"),
            (
                prebuilt.replace("symbols", "defines = [\"X\"]\nsymbols"),
                "`defines` applies to a library compiled from `sources`",
            ),
            (
                prebuilt.replace("symbols", "pkg_config = \"zlib\"\nsymbols"),
                "more than one of",
            ),
            (
                "[[library]]\nname = \"x\"\nsymbols = [\"s\"]\n".to_owned(),
                "says nowhere where it comes from",
            ),
            (pkg.replace("sqlite3", "has space"), "not a package name"),
        ];
        assert_rejected(&path, &cases);
    }

    #[test]
    fn sonames_of_system_and_toolchain_libraries_are_reserved() {
        for reserved in [
            "libm.so.6",
            "libc.so.6",
            "libm.so",
            "libstdc++.so.6",
            "libgcc_s.so.1",
            "libz.so.1",
            "libLLVM.so.22.1",
            "libLLVM-14.so.1",
            "ld-linux-x86-64.so.2",
            "ld.so.1",
        ] {
            assert!(is_reserved_soname(reserved), "{reserved}");
        }
        for own in [
            "libevil.so",
            "libmath.so.6",
            "libm2.so",
            "libm.something.so",
            "m.so.6",
            "lib.so",
            "libwords.so",
        ] {
            assert!(!is_reserved_soname(own), "{own}");
        }
    }

    #[test]
    fn the_jit_table_asks_for_a_debugger_and_nothing_unknown() {
        let path = fixture("jit-table");
        assert!(!Manifest::parse(GOOD, &path).unwrap().debugger);
        let debugged = format!("[jit]\ndebugger = true\n{GOOD}");
        assert!(Manifest::parse(&debugged, &path).unwrap().debugger);
        let err = Manifest::parse(&format!("[jit]\ndebuger = true\n{GOOD}"), &path)
            .unwrap_err()
            .to_string();
        assert!(err.contains("debuger") && err.contains("line 2"), "{err}");
    }

    #[test]
    fn unknown_library_lists_the_known_ones() {
        let path = fixture("unknown-lib");
        let manifest = Manifest::parse(GOOD, &path).unwrap();
        let err = manifest.library("b").unwrap_err().to_string();
        assert!(err.contains("`b`") && err.contains("known: a"), "{err}");
    }

    #[test]
    fn load_names_an_unreadable_manifest() {
        let err = Manifest::load("/nonexistent/libraries.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/libraries.toml"), "{err}");
    }
}
