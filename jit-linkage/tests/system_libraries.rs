//! System libraries through pkg-config, as a user meets them: real packages whose build scripts
//! call jit-linkage, a real pkg-config reading real and crafted `.pc` files, real archives made by
//! cc. What went wrong used to end in a 3 KB linker command, an empty reason or a wrong package
//! name, after a hundred lines of the pkg-config crate's output; each case now fails in the build
//! script, naming the user's library and file and what to install.

mod common;

use std::path::{Path, PathBuf};

use common::{build, c_library, package, shown_stdout, stderr};

fn scratch() -> PathBuf {
    common::scratch("system-libraries")
}

/// A pkg-config package `name` in `dir/pc`, its library `lib<library>` (defining
/// `<library>_version`) in `dir/lib`, and `private` its `Libs.private`.
fn pc_package(dir: &Path, name: &str, library: &str, private: &str) -> PathBuf {
    let libdir = dir.join("lib");
    c_library(
        &libdir,
        library,
        &format!("int {library}_version(void) {{ return 8; }}\n"),
    );
    let pc = dir.join("pc");
    std::fs::create_dir_all(&pc).unwrap();
    std::fs::write(
        pc.join(format!("{name}.pc")),
        format!(
            "libdir={}\n\nName: {name}\nDescription: a test package of jit-linkage\n\
             Version: 8.0.0\nLibs: -L${{libdir}} -l{library}\nLibs.private: {private}\n",
            libdir.display()
        ),
    )
    .unwrap();
    pc
}

/// curl's case: a static link needs what `pkg-config --static` lists, and some of it is not
/// installed. The build script says which libraries, their Debian packages and the other way
/// out, before the linker runs; a dynamic link, which needs none of them, builds.
#[test]
fn a_static_link_names_the_libraries_its_package_needs_that_are_missing() {
    let dir = scratch().join("curlish");
    // Two libraries no system has, and two every system has.
    let pc = pc_package(
        &dir,
        "curlish",
        "curlish",
        "-ljitlinkage-absent-http2 -ljitlinkage-absent-rtmp -lz -lm",
    );
    let manifest =
        "[[library]]\nname = \"curl\"\npkg_config = \"curlish\"\nsymbols = [\"curlish_version\"]\n";
    let project = package(&dir, "static-curlish", ".link_static(\"curl\")", manifest);
    let out = build(&project, &[], &[("PKG_CONFIG_PATH", &pc)]);
    let text = stderr(&out);
    assert!(!out.status.success(), "the build passed:\n{text}");
    for expected in [
        "library `curl`",
        "pkg-config's package curlish, linked statically, needs",
        "libjitlinkage-absent-http2 (Debian: libjitlinkage-absent-http2-dev) and \
         libjitlinkage-absent-rtmp (Debian: libjitlinkage-absent-rtmp-dev)",
        "pkg-config --static --libs curlish",
        "or link `curl` dynamically",
    ] {
        assert!(text.contains(expected), "no `{expected}` in:\n{text}");
    }
    // Found, so not named; and the linker never ran.
    for unexpected in [
        "libz ",
        "libm ",
        "unable to find library",
        "collect2",
        "panicked",
    ] {
        assert!(!text.contains(unexpected), "`{unexpected}` in:\n{text}");
    }

    let project = package(&dir, "dynamic-curlish", ".link_dynamic(\"curl\")", manifest);
    let out = build(&project, &[], &[("PKG_CONFIG_PATH", &pc)]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// libcurl's `.pc` also requires other packages (`Requires.private`); when one of their `.pc`
/// files is missing, pkg-config fails for libcurl, which it does know: the error says which
/// package is missing, not that libcurl is unknown.
#[test]
fn a_package_whose_required_package_is_missing_is_not_called_unknown() {
    let dir = scratch().join("requires");
    let pc = pc_package(&dir, "curlreq", "curlreq", "-lm");
    let path = pc.join("curlreq.pc");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        format!("{text}Requires.private: jitlinkage-absent-http2\n"),
    )
    .unwrap();
    let manifest =
        "[[library]]\nname = \"curl\"\npkg_config = \"curlreq\"\nsymbols = [\"curlreq_version\"]\n";
    let project = package(&dir, "requires-curlreq", ".link_static(\"curl\")", manifest);
    let out = build(&project, &[], &[("PKG_CONFIG_PATH", &pc)]);
    let text = stderr(&out);
    assert!(!out.status.success(), "the build passed:\n{text}");
    for expected in [
        "library `curl`: pkg-config knows the package curlreq, but not the packages it requires: \
         jitlinkage-absent-http2 (on Debian probably libjitlinkage-absent-http2-dev)",
        "required by 'curlreq'",
    ] {
        assert!(text.contains(expected), "no `{expected}` in:\n{text}");
    }
    assert!(!text.contains("does not know the package"), "{text}");
}

/// `pkg_config = "libxml2"`, where Debian's libxml2-dev installs `libxml-2.0.pc`: the error
/// says what pkg-config said (it used to keep only an empty first line), offers the close name
/// with the package that installed it, and guesses the Debian package of the name given right
/// (it suggested `liblibxml2-dev`).
#[test]
fn an_unknown_package_shows_pkg_configs_words_close_names_and_the_debian_package() {
    let system_pc = Path::new("/usr/lib/x86_64-linux-gnu/pkgconfig/libxml-2.0.pc");
    assert!(
        system_pc.is_file(),
        "{} is missing: install libxml2-dev (llvm-N-dev depends on it)",
        system_pc.display()
    );
    let dir = scratch().join("libxml2");
    let manifest =
        "[[library]]\nname = \"xml\"\npkg_config = \"libxml2\"\nsymbols = [\"xmlReadMemory\"]\n";
    let project = package(&dir, "unknown-libxml2", ".link_dynamic(\"xml\")", manifest);
    let out = build(&project, &[], &[]);
    let text = stderr(&out);
    assert!(!out.status.success(), "the build passed:\n{text}");
    for expected in [
        "library `xml`: `pkg_config = \"libxml2\"`: pkg-config does not know the package libxml2",
        // pkg-config's (pkgconf's) own words.
        "Package libxml2 was not found in the pkg-config search path",
        "Did you mean `libxml-2.0` (/usr/lib/x86_64-linux-gnu/pkgconfig/libxml-2.0.pc, from \
         Debian's libxml2-dev)? Then write `pkg_config = \"libxml-2.0\"`",
        "on Debian probably libxml2-dev",
        "PKG_CONFIG_PATH",
    ] {
        assert!(text.contains(expected), "no `{expected}` in:\n{text}");
    }
    for unexpected in ["liblibxml2-dev", "package: .", "panicked"] {
        assert!(!text.contains(unexpected), "`{unexpected}` in:\n{text}");
    }
}

/// A build script error is the last thing cargo shows, alone: not a panic after the pkg-config
/// crate's `cargo:` lines (some 30 a probe, printed before anything failed), and about the
/// user's file, not jit-linkage's copy of it in OUT_DIR.
#[test]
fn an_error_names_the_users_file_after_little_else() {
    let dir = scratch().join("quiet");
    let pc = pc_package(&dir, "quietlib", "quietlib", "-lm");
    // Two pkg-config libraries, so the first one's output would come before the error.
    let manifest = "[[library]]\nname = \"math\"\npkg_config = \"quietlib\"\n\
                    symbols = [\"quietlib_version\"]\n\n\
                    [[library]]\nname = \"again\"\npkg_config = \"zlib\"\n\
                    symbols = [\"zlibVersoin\"]\n";
    let project = package(
        &dir,
        "quiet-errors",
        ".link_static(\"math\")\n        .link_static(\"again\")",
        manifest,
    );
    let out = build(&project, &[], &[("PKG_CONFIG_PATH", &pc)]);
    let text = stderr(&out);
    assert!(!out.status.success(), "the build passed:\n{text}");
    // The system's archive, as pkg-config found it.
    let libz = std::process::Command::new("cc")
        .arg("-print-file-name=libz.a")
        .output()
        .unwrap();
    let libz = PathBuf::from(String::from_utf8_lossy(&libz.stdout).trim())
        .canonicalize()
        .unwrap();
    for expected in [
        format!(
            "library `again`: {} does not define `zlibVersoin`",
            libz.display()
        ),
        "did you mean `zlibVersion`?".to_owned(),
    ] {
        assert!(text.contains(&expected), "no `{expected}` in:\n{text}");
    }
    for unexpected in ["/out/c-libs/", "panicked", "RUST_BACKTRACE"] {
        assert!(!text.contains(unexpected), "`{unexpected}` in:\n{text}");
    }
    let stdout = shown_stdout(&text);
    assert!(
        stdout.iter().all(|l| !l.contains("PKG_CONFIG")),
        "pkg-config's lines before the error:\n{}",
        stdout.join("\n")
    );
    assert!(
        stdout.len() <= 5,
        "{} lines of output before the error:\n{}",
        stdout.len(),
        stdout.join("\n")
    );
}
