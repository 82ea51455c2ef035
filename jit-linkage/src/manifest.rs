//! The manifest: one TOML file that declares every C library JIT code calls into.
//!
//! ```toml
//! [[library]]
//! name = "external"                 # what build scripts call the library
//! sources = ["src/external.c"]      # relative to the manifest
//! include_dirs = ["include"]        # optional
//! static_name = "externalstatic"    # optional: lib<static_name>.a, default <name>
//! shared_name = "externaldynamic"   # optional: lib<shared_name>.so, default <name>
//! symbols = ["external_function"]   # exactly what JIT code needs from it
//! bitcode = false                   # optional: also compile to <name>.bc (clang-N)
//! ```
//!
//! Unknown keys are rejected with their name and line, and every path is checked to exist, so a
//! typo fails here, with the file named, instead of as a missing symbol at run time.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{Error, Result};

/// A parsed and checked manifest. Paths in it are absolute (resolved against the manifest's
/// directory), so it can be used from any working directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The manifest file itself.
    pub path: PathBuf,
    /// The libraries, in the order the manifest lists them.
    pub libraries: Vec<Library>,
}

/// One C library of the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Library {
    /// The name build scripts select the library by.
    pub name: String,
    /// C source files (absolute).
    pub sources: Vec<PathBuf>,
    /// Include directories (absolute).
    pub include_dirs: Vec<PathBuf>,
    /// `lib<static_name>.a` is the archive.
    pub static_name: String,
    /// `lib<shared_name>.so` is the shared library; it is also its `SONAME`.
    pub shared_name: String,
    /// The symbols JIT code needs from this library: the ones that must be exported.
    pub symbols: Vec<String>,
    /// Whether to also compile the library to LLVM bitcode (`<name>.bc`) for JIT code to
    /// import and inline.
    pub bitcode: bool,
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

    /// File name (and `SONAME`) of the shared library, e.g. `libexternaldynamic.so`.
    pub fn shared_file_name(&self) -> String {
        format!("lib{}.so", self.shared_name)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    library: Vec<RawLibrary>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLibrary {
    name: String,
    sources: Vec<PathBuf>,
    #[serde(default)]
    include_dirs: Vec<PathBuf>,
    static_name: Option<String>,
    shared_name: Option<String>,
    symbols: Vec<String>,
    #[serde(default)]
    bitcode: bool,
}

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
            let name = lib.name;
            check_name("name", &name).map_err(&invalid)?;
            if !names.insert(name.clone()) {
                return Err(invalid(format!(
                    "library `{name}` is declared twice; library names must be unique"
                )));
            }
            let static_name = lib.static_name.unwrap_or_else(|| name.clone());
            let shared_name = lib.shared_name.unwrap_or_else(|| name.clone());
            check_name("static_name", &static_name).map_err(&invalid)?;
            check_name("shared_name", &shared_name).map_err(&invalid)?;
            for file in [format!("{static_name}.a"), format!("{shared_name}.so")] {
                if !file_names.insert(file.clone()) {
                    return Err(invalid(format!(
                        "library `{name}`: lib{file} is produced by another library too"
                    )));
                }
            }
            if lib.sources.is_empty() {
                return Err(invalid(format!(
                    "library `{name}` has no sources; list its C files in `sources`"
                )));
            }
            let mut sources = Vec::with_capacity(lib.sources.len());
            for source in lib.sources {
                let full = base.join(&source);
                if !full.is_file() {
                    return Err(Error::MissingSource {
                        manifest: path.to_path_buf(),
                        library: name.clone(),
                        source_path: full,
                    });
                }
                sources.push(full);
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
            libraries.push(Library {
                name,
                sources,
                include_dirs,
                static_name,
                shared_name,
                symbols: lib.symbols,
                bitcode: lib.bitcode,
            });
        }
        Ok(Manifest {
            path: path.to_path_buf(),
            libraries,
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
        for (text, expected) in cases {
            let err = Manifest::parse(&text, &path).unwrap_err().to_string();
            assert!(err.contains(expected), "expected {expected:?} in: {err}");
        }
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
