//! A library the package's manifest declares but its build script never links is a build
//! warning, and is recorded in the binary's note, so that a symbol of it missing at run time is
//! traced back to it (a new user added `[[library]] name = "yaml"` and no `.link_static`).

mod common;

use common::{build, package, stderr};

#[test]
fn a_declared_library_the_build_does_not_link_is_a_warning_and_in_the_note() {
    let dir = common::scratch("unlinked");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("used.c"), "int used_fn(void) { return 1; }\n").unwrap();
    std::fs::write(
        dir.join("yaml.c"),
        "int yaml_get_version(void) { return 2; }\n",
    )
    .unwrap();
    let manifest = format!(
        "[[library]]\nname = \"used\"\nsources = [\"{}\"]\nsymbols = [\"used_fn\"]\n\n\
         [[library]]\nname = \"yaml\"\nsources = [\"{}\"]\nsymbols = [\"yaml_get_version\"]\n",
        dir.join("used.c").display(),
        dir.join("yaml.c").display()
    );
    let project = package(&dir, "unlinked-lib", ".link_static(\"used\")", &manifest);
    let out = build(&project, &[], &[]);
    let said = stderr(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains(
            "library `yaml` of libraries.toml is declared, but this build script does not link it"
        ) && said.contains("`yaml_get_version`")
            && said.contains(".link_static(\"yaml\")"),
        "{said}"
    );
    assert!(!said.contains("library `used`"), "{said}");
    let binary = common::target_dir().join("debug/unlinked-lib");
    let note = jit_linkage::read_note_file(&binary).unwrap().unwrap();
    assert_eq!(note.manifest.as_deref(), Some("libraries.toml"));
    assert_eq!(note.unlinked.len(), 1, "{note:?}");
    assert_eq!(note.unlinked[0].library, "yaml");
    assert_eq!(note.unlinked[0].symbols, ["yaml_get_version"]);

    // A manifest outside the package (shared by the binaries of several packages) declares
    // libraries for others too: no warning, the note still records them.
    let shared = dir.join("shared.toml");
    std::fs::write(&shared, &manifest).unwrap();
    let project = package(
        &dir,
        "shared-manifest",
        &format!(
            ".manifest({:?}).link_static(\"used\")",
            shared.display().to_string()
        ),
        "",
    );
    let out = build(&project, &[], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("is declared, but"),
        "{}",
        stderr(&out)
    );
}
