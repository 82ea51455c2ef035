//! Where LLVM's own ExecutionEngine tests of the LLVM under test are, and where they came
//! from. `cargo xtask deps --llvm N` places them in `target/llvm-tests/llvm-N/`: the
//! `llvm/test/ExecutionEngine/` directory of the upstream tarball of Debian's source package
//! of the installed `llvm-N`, its `LICENSE.TXT`, and `debian-source.txt`, the record of the
//! package, version, tarball and SHA-256. `JIT_CONFORMANCE_LLVM_TESTS` names another directory
//! of that shape (the xtask sets it to the one it filled).

use std::path::{Path, PathBuf};

pub const ENV: &str = "JIT_CONFORMANCE_LLVM_TESTS";
const RECORD: &str = "debian-source.txt";

/// LLVM N's tests, as `cargo xtask deps` placed them.
#[derive(Debug, Clone)]
pub struct LlvmTests {
    /// The `ExecutionEngine` directory.
    pub dir: PathBuf,
    /// `llvm-toolchain-N 1:N.x.y-r`: Debian's source package and version.
    pub package: String,
    /// The tarball's URL and SHA-256, as recorded.
    pub tarball: String,
    pub sha256: String,
}

/// `target/llvm-tests/llvm-N` (the target directory is the parent of cargo's
/// `CARGO_TARGET_TMPDIR`), or the directory `JIT_CONFORMANCE_LLVM_TESTS` names.
pub fn location(version: u32) -> PathBuf {
    match std::env::var_os(ENV) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
            tmp.parent()
                .unwrap_or(&tmp)
                .join(format!("llvm-tests/llvm-{version}"))
        }
    }
}

/// LLVM `version`'s tests in `root`, or an error that says how to get them.
pub fn find(root: &Path, version: u32) -> Result<LlvmTests, String> {
    let fetch = format!(
        "`cargo xtask deps --llvm {version}` fetches them from Debian's source package of the \
         installed llvm-{version}"
    );
    let record_path = root.join(RECORD);
    let record = std::fs::read_to_string(&record_path).map_err(|e| {
        format!(
            "LLVM {version}'s ExecutionEngine tests are not in {} ({}: {e}): {fetch}",
            root.display(),
            record_path.display()
        )
    })?;
    let field = |name: &str| {
        record.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key == name).then(|| value.trim().to_owned())
        })
    };
    let source = field("Source").unwrap_or_default();
    let expected = format!("llvm-toolchain-{version}");
    if source != expected {
        return Err(format!(
            "{} says its tests come from `{source}`, but the suite runs LLVM {version}, whose \
             tests are {expected}'s: {fetch} (or point {ENV} at them)",
            record_path.display()
        ));
    }
    let dir = root.join("ExecutionEngine");
    if !dir.is_dir() {
        return Err(format!(
            "{} has a record but no ExecutionEngine directory: {fetch}",
            root.display()
        ));
    }
    Ok(LlvmTests {
        dir,
        package: format!("{source} {}", field("Version").unwrap_or_default()),
        tarball: field("Tarball").unwrap_or_default(),
        sha256: field("Sha256").unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(name: &str, record: Option<&str>, with_tests: bool) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "conformance-llvm-tests-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        if let Some(record) = record {
            std::fs::write(dir.join(RECORD), record).unwrap();
        }
        if with_tests {
            std::fs::create_dir_all(dir.join("ExecutionEngine")).unwrap();
        }
        dir
    }

    #[test]
    fn reads_the_record_of_the_version_under_test() {
        let record = "Source: llvm-toolchain-14\nVersion: 1:14.0.6-12\nTarball: http://x/t.orig.tar.xz\nSha256: abc\n";
        let good = root("good", Some(record), true);
        let tests = find(&good, 14).unwrap();
        assert_eq!(tests.package, "llvm-toolchain-14 1:14.0.6-12");
        assert_eq!(tests.dir, good.join("ExecutionEngine"));
        assert_eq!(tests.sha256, "abc");

        let why = find(&good, 22).unwrap_err();
        assert!(
            why.contains("`llvm-toolchain-14`") && why.contains("--llvm 22"),
            "{why}"
        );

        let missing = root("missing", None, false);
        let why = find(&missing, 14).unwrap_err();
        assert!(why.contains("cargo xtask deps --llvm 14"), "{why}");

        let no_dir = root("no-dir", Some(record), false);
        assert!(
            find(&no_dir, 14)
                .unwrap_err()
                .contains("no ExecutionEngine")
        );
        for dir in [good, missing, no_dir] {
            std::fs::remove_dir_all(dir).unwrap();
        }
    }
}
