//! `cargo xtask new`: a standalone project from `templates/<linkage>/`.
//!
//! `new` writes a file only where there is none, or over a file it wrote itself that nobody has
//! changed since. It knows which from its record in the project, [`RECORD`]: each file it wrote
//! with a hash of the content it wrote. Every file is checked before any is written, so a
//! refusal leaves the directory as it was.
//!
//! It never writes into an existing file: a replacement is written as a new file and renamed
//! over the old one. So a file with several links (a `Cargo.lock` hard-linked to the toolkit's)
//! is not refused but replaced in this directory only, and its other names keep their content:
//! that is what a hard link's other name means (a `cp -al` snapshot of the project keeps the old
//! files), and a rename cannot write through a link made after the check either. Symbolic links,
//! to files or directories, are refused: someone pointed them somewhere on purpose.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use xshell::Shell;

use crate::flags::{Linkage, New};
use crate::{progress, project_root};

/// cargo-generate's own file, not part of the generated project.
const TEMPLATE_CONFIG: &str = "cargo-generate.toml";

/// The ending of a template file whose name loses it in the project: the template's manifest is
/// `Cargo.toml.liquid`, so that cargo never reads a template as a package (its package name is
/// a placeholder). cargo-generate drops the same ending (one of it: `x.liquid.liquid` becomes
/// `x.liquid`).
const TEMPLATE_SUFFIX: &str = ".liquid";

impl New {
    pub(crate) fn run(self, _sh: &Shell) -> anyhow::Result<()> {
        let name = match &self.name {
            Some(name) => name.clone(),
            None => self
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .context("PATH has no last component to name the crate after; pass --name NAME")?,
        };
        check_crate_name(&name)?;
        let checkout = project_root().canonicalize()?;
        let toolkit = match &self.toolkit {
            Some(dir) => {
                let dir = dir.canonicalize().with_context(|| {
                    format!("the toolkit checkout {} does not exist", dir.display())
                })?;
                if !dir.join("orc-jit/Cargo.toml").is_file() {
                    bail!(
                        "{} is not a checkout of this toolkit (no orc-jit/Cargo.toml); pass \
                         --toolkit DIR",
                        dir.display()
                    );
                }
                Some(dir)
            }
            None => None,
        };
        let target = resolved(&self.path)?;
        let places = [(checkout.clone(), "this toolkit checkout")]
            .into_iter()
            .chain(
                toolkit
                    .clone()
                    .map(|dir| (dir, "the toolkit checkout the project builds from")),
            );
        for (place, what) in places {
            if target.starts_with(&place) {
                bail!(
                    "{} is inside {what} ({}): a project must live outside it; choose a \
                     directory elsewhere",
                    self.path.display(),
                    place.display()
                );
            }
        }
        if let Some(workspace) = other_workspace(&target) {
            bail!(
                "{} holds another cargo workspace or package ({}, not written by `new`), \
                 which the project's files would overwrite; choose a new directory",
                self.path.display(),
                workspace.display()
            );
        }
        if self.path.exists() && !self.force {
            let non_empty = std::fs::read_dir(&self.path)
                .with_context(|| format!("{} is not a directory", self.path.display()))?
                .next()
                .is_some();
            if non_empty {
                bail!(
                    "{} is not empty; choose a new directory, or pass --force to write into it",
                    self.path.display()
                );
            }
        }
        let template = project_root().join("templates").join(self.linkage.dir());
        let manifest = std::fs::read_to_string(template.join(MANIFEST_TEMPLATE))
            .with_context(|| format!("reading the template {}", template.display()))?;
        let dependencies = toolkit_dependencies(&manifest);
        let version = crate_version(&checkout, &dependencies)?;
        if let Some(dir) = &toolkit {
            let theirs = crate_version(dir, &dependencies)?;
            if theirs != version {
                bail!(
                    "the checkout {} has the toolkit's crates at version {theirs}, and this \
                     checkout's templates depend on {version}: pass a checkout of version \
                     {version}, or run the `cargo xtask new` of {}",
                    dir.display(),
                    dir.display()
                );
            }
        }
        let values = [
            ("{{project-name}}", name.clone()),
            ("{{crate_name}}", name.replace('-', "_")),
            ("{{toolkit_version}}", version.clone()),
            ("{{llvm_version}}", self.llvm.to_string()),
        ];
        let mut files = Vec::new();
        template_files(&template, "", &values, &mut files)?;
        if let Some(dir) = &toolkit {
            let manifest = files
                .iter_mut()
                .find(|f| f.path == "Cargo.toml")
                .context("the template has no Cargo.toml.liquid")?;
            manifest
                .content
                .extend_from_slice(patch_section(dir, &dependencies).as_bytes());
        }
        let lock_from = toolkit.as_deref().unwrap_or(&checkout);
        match fitted_lock(&files, lock_from, &name) {
            Ok(content) => files.push(ProjectFile {
                path: "Cargo.lock".into(),
                content,
            }),
            Err(why) => progress!(
                "new: no Cargo.lock written ({why:#}); the project's first build writes one, \
                 with the newest versions its dependencies allow{}",
                if toolkit.is_none() {
                    format!(
                        " (if orc-jit {version} is not on crates.io, pass --toolkit DIR to build \
                         the crates from a checkout)"
                    )
                } else {
                    String::new()
                }
            ),
        }
        write_project(&self.path, &files)?;
        progress!(
            "new: wrote {} ({} linkage); next: cd {} && cargo run",
            self.path.display(),
            self.linkage.dir(),
            self.path.display()
        );
        match &toolkit {
            Some(dir) => progress!(
                "new: {} {version} are built from {} ([patch.crates-io] in Cargo.toml)",
                dependencies.join(", "),
                dir.display()
            ),
            None => progress!(
                "new: it depends on {} {version} from crates.io",
                dependencies.join(", ")
            ),
        }
        progress!(
            "new: the project builds from any directory; `cargo install verify-symbols` gives \
             it `cargo verify-symbols` and `jit-dist`"
        );
        Ok(())
    }
}

impl Linkage {
    fn dir(self) -> &'static str {
        match self {
            Linkage::Static => "static",
            Linkage::Dynamic => "dynamic",
            Linkage::Ipo => "ipo",
            Linkage::Mixed => "mixed",
        }
    }
}

/// The template's manifest, whose name loses [`TEMPLATE_SUFFIX`] in the project.
const MANIFEST_TEMPLATE: &str = "Cargo.toml.liquid";

/// The toolkit's crates a template depends on: the dependencies whose version is the
/// `{{toolkit_version}}` placeholder.
fn toolkit_dependencies(manifest: &str) -> Vec<String> {
    manifest
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter(|line| line.contains("\"{{toolkit_version}}\""))
        .filter_map(|line| Some(line.split_once('=')?.0.trim().to_owned()))
        .collect()
}

/// The one version of `crates` in the workspace at `checkout` (they are released together).
fn crate_version(checkout: &Path, crates: &[String]) -> anyhow::Result<String> {
    let out = std::process::Command::new(crate::cargo())
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .arg("--manifest-path")
        .arg(checkout.join("Cargo.toml"))
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata of {} failed: {}",
            checkout.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let mut versions = Vec::new();
    for krate in crates {
        let version = metadata["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == krate.as_str())
            .and_then(|p| p["version"].as_str())
            .with_context(|| format!("{} has no package {krate}", checkout.display()))?;
        versions.push((krate, version.to_owned()));
    }
    let Some((_, first)) = versions.first() else {
        bail!("the template depends on none of the toolkit's crates");
    };
    if let Some((krate, other)) = versions.iter().find(|(_, v)| v != first) {
        bail!(
            "{}: {krate} is at {other}, the other crates at {first}: the toolkit's crates \
             are released together, at one version",
            checkout.display()
        );
    }
    Ok(first.clone())
}

/// The `[patch.crates-io]` section of `--toolkit DIR`: each of `crates` from DIR by path.
fn patch_section(dir: &Path, crates: &[String]) -> String {
    let mut text = String::from(
        "\n# Written by `cargo xtask new --toolkit DIR`: the toolkit's crates are built from that\n\
         # checkout instead of crates.io (the versions above must be its own). Delete this\n\
         # section to build with the published crates.\n\
         [patch.crates-io]\n",
    );
    for krate in crates {
        let path = dir.join(krate).display().to_string();
        let quoted = path.replace('\\', "\\\\").replace('"', "\\\"");
        text.push_str(&format!("{krate} = {{ path = \"{quoted}\" }}\n"));
    }
    text
}

/// The project's lock file: the toolkit's (the versions it is tested with), updated by cargo
/// for this project alone (`cargo update --workspace`: the project's package added, what only
/// the toolkit's own packages use removed, no version changed), so that the project's
/// `cargo build --locked` works. A copy of the toolkit's lock as it is names the toolkit's
/// packages and not the project's, and `--locked` refuses it. Worked out in a scratch copy of
/// the project's manifest before anything is written, offline first (the toolkit's build has
/// the registry's entries for its versions), then online.
fn fitted_lock(files: &[ProjectFile], toolkit: &Path, name: &str) -> anyhow::Result<Vec<u8>> {
    let scratch = std::env::temp_dir().join(format!(
        "jit-toolkit-new-lock-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&scratch);
    let result = (|| {
        for file in files {
            // The manifest and the targets cargo must find to read it.
            if ["Cargo.toml", "build.rs", "src/main.rs"].contains(&file.path.as_str()) {
                let path = scratch.join(&file.path);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                }
                std::fs::write(&path, &file.content)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
        }
        let lock = toolkit.join("Cargo.lock");
        std::fs::copy(&lock, scratch.join("Cargo.lock"))
            .with_context(|| format!("copying {}", lock.display()))?;
        let mut failures = Vec::new();
        for offline in [true, false] {
            let out = std::process::Command::new(crate::cargo())
                .args(["update", "--workspace", "--quiet"])
                .args(offline.then_some("--offline"))
                .arg("--manifest-path")
                .arg(scratch.join("Cargo.toml"))
                .output()
                .context("running cargo update")?;
            if out.status.success() {
                let fitted = scratch.join("Cargo.lock");
                return std::fs::read(&fitted)
                    .with_context(|| format!("reading {}", fitted.display()));
            }
            failures.push(String::from_utf8_lossy(&out.stderr).trim().to_owned());
        }
        bail!("cargo update failed: {}", failures.join("; then online: "))
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

/// Cargo's rules for a package name, with what to do instead.
fn check_crate_name(name: &str) -> anyhow::Result<()> {
    const RESERVED: &[&str] = &[
        "test",
        "core",
        "std",
        "alloc",
        "proc_macro",
        "proc-macro",
        "self",
        "super",
        "crate",
        "Self",
        "build",
        "deps",
        "examples",
        "incremental",
        "fn",
        "mod",
        "use",
        "let",
        "struct",
        "enum",
        "impl",
        "trait",
        "type",
        "match",
        "loop",
        "while",
        "for",
        "if",
        "else",
        "return",
    ];
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !first_ok || !rest_ok {
        bail!(
            "`{name}` is not a valid crate name: start with a letter or `_`, then use letters, \
             digits, `_` and `-` (pass --name NAME to choose one)"
        );
    }
    if RESERVED.contains(&name) {
        bail!(
            "`{name}` is a Rust keyword or a name cargo reserves; pass --name NAME to choose another"
        );
    }
    Ok(())
}

/// `path` made absolute with every existing part's symlinks resolved (the rest may not exist).
fn resolved(path: &Path) -> anyhow::Result<PathBuf> {
    let absolute = std::path::absolute(path)
        .with_context(|| format!("{} cannot be made absolute", path.display()))?;
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        rest.push(
            existing
                .file_name()
                .context("no existing parent directory")?,
        );
        existing = existing.parent().context("no existing parent directory")?;
    }
    let mut out = existing.canonicalize()?;
    out.extend(rest.into_iter().rev());
    Ok(out)
}

/// The manifest of a cargo project in `dir` that `new` did not write, if there is one: another
/// workspace, or a package of someone's (every project `new` writes carries the template's
/// marker line, and only such a project may be written over with --force).
fn other_workspace(dir: &Path) -> Option<PathBuf> {
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).ok()?;
    (!text.contains(TEMPLATE_MARKER)).then_some(manifest)
}

/// The line every template's Cargo.toml has, by which `new --force` knows its own projects.
const TEMPLATE_MARKER: &str =
    "# A project of its own, even when generated inside another workspace's directory.";

/// One file of the project: its path below the project directory (`/`-separated) and content.
struct ProjectFile {
    path: String,
    content: Vec<u8>,
}

/// The files of the template `from` (below `prefix`), the placeholders replaced, in a stable
/// order.
fn template_files(
    from: &Path,
    prefix: &str,
    values: &[(&str, String)],
    out: &mut Vec<ProjectFile>,
) -> anyhow::Result<()> {
    let mut entries = std::fs::read_dir(from)
        .with_context(|| format!("reading the template {}", from.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("reading the template {}", from.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if entry.file_name() == TEMPLATE_CONFIG {
            continue;
        }
        let name = entry.file_name();
        let name = name
            .to_str()
            .with_context(|| format!("{}: not a UTF-8 name", entry.path().display()))?;
        if entry.file_type()?.is_dir() {
            template_files(&entry.path(), &format!("{prefix}{name}/"), values, out)?;
            continue;
        }
        let path = format!(
            "{prefix}{}",
            name.strip_suffix(TEMPLATE_SUFFIX).unwrap_or(name)
        );
        let source = entry.path();
        let mut text = std::fs::read_to_string(&source)
            .with_context(|| format!("reading {}", source.display()))?;
        for (placeholder, value) in values {
            text = text.replace(placeholder, value);
        }
        out.push(ProjectFile {
            path,
            content: text.into_bytes(),
        });
    }
    Ok(())
}

/// The file in a generated project where `new` records what it wrote.
const RECORD: &str = ".jit-toolkit-new.sums";

const RECORD_HEADER: &str = "\
# Written by `cargo xtask new` of the JIT linkage toolkit: each file it wrote here, with the
# FNV-1a 64-bit hash of the content it wrote (`fnv1a64:HASH  PATH`). `new --force` replaces
# only these files, and only while unchanged; it never overwrites any other file. Keep this
# file with the project; without it, `new --force` will overwrite no file here.
";

/// What `new` wrote into a project: each file's path and the hash of its content.
#[derive(Default)]
struct Record {
    files: BTreeMap<String, u64>,
}

impl Record {
    /// The record in `dir`, empty when there is none.
    fn read(dir: &Path) -> anyhow::Result<Record> {
        let path = dir.join(RECORD);
        match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Record::default()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
            Ok(meta) if !meta.is_file() => bail!(
                "{} is not the record `new` writes (it is a link or not a file); remove it, or \
                 choose a new directory",
                path.display()
            ),
            Ok(_) => {}
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let mut files = BTreeMap::new();
        for (number, line) in text.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let entry = line.split_once("  ").and_then(|(hash, file)| {
                let hex = hash.strip_prefix("fnv1a64:")?;
                let hash = u64::from_str_radix(hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 16)?;
                (!file.is_empty()).then(|| (file.to_owned(), hash))
            });
            let Some((file, hash)) = entry else {
                bail!(
                    "{}:{}: not a line `new` writes (`fnv1a64:HASH  PATH`); restore the file \
                     from the project's history, or delete it (then `new --force` overwrites no \
                     file here)",
                    path.display(),
                    number + 1
                );
            };
            files.insert(file, hash);
        }
        Ok(Record { files })
    }

    fn render(&self) -> String {
        let mut text = RECORD_HEADER.to_owned();
        for (file, hash) in &self.files {
            text.push_str(&format!("fnv1a64:{hash:016x}  {file}\n"));
        }
        text
    }
}

/// FNV-1a, 64 bits (offset basis 0xcbf29ce484222325, prime 0x100000001b3; the reference is
/// <http://www.isthe.com/chongo/tech/comp/fnv/>). It tells a file someone edited from the one
/// `new` wrote. It guards nothing against an adversary (whoever can edit the files can edit the
/// record), so a cryptographic hash would buy nothing here.
fn fnv1a_64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// How a file is written: where there is none, or over the one `new` wrote before.
#[derive(Clone, Copy)]
enum WriteKind {
    Create,
    Replace,
}

/// How `new` may write `file` into `dir`, or why it may not.
fn may_write(dir: &Path, file: &ProjectFile, record: &Record) -> Result<WriteKind, String> {
    let parts: Vec<&str> = file.path.split('/').collect();
    let mut at = dir.to_path_buf();
    for (i, part) in parts.iter().enumerate() {
        at.push(part);
        let shown = parts[..=i].join("/");
        let meta = match std::fs::symlink_metadata(&at) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(WriteKind::Create),
            Err(e) => return Err(format!("{shown}: cannot be read ({e})")),
            Ok(meta) => meta,
        };
        if meta.file_type().is_symlink() {
            return Err(format!(
                "{shown}: a symbolic link; `new` does not write through links"
            ));
        }
        let last = i + 1 == parts.len();
        if !last && !meta.is_dir() {
            return Err(format!(
                "{shown}: not a directory, where the project has one"
            ));
        }
        if last && !meta.is_file() {
            return Err(format!("{shown}: not a regular file"));
        }
    }
    let Some(recorded) = record.files.get(&file.path) else {
        return Err(format!(
            "{}: not written by `new` (it is not in {RECORD})",
            file.path
        ));
    };
    let content = std::fs::read(&at).map_err(|e| format!("{}: cannot be read ({e})", file.path))?;
    if fnv1a_64(&content) != *recorded {
        return Err(format!("{}: changed since `new` wrote it", file.path));
    }
    Ok(WriteKind::Replace)
}

/// Writes `files` into `dir`, each only where `new` may (see the module's documentation), and
/// the record of what it wrote.
fn write_project(dir: &Path, files: &[ProjectFile]) -> anyhow::Result<()> {
    refuse_symlink(dir)?;
    let record = Record::read(dir)?;
    let mut writes = Vec::with_capacity(files.len());
    let mut refusals: Vec<String> = Vec::new();
    for file in files {
        match may_write(dir, file, &record) {
            Ok(how) => writes.push((file, how)),
            Err(why) if !refusals.contains(&why) => refusals.push(why),
            Err(_) => {}
        }
    }
    if !refusals.is_empty() {
        let no_record = if std::fs::symlink_metadata(dir.join(RECORD)).is_err() {
            format!(
                "\n({} has no {RECORD}: its files are someone's own, or from cargo-generate or \
                 a `new` older than the record)",
                dir.display()
            )
        } else {
            String::new()
        };
        bail!(
            "{} has files `new` does not overwrite (it replaces only files it wrote itself, \
             recorded in {RECORD}, that nobody changed since):\n  {}{no_record}\nNothing was \
             written. Move each of them away (or delete it) to have `new` write its own, or \
             choose a new directory",
            dir.display(),
            refusals.join("\n  ")
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // Files recorded before that this run does not write stay replaceable while unchanged.
    let mut written = Record::default();
    for (path, hash) in &record.files {
        if files.iter().all(|f| &f.path != path) {
            let unchanged = std::fs::symlink_metadata(dir.join(path)).is_ok_and(|m| m.is_file())
                && std::fs::read(dir.join(path)).is_ok_and(|c| fnv1a_64(&c) == *hash);
            if unchanged {
                written.files.insert(path.clone(), *hash);
            }
        }
    }
    for (file, how) in writes {
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        match how {
            WriteKind::Create => create_new(&path, &file.content)?,
            WriteKind::Replace => replace(&path, &file.content)?,
        }
        written
            .files
            .insert(file.path.clone(), fnv1a_64(&file.content));
    }
    let path = dir.join(RECORD);
    let text = written.render();
    if std::fs::symlink_metadata(&path).is_ok() {
        replace(&path, text.as_bytes())
    } else {
        create_new(&path, text.as_bytes())
    }
}

/// Writes `content` to `path`, which must not exist (not even as a link).
fn create_new(path: &Path, content: &[u8]) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(content)
        .with_context(|| format!("writing {}", path.display()))
}

/// Writes `content` to a new file beside `path` and renames it over `path`: the old file is
/// never opened for writing, so its other names (hard links) keep their content.
fn replace(path: &Path, content: &[u8]) -> anyhow::Result<()> {
    let mut name = OsString::from(".");
    name.push(path.file_name().context("a file to replace has a name")?);
    name.push(format!(".new-{}", std::process::id()));
    let temporary = path.with_file_name(name);
    match std::fs::remove_file(&temporary) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("removing {}", temporary.display()));
        }
        _ => {}
    }
    let result = create_new(&temporary, content).and_then(|()| {
        std::fs::rename(&temporary, path)
            .with_context(|| format!("renaming {} to {}", temporary.display(), path.display()))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

fn refuse_symlink(path: &Path) -> anyhow::Result<()> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        bail!(
            "{} is a symbolic link: `new` does not write through links; remove it or choose \
             another directory",
            path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{check_crate_name, fnv1a_64};

    #[test]
    fn fnv1a_64_gives_the_reference_values() {
        // From the test vectors of the FNV reference (www.isthe.com/chongo/tech/comp/fnv).
        assert_eq!(fnv1a_64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a_64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn crate_names() {
        for good in ["my-jit", "jit_app", "a1", "_x"] {
            check_crate_name(good).unwrap();
        }
        for bad in ["", "1jit", "my jit", "jit/app", "test", "fn", "über"] {
            let err = check_crate_name(bad).unwrap_err().to_string();
            assert!(err.contains("--name"), "{bad}: {err}");
        }
    }
}
