//! The advice for a symbol the JIT did not find, from a real program (made with the system `cc`,
//! its note written in assembly in the format jit-linkage writes) and the process's libraries:
//! a name the binary defines but the manifest does not list, a manifest library the build does
//! not link, a misspelt name exported in the process.

use std::path::{Path, PathBuf};
use std::process::Command;

use jit_exports::advice::{for_program, for_this_process, mapped_files};

/// Assembly for a `.note.jit-linkage` section holding `records` (format 2).
fn note_assembly(records: &[&str]) -> String {
    let mut desc = String::from("jit-linkage-symbols 2\n");
    for record in records {
        desc.push_str(record);
        desc.push('\n');
    }
    let escaped = desc.replace('\n', "\\n").replace('\t', "\\t");
    format!(
        ".section .note.jit-linkage,\"a\",@note\n.balign 4\n.long 12\n.long {}\n.long 0x4a495401\n\
         .asciz \"jit-linkage\"\n.balign 4\n.ascii \"{escaped}\"\n.balign 4\n\
         .section .note.GNU-stack,\"\",@progbits\n",
        desc.len()
    )
}

fn program() -> PathBuf {
    let dir = std::env::temp_dir().join("jit-exports-advice");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // `yaml_get_version_string` is linked in (as from a static archive) but not exported.
    std::fs::write(
        dir.join("main.c"),
        "int yaml_get_version(void) { return 1; }\n\
         int yaml_get_version_string(void) { return 2; }\n\
         int main(void) { return yaml_get_version() + yaml_get_version_string() - 3; }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("note.s"),
        note_assembly(&[
            "manifest\tc-libs/libraries.toml",
            "symbol\tyaml_get_version\tyaml\tarchive\tlibyaml.a",
            "unlinked\tpng\tpng_access_version_number",
        ]),
    )
    .unwrap();
    let out = Command::new("cc")
        .current_dir(&dir)
        .args(["main.c", "note.s", "-o", "program"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    dir.join("program")
}

#[test]
fn each_cause_is_told_from_the_programs_note_and_its_process() {
    let program = program();
    let libc = PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6");
    let ask = |name: &str| {
        for_program(
            &program,
            &[program.clone(), libc.clone()],
            &[name.to_owned()],
        )
        .unwrap_or_default()
    };
    let unlisted = ask("yaml_get_version_string");
    assert!(
        unlisted.contains("defines `yaml_get_version_string` but does not export it")
            && unlisted.contains("c-libs/libraries.toml")
            && unlisted.contains("library `yaml` is linked statically"),
        "{unlisted}"
    );
    let unlinked = ask("png_access_version_number");
    assert!(
        unlinked.contains("library `png` in c-libs/libraries.toml")
            && unlinked.contains("does not link `png`"),
        "{unlinked}"
    );
    let misspelt = ask("mallok");
    assert!(misspelt.contains("did you mean `malloc`?"), "{misspelt}");
    let listed_misspelt = ask("yaml_get_versio");
    assert!(
        listed_misspelt.contains("did you mean `yaml_get_version`"),
        "{listed_misspelt}"
    );
    // Several names: one sentence each.
    let both = for_program(
        &program,
        &[libc],
        &["mallok".to_owned(), "png_access_version_number".to_owned()],
    )
    .unwrap();
    assert!(
        both.contains("`malloc`") && both.contains("`png`"),
        "{both}"
    );
}

#[test]
fn this_process_is_read_from_proc() {
    // This test program carries no note; libc is loaded, so a misspelt libc name is offered.
    let said = for_this_process(&["mallok".to_owned()]).unwrap_or_default();
    assert!(said.contains("did you mean `malloc`?"), "{said}");
    let maps = "7f00-7f01 r-xp 00000000 08:01 42   /usr/lib/libx.so.1\n\
                7f01-7f02 r--p 00001000 08:01 42   /usr/lib/libx.so.1\n\
                7f02-7f03 rw-p 00000000 00:00 0 \n\
                7f03-7f04 r--p 00000000 08:01 7    /opt/with space/liby.so\n\
                7ffd-7ffe rw-p 00000000 00:00 0    [stack]\n";
    assert_eq!(
        mapped_files(maps),
        [
            Path::new("/usr/lib/libx.so.1"),
            Path::new("/opt/with space/liby.so")
        ]
    );
}
