//! Turns the chosen LLVM version feature (`llvm<N>` or `llvm<N>-static`) into one `jit_llvm`
//! cfg for the code, and tells the build scripts of dependent crates which version it is
//! (`DEP_ORC_JIT_LLVM_VERSION`), so their bitcode is compiled by the same LLVM.

const VERSIONS: [&str; 5] = ["14", "15", "16", "19", "22"];

fn main() {
    source_hash();
    println!(
        "cargo::rustc-check-cfg=cfg(jit_llvm, values({}))",
        VERSIONS.map(|v| format!("\"{v}\"")).join(", ")
    );
    println!("cargo::rustc-check-cfg=cfg(jit_llvm_choice, values(\"none\", \"several\"))");
    let feature = |name: String| std::env::var_os(format!("CARGO_FEATURE_{name}")).is_some();
    // Each version chosen, shared or static: exactly one is allowed (lib.rs says so otherwise).
    let chosen: Vec<(&str, bool)> = VERSIONS
        .iter()
        .flat_map(|v| [(*v, false), (*v, true)])
        .filter(|(v, is_static)| {
            feature(format!(
                "LLVM{v}{}",
                if *is_static { "_STATIC" } else { "" }
            ))
        })
        .collect();
    match chosen.as_slice() {
        [] => println!("cargo::rustc-cfg=jit_llvm_choice=\"none\""),
        [_] => {}
        _ => println!("cargo::rustc-cfg=jit_llvm_choice=\"several\""),
    }
    // With several chosen, pick the first so that the compile_error is the only error.
    if let Some((version, is_static)) = chosen.first() {
        println!("cargo::rustc-cfg=jit_llvm=\"{version}\"");
        println!("cargo::metadata=llvm_version={version}");
        println!("cargo::metadata=llvm_static={}", u8::from(*is_static));
        if chosen.len() == 1 {
            check_llvm_found(version, *is_static);
            return;
        }
    }
    // No single version: lib.rs's compile_error says so; this only keeps it the only error.
    println!("cargo::rustc-env=ORC_JIT_LLVM_BUILD_VERSION=unknown");
}

/// llvm-sys's build script records where it found LLVM (`DEP_LLVM_<N>_CONFIG_PATH`); when it
/// found none, its only message is a generic one. Say what to install (docs.rs builds without
/// LLVM: llvm-sys builds its docs anyway, and so does orc-jit).
fn check_llvm_found(version: &str, is_static: bool) {
    println!("cargo::rerun-if-env-changed=DOCS_RS");
    let config = std::env::var_os(format!("DEP_LLVM_{version}_CONFIG_PATH"));
    // The full version, for object cache keys (LLVM 14 and 15 cannot say it at run time).
    let full = config
        .as_ref()
        .and_then(|c| std::process::Command::new(c).arg("--version").output().ok())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| version.to_owned());
    println!("cargo::rustc-env=ORC_JIT_LLVM_BUILD_VERSION={full}");
    if config.is_some() || std::env::var_os("DOCS_RS").is_some() {
        return;
    }
    // The llvm-sys line of each version (its LLVM_SYS_<line>_PREFIX).
    let line = match version {
        "19" => "191".to_owned(),
        "22" => "221".to_owned(),
        other => format!("{other}0"),
    };
    let polly = if is_static && version != "15" {
        format!(" libpolly-{version}-dev libzstd-dev")
    } else {
        String::new()
    };
    println!(
        "cargo::error=orc-jit was built for LLVM {version}, which is not installed: llvm-sys \
         found no llvm-config-{version} on PATH or under LLVM_SYS_{line}_PREFIX. On Debian or \
         Ubuntu, install it with `sudo apt-get install llvm-{version}-dev clang-{version}{polly}` \
         (from the toolkit's checkout: `cargo xtask deps --llvm {version}`); elsewhere, set \
         LLVM_SYS_{line}_PREFIX to where LLVM {version} is. Or build for an LLVM that is \
         installed (orc-jit's features llvm14, llvm15, llvm16, llvm19, llvm22)."
    );
}

/// A hash of orc-jit's own source (`src/`, this script), for object cache keys: two builds of one
/// version that compile or check objects differently (a fix between releases, a patched copy)
/// must not share entries. `DefaultHasher::new()` is the same in every run of one toolchain; a
/// new toolchain can only change the keys, which costs one compile per module.
fn source_hash() {
    use std::hash::{Hash, Hasher};
    fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let root = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let mut paths = vec![root.join("build.rs")];
    files(&root.join("src"), &mut paths);
    paths.sort();
    let mut hasher = std::hash::DefaultHasher::new();
    for path in &paths {
        path.strip_prefix(&root).unwrap_or(path).hash(&mut hasher);
        std::fs::read(path).unwrap_or_default().hash(&mut hasher);
    }
    println!("cargo::rerun-if-changed=src");
    println!("cargo::rerun-if-changed=build.rs");
    println!(
        "cargo::rustc-env=ORC_JIT_SOURCE_HASH={:016x}",
        hasher.finish()
    );
}
