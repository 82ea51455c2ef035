//! What to tell someone whose JIT code needs a symbol that nothing exports, from what the
//! binary's note says of the manifest: the same sentences from verify-symbols' answers and from
//! orc-jit's `Error::MissingSymbols`.

use crate::note::{Linkage, Note};

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

/// Whether the note records `name` as provided by a statically linked library.
pub fn listed_static(note: &Note, name: &str) -> bool {
    note.symbol(name)
        .is_some_and(|s| s.provider.linkage() == Linkage::Static)
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
