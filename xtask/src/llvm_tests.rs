//! LLVM's own ExecutionEngine tests of the installed LLVM N, for the conformance suite. They
//! come from Debian's source package of the installed `llvm-N` (its upstream tarball's
//! `llvm/test/ExecutionEngine/` and `llvm/LICENSE.TXT`) and live in
//! `target/llvm-tests/llvm-N/`, with a record of where they came from ([`RECORD`]), never in
//! the repository. Each version gets its own: LLVM 14's tests are typed-pointer IR for lli-14,
//! LLVM 22's opaque-pointer IR for lli-22.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::debian_source::{self, Fields, Scratch, SourcePackage};
use crate::llvm::Llvm;
use crate::{progress, target_dir};

/// The record beside the tests: source package, version, tarball, SHA-256, file count.
pub(crate) const RECORD: &str = "debian-source.txt";
/// Tells the conformance suite where the tests are (the directory holding `ExecutionEngine/`
/// and [`RECORD`]); without it the suite looks where this module puts them.
pub(crate) const ENV: &str = "JIT_CONFORMANCE_LLVM_TESTS";

/// Where LLVM `llvm`'s tests are placed.
pub(crate) fn dir(llvm: Llvm) -> PathBuf {
    target_dir().join("llvm-tests").join(format!("llvm-{llvm}"))
}

/// Makes sure LLVM `llvm`'s tests, of the installed llvm-N's source package, are in
/// [`dir`]: nothing to do when they are; otherwise (unless `check`) fetched. Returns the
/// directory.
pub(crate) fn ensure(sh: &Shell, llvm: Llvm, check: bool) -> anyhow::Result<PathBuf> {
    let dest = dir(llvm);
    let binary = format!("llvm-{llvm}");
    let installed = SourcePackage::of_installed(sh, &binary).with_context(|| {
        format!(
            "LLVM {llvm}'s ExecutionEngine tests come from the Debian source package of the \
             installed {binary}, which dpkg does not know; install it with `cargo xtask deps \
             --llvm {llvm}` (as root)"
        )
    })?;
    let why = match present(&dest, &installed) {
        Ok(files) => {
            progress!(
                "deps: LLVM {llvm}'s ExecutionEngine tests are present ({files} files of \
                 {installed} in {})",
                dest.display()
            );
            return Ok(dest);
        }
        Err(why) => why,
    };
    if check {
        bail!(
            "LLVM {llvm}'s ExecutionEngine tests: {why}; `cargo xtask deps --llvm {llvm}` \
             fetches them from Debian's source package {installed}"
        );
    }
    progress!("deps: LLVM {llvm}'s ExecutionEngine tests: {why}; fetching them from {installed}");
    fetch(sh, &installed, &dest).with_context(|| {
        format!(
            "cannot fetch LLVM {llvm}'s ExecutionEngine tests from Debian's source package \
             {installed} into {}",
            dest.display()
        )
    })?;
    Ok(dest)
}

/// `Ok(files)` when `dest` holds the tests of `installed`, whole; `Err(why not)` otherwise.
fn present(dest: &Path, installed: &SourcePackage) -> Result<usize, String> {
    if !dest.is_dir() {
        return Err(format!("{} does not exist", dest.display()));
    }
    let record_path = dest.join(RECORD);
    let record = std::fs::read_to_string(&record_path)
        .map_err(|_| format!("{} does not exist", record_path.display()))?;
    let fields = Fields::parse(&record);
    let recorded = SourcePackage {
        name: fields.get("Source").unwrap_or_default().to_owned(),
        version: fields.get("Version").unwrap_or_default().to_owned(),
    };
    if recorded != *installed {
        return Err(format!(
            "{} holds the tests of {recorded}, but {installed} is installed",
            dest.display()
        ));
    }
    let tests = dest.join("ExecutionEngine");
    let files = count_files(&tests).unwrap_or(0);
    let expected: usize = fields
        .get("Files")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if files == 0 || files != expected || !dest.join("LICENSE.TXT").is_file() {
        return Err(format!(
            "{} is incomplete ({files} files, the record says {expected}, LICENSE.TXT {})",
            tests.display(),
            if dest.join("LICENSE.TXT").is_file() {
                "present"
            } else {
                "missing"
            }
        ));
    }
    Ok(files)
}

/// Downloads `installed`'s upstream tarball (checked against Debian's signed index), extracts
/// `llvm/test/ExecutionEngine/` and `llvm/LICENSE.TXT` into `dest` with the record, and deletes
/// the tarball. `dest` is replaced only once everything is in place.
fn fetch(sh: &Shell, installed: &SourcePackage, dest: &Path) -> anyhow::Result<()> {
    let parent = dest
        .parent()
        .context("the tests' directory has no parent")?;
    let name = dest.file_name().unwrap_or_default().to_string_lossy();
    // Beside `dest`, so the final rename stays on one file system; removed on every path.
    let work = Scratch::new(parent.join(format!(".fetching-{name}")))?;
    let tarball = debian_source::locate(sh, installed, &work.0)?;
    let file = work.0.join(installed.orig_tarball());
    progress!(
        "deps: downloading {} ({:.0} MiB; its SHA-256 from {})",
        file.file_name().unwrap_or_default().to_string_lossy(),
        tarball.size as f64 / (1024.0 * 1024.0),
        tarball.index
    );
    let url = debian_source::download_first(sh, &tarball.urls, &file)?;
    progress!("deps: downloaded {url}");
    debian_source::verify_sha256(sh, &file, &tarball.sha256, &url)?;

    progress!("deps: extracting llvm/test/ExecutionEngine/ and llvm/LICENSE.TXT");
    let extracted = work.0.join("extracted");
    std::fs::create_dir(&extracted)
        .with_context(|| format!("cannot create {}", extracted.display()))?;
    let patterns = ["*/llvm/test/ExecutionEngine/*", "*/llvm/LICENSE.TXT"];
    cmd!(
        sh,
        "tar -xJf {file} -C {extracted} --wildcards --no-same-owner {patterns...}"
    )
    .quiet()
    .run()
    .with_context(|| {
        format!(
            "cannot extract {patterns:?} from {} (tar with xz, Debian packages tar and xz-utils)",
            file.display()
        )
    })?;
    std::fs::remove_file(&file).with_context(|| format!("cannot remove {}", file.display()))?;
    let top = single_directory(&extracted)?;
    let staged = work.0.join(&*name);
    std::fs::create_dir(&staged).with_context(|| format!("cannot create {}", staged.display()))?;
    for (from, to) in [
        ("llvm/test/ExecutionEngine", "ExecutionEngine"),
        ("llvm/LICENSE.TXT", "LICENSE.TXT"),
    ] {
        let (from, to) = (top.join(from), staged.join(to));
        std::fs::rename(&from, &to)
            .with_context(|| format!("cannot move {} to {}", from.display(), to.display()))?;
    }
    let files = count_files(&staged.join("ExecutionEngine"))?;
    let record = format!(
        "Source: {}\nVersion: {}\nTarball: {}\nSha256: {}\nSize: {}\nIndex: {} (its hash from \
         the suite's InRelease, checked with gpgv against {})\nTaken: llvm/test/ExecutionEngine/ \
         as ExecutionEngine/, llvm/LICENSE.TXT as LICENSE.TXT (Apache-2.0 WITH LLVM-exception)\n\
         Files: {files}\n",
        installed.name,
        installed.version,
        url,
        tarball.sha256,
        tarball.size,
        tarball.index,
        debian_source::ARCHIVE_KEYRING,
    );
    let record_path = staged.join(RECORD);
    std::fs::write(&record_path, record)
        .with_context(|| format!("cannot write {}", record_path.display()))?;
    if dest.exists() {
        std::fs::remove_dir_all(dest)
            .with_context(|| format!("cannot remove the old {}", dest.display()))?;
    }
    std::fs::rename(&staged, dest)
        .with_context(|| format!("cannot move {} to {}", staged.display(), dest.display()))?;
    progress!(
        "deps: {files} files of LLVM's ExecutionEngine tests ({installed}) in {}",
        dest.display()
    );
    Ok(())
}

/// The one directory a tarball unpacked into (`llvm-toolchain-14_14.0.6/`).
fn single_directory(dir: &Path) -> anyhow::Result<PathBuf> {
    let entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    match entries.as_slice() {
        [top] if top.is_dir() => Ok(top.clone()),
        _ => bail!(
            "the tarball did not unpack into one directory: {} holds {entries:?}",
            dir.display()
        ),
    }
}

/// Regular files under `dir`, at any depth.
fn count_files(dir: &Path) -> anyhow::Result<usize> {
    let mut count = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?
        {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() {
                count += 1;
            }
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn llvm14() -> SourcePackage {
        SourcePackage {
            name: "llvm-toolchain-14".into(),
            version: "1:14.0.6-12".into(),
        }
    }

    /// A directory as `fetch` leaves it, with `files` test files and this record.
    fn placed(name: &str, record: &str, files: usize) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("xtask-llvm-tests-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("ExecutionEngine/MCJIT")).unwrap();
        for i in 0..files {
            std::fs::write(dir.join(format!("ExecutionEngine/MCJIT/t{i}.ll")), "").unwrap();
        }
        std::fs::write(dir.join("LICENSE.TXT"), "Apache").unwrap();
        std::fs::write(dir.join(RECORD), record).unwrap();
        dir
    }

    #[test]
    fn present_only_when_the_record_matches_the_installed_package_and_the_files() {
        let record = "Source: llvm-toolchain-14\nVersion: 1:14.0.6-12\nFiles: 2\n";
        let whole = placed("whole", record, 2);
        assert_eq!(present(&whole, &llvm14()), Ok(2));

        let other = SourcePackage {
            version: "1:14.0.6-13".into(),
            ..llvm14()
        };
        let why = present(&whole, &other).unwrap_err();
        assert!(
            why.contains("holds the tests of llvm-toolchain-14 1:14.0.6-12"),
            "{why}"
        );

        let incomplete = placed("incomplete", record, 1);
        assert!(
            present(&incomplete, &llvm14())
                .unwrap_err()
                .contains("incomplete")
        );

        let missing = whole.join("nothing-here");
        assert!(
            present(&missing, &llvm14())
                .unwrap_err()
                .contains("does not exist")
        );
        for dir in [whole, incomplete] {
            std::fs::remove_dir_all(dir).unwrap();
        }
    }
}
