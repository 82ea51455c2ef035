//! What to tell someone whose JIT code needs a symbol that nothing exports, from what the
//! binary's note says of the manifest: the same sentences from verify-symbols' answers and from
//! orc-jit's `Error::MissingSymbols`.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::elf::{self, Export, Tables};
use crate::note::{self, Note};
use crate::reader::FileReader;
use crate::similar;

/// What is known of one name the JIT did not find.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Missing<'a> {
    /// The name.
    pub name: &'a str,
    /// The binary defines it (in `.symtab`, or hidden in `.dynsym`) without exporting it.
    pub defined_in_binary: bool,
    /// Exported names of the process (or load graph) close to it, closest first.
    pub close: Vec<String>,
}

/// Sentences leading from `missing` back to the manifest, from the binary's `note` (none
/// when the binary carries no note and no name is close): a name listed by a manifest library
/// that the build script does not link; a name the binary defines but the manifest does not
/// list (a statically linked library exports only what it lists); a close name that is
/// exported ("did you mean").
pub fn explain(note: Option<&Note>, missing: &Missing<'_>) -> Option<String> {
    let name = missing.name;
    let mut said = Vec::new();
    if let Some(note) = note {
        let manifest = note.manifest_name();
        if let Some(library) = note.unlinked_library_of(name) {
            said.push(format!(
                "`{name}` is in `symbols` of library `{lib}` in {manifest}, but the build script \
                 (build.rs) does not link `{lib}`: add `.link_static(\"{lib}\")` or \
                 `.link_dynamic(\"{lib}\")` to its jit_linkage::Build",
                lib = library.library
            ));
        } else if note.symbol(name).is_none() {
            let statics = note.static_libraries();
            let listing = match statics.as_slice() {
                [] => String::new(),
                [one] => format!(" (library `{one}` is linked statically)"),
                more => format!(
                    " (linked statically: {})",
                    more.iter()
                        .map(|l| format!("`{l}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            if missing.defined_in_binary {
                said.push(format!(
                    "the binary defines `{name}` but does not export it: it is not in the \
                     `symbols` of any library of {manifest}, and a library linked statically \
                     exports only the symbols listed there{listing}. Add `{name}` to the \
                     `symbols` of the library that defines it"
                ));
            } else if missing.close.is_empty() {
                said.push(format!(
                    "`{name}` is not in the `symbols` of any library of {manifest}: if a C \
                     library of the manifest defines it, add it to that library's `symbols`{listing}"
                ));
            }
        }
    }
    if !missing.close.is_empty() {
        let close: Vec<String> = missing.close.iter().map(|c| format!("`{c}`")).collect();
        said.push(format!(
            "did you mean {}? (exported, and close to `{name}`: check the name in the module)",
            close.join(" or ")
        ));
    }
    (!said.is_empty()).then(|| said.join("; "))
}

/// The advice for each of `names` that this process's JIT did not find ([`for_program`] of
/// this process's own executable and the files it has mapped), `None` when there is none.
/// Linux: `/proc/self/exe` and `/proc/self/maps`.
pub fn for_this_process(names: &[String]) -> Option<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    for_program(Path::new("/proc/self/exe"), &mapped_files(&maps), names)
}

/// The files a process has mapped, from its `/proc/PID/maps`: each once, in order.
pub fn mapped_files(maps: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = Vec::new();
    for line in maps.lines() {
        // address perms offset device inode path (the path may hold spaces)
        let mut fields = line.splitn(6, ' ');
        let Some(path) = fields.nth(5).map(str::trim_start) else {
            continue;
        };
        if path.starts_with('/') && !files.iter().any(|f| f == Path::new(path)) {
            files.push(PathBuf::from(path));
        }
    }
    files
}

/// The names the file `object` exports, read once per process for each file (a process asks
/// again for each missing symbol, and its large libraries, such as libLLVM's 57,000 names,
/// take a tenth of a second to read).
fn exported_by(object: &Path) -> Vec<String> {
    type Read = Vec<(PathBuf, Vec<String>)>;
    static READ: std::sync::Mutex<Read> = std::sync::Mutex::new(Vec::new());
    let mut read = READ.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, names)) = read.iter().find(|(p, _)| p == object) {
        return names.clone();
    }
    let names: Vec<String> = File::open(object)
        .and_then(FileReader::new)
        .ok()
        .and_then(|data| elf::definitions(&data).ok())
        .map(|d| d.exported().map(str::to_owned).collect())
        .unwrap_or_default();
    read.push((object.to_path_buf(), names.clone()));
    names
}

/// The advice for each of `names` that the JIT of `program` did not find, whose process has
/// `objects` loaded: from the program's note (manifest libraries not linked, names not listed),
/// whether the program defines the name without exporting it, and the exported names of the
/// objects and of the note that are close to it. One sentence a name that has advice, joined.
pub fn for_program(program: &Path, objects: &[PathBuf], names: &[String]) -> Option<String> {
    let note = note::read_file(program).ok().flatten();
    let asked: Vec<&str> = names.iter().map(String::as_str).collect();
    let seen = File::open(program)
        .and_then(FileReader::new)
        .ok()
        .and_then(|data| {
            elf::read(&data, &asked, Tables::WithSymtab)
                .ok()
                .map(|(_, seen)| seen)
        })
        .unwrap_or_default();
    let mut exported: Vec<String> = note
        .iter()
        .flat_map(|n| n.symbols.iter().map(|s| s.symbol.clone()))
        .collect();
    for object in objects {
        exported.extend(exported_by(object));
    }
    exported.sort_unstable();
    exported.dedup();
    let said: Vec<String> = asked
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            let defined_in_binary = seen
                .get(i)
                .is_some_and(|s| matches!(s.export(), Export::Hidden | Export::NotExported));
            let missing = Missing {
                name,
                defined_in_binary,
                close: similar::closest(name, exported.iter().map(String::as_str)),
            };
            explain(note.as_ref(), &missing)
        })
        .collect();
    (!said.is_empty()).then(|| said.join(". "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::{Provider, RequiredSymbol, UnlinkedLibrary};

    fn note() -> Note {
        Note {
            manifest: Some("c-libs/libraries.toml".into()),
            symbols: vec![RequiredSymbol {
                symbol: "yaml_get_version".into(),
                library: "yaml".into(),
                provider: Provider::Archive {
                    file: "libyaml.a".into(),
                },
            }],
            unlinked: vec![UnlinkedLibrary {
                library: "png".into(),
                symbols: vec!["png_access_version_number".into()],
            }],
            ..Note::new()
        }
    }

    #[test]
    fn each_cause_leads_back_to_the_manifest() {
        let note = note();
        let say = |m: Missing<'_>| explain(Some(&note), &m).unwrap_or_default();
        let unlinked = say(Missing {
            name: "png_access_version_number",
            ..Missing::default()
        });
        assert!(
            unlinked.contains("library `png` in c-libs/libraries.toml")
                && unlinked.contains(".link_static(\"png\")"),
            "{unlinked}"
        );
        let unlisted = say(Missing {
            name: "yaml_get_version_string",
            defined_in_binary: true,
            ..Missing::default()
        });
        assert!(
            unlisted.contains("not in the `symbols` of any library of c-libs/libraries.toml")
                && unlisted.contains("library `yaml` is linked statically"),
            "{unlisted}"
        );
        let misspelt = say(Missing {
            name: "png_access_version_numbr",
            close: vec!["png_access_version_number".into()],
            ..Missing::default()
        });
        assert!(
            misspelt.contains("did you mean `png_access_version_number`?"),
            "{misspelt}"
        );
        assert!(!misspelt.contains("not in the `symbols`"), "{misspelt}");
        // Without a note, only a close name can be offered.
        assert_eq!(
            explain(
                None,
                &Missing {
                    name: "x",
                    ..Missing::default()
                }
            ),
            None
        );
    }
}
