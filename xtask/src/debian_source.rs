//! A Debian source package's upstream tarball, fetched from the archive the way apt would
//! trust it: the suite's `InRelease` checked with `gpgv` against Debian's archive keyring, the
//! `Sources.xz` index against the hash that file signs, the tarball against the index's
//! SHA-256. No `deb-src` line is needed (there is none on a default Debian system, so
//! `apt-get source` does not work); the repositories are the ones apt already uses.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::progress;

/// The keyring of Debian's archive signing keys (package debian-archive-keyring).
pub(crate) const ARCHIVE_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// The source package an installed binary package was built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourcePackage {
    /// e.g. `llvm-toolchain-14`.
    pub(crate) name: String,
    /// The Debian version, epoch and revision included: `1:14.0.6-12`.
    pub(crate) version: String,
}

impl SourcePackage {
    /// The source package of the installed binary package `binary`, as dpkg records it.
    pub(crate) fn of_installed(sh: &Shell, binary: &str) -> anyhow::Result<SourcePackage> {
        let format = "${source:Package} ${source:Version}";
        let output = cmd!(sh, "dpkg-query -W -f {format} {binary}")
            .quiet()
            .ignore_status()
            .output()
            .with_context(|| format!("cannot run dpkg-query for the Debian package {binary}"))?;
        let text = String::from_utf8_lossy(&output.stdout);
        match text.split_once(' ') {
            Some((name, version)) if output.status.success() && !version.is_empty() => {
                Ok(SourcePackage {
                    name: name.to_owned(),
                    version: version.trim().to_owned(),
                })
            }
            _ => bail!(
                "the Debian package {binary} is not installed (dpkg-query: {})",
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        }
    }

    /// The upstream version, without the epoch and the Debian revision: `14.0.6`.
    pub(crate) fn upstream_version(&self) -> &str {
        let without_epoch = self
            .version
            .split_once(':')
            .map_or(self.version.as_str(), |(_, rest)| rest);
        without_epoch
            .rsplit_once('-')
            .map_or(without_epoch, |(upstream, _)| upstream)
    }

    /// The upstream tarball's file name: `llvm-toolchain-14_14.0.6.orig.tar.xz`.
    pub(crate) fn orig_tarball(&self) -> String {
        format!("{}_{}.orig.tar.xz", self.name, self.upstream_version())
    }
}

impl std::fmt::Display for SourcePackage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.name, self.version)
    }
}

/// Where a source package's tarball is, by the archive's signed index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tarball {
    /// Where to download it, best first: the index's own repository, then the same pool path
    /// in apt's other repositories (see [`candidate_urls`]).
    pub(crate) urls: Vec<String>,
    pub(crate) sha256: String,
    pub(crate) size: u64,
    /// The `Sources.xz` that lists it.
    pub(crate) index: String,
}

/// A suite of a repository apt uses: `http://deb.debian.org/debian/`, `bookworm`, `main`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Suite {
    repository: String,
    release: String,
    component: String,
}

impl Suite {
    fn dists(&self) -> String {
        format!(
            "{}/dists/{}",
            self.repository.trim_end_matches('/'),
            self.release
        )
    }
}

/// The suites of apt's configured `deb` repositories, in apt's order, each once.
fn apt_suites(sh: &Shell) -> anyhow::Result<Vec<Suite>> {
    let format = "$(TARGET_OF)\t$(REPO_URI)\t$(RELEASE)\t$(COMPONENT)";
    let listing = cmd!(
        sh,
        "apt-get indextargets --no-release-info --format {format}"
    )
    .quiet()
    .read()
    .context("cannot list apt's repositories (apt-get indextargets)")?;
    let mut suites = Vec::new();
    for line in listing.lines() {
        let mut parts = line.split('\t');
        let (Some("deb"), Some(repository), Some(release), Some(component)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        // A flat repository (`./`) has no dists/ and no source index of this form.
        if release.is_empty() || release.contains("./") || component.is_empty() {
            continue;
        }
        let suite = Suite {
            repository: repository.to_owned(),
            release: release.to_owned(),
            component: component.to_owned(),
        };
        if !suites.contains(&suite) {
            suites.push(suite);
        }
    }
    Ok(suites)
}

/// Finds `package` in the source indices of apt's Debian repositories and returns where its
/// upstream tarball is. `work` is a scratch directory for the indices.
pub(crate) fn locate(sh: &Shell, package: &SourcePackage, work: &Path) -> anyhow::Result<Tarball> {
    let suites = apt_suites(sh)?;
    let mut searched = Vec::new();
    let mut read_any = false;
    for suite in &suites {
        let index_url = format!("{}/{}/source/Sources.xz", suite.dists(), suite.component);
        let sources = match signed_sources_index(sh, suite, work)? {
            Ok(sources) => sources,
            Err(why) => {
                searched.push(format!("{index_url} ({why})"));
                continue;
            }
        };
        read_any = true;
        searched.push(index_url.clone());
        let Some(stanza) = find_stanza(&sources, package) else {
            continue;
        };
        let name = package.orig_tarball();
        let fields = Fields::parse(stanza);
        let directory = fields.get("Directory").with_context(|| {
            format!("{index_url}: the stanza of {package} has no Directory field")
        })?;
        let (sha256, size) = fields
            .get("Checksums-Sha256")
            .and_then(|list| checksum_of(list, &name))
            .with_context(|| {
                format!("{index_url}: the stanza of {package} lists no SHA-256 of {name}")
            })?;
        return Ok(Tarball {
            urls: candidate_urls(suite, &suites, directory, &name),
            sha256,
            size,
            index: index_url,
        });
    }
    if suites.is_empty() {
        bail!(
            "apt lists no deb repositories (apt-get indextargets printed none), so there is no \
             source index to find {package} in"
        );
    }
    if !read_any {
        bail!(
            "no source index of apt's repositories could be read:\n  {}\nDebian's archive must be \
             reachable from this machine (as for apt-get update)",
            searched.join("\n  ")
        );
    }
    bail!(
        "Debian's source indices do not list {package} (the installed version); searched:\n  {}\n\
         the installed package may be older than the archive's: upgrade it (as root: apt-get \
         update && apt-get install --only-upgrade <the binary package>) and run this again",
        searched.join("\n  ")
    )
}

/// Where the file `name` of pool directory `directory` (as `suite`'s index gives it) can be:
/// first in `suite`'s own repository, then in apt's other repositories. An orig tarball is one
/// file across Debian's archives (the same name always has the same content; the SHA-256 is
/// checked anyway), and the security archive does not always carry the one its index names:
/// `llvm-toolchain-22_22.1.8.orig.tar.xz` of bookworm-security's
/// `pool/updates/main/l/llvm-toolchain-22` is only in the main archive's
/// `pool/main/l/llvm-toolchain-22`. So a `pool/updates/` directory is also tried as `pool/`.
fn candidate_urls(suite: &Suite, suites: &[Suite], directory: &str, name: &str) -> Vec<String> {
    let mut directories = vec![directory.to_owned()];
    if let Some(rest) = directory.strip_prefix("pool/updates/") {
        directories.push(format!("pool/{rest}"));
    }
    let repositories = std::iter::once(suite)
        .chain(suites)
        .map(|s| s.repository.trim_end_matches('/'));
    let mut urls: Vec<String> = Vec::new();
    for repository in repositories {
        for directory in &directories {
            let url = format!("{repository}/{directory}/{name}");
            if !urls.contains(&url) {
                urls.push(url);
            }
        }
    }
    urls
}

/// Downloads the first of `urls` that the server has to `file`; returns that URL.
pub(crate) fn download_first(sh: &Shell, urls: &[String], file: &Path) -> anyhow::Result<String> {
    let mut failures = Vec::new();
    for url in urls {
        match download(sh, url, file) {
            Ok(()) => return Ok(url.clone()),
            Err(e) => failures.push(format!("{url}: {e:#}")),
        }
    }
    bail!(
        "no repository has it:\n  {}\nDebian's archive must be reachable (the machine's apt \
         repositories)",
        failures.join("\n  ")
    )
}

/// The decompressed `Sources` index of `suite`, checked against its `InRelease`, which
/// Debian's archive key must have signed. `Ok(Err(why))`: this suite has no such index (not a
/// Debian repository, no source index), which is not an error as long as another suite has the
/// package.
fn signed_sources_index(
    sh: &Shell,
    suite: &Suite,
    work: &Path,
) -> anyhow::Result<Result<String, String>> {
    let in_release_url = format!("{}/InRelease", suite.dists());
    let stem = format!(
        "{}-{}",
        suite.release.replace('/', "_"),
        suite.component.replace('/', "_")
    );
    let signed = work.join(format!("{stem}.InRelease"));
    let release = work.join(format!("{stem}.Release"));
    if let Err(e) = download(sh, &in_release_url, &signed) {
        return Ok(Err(format!("no InRelease: {e:#}")));
    }
    // gpgv writes its --output itself and refuses an existing file.
    let _ = std::fs::remove_file(&release);
    let keyring = ARCHIVE_KEYRING;
    let verified = cmd!(sh, "gpgv --keyring {keyring} --output {release} {signed}")
        .quiet()
        .ignore_status()
        .output()
        .context("cannot run gpgv (Debian package gpgv)")?;
    if !verified.status.success() {
        return Ok(Err(format!(
            "{in_release_url} is not signed by a key of {keyring}: {}",
            String::from_utf8_lossy(&verified.stderr).trim()
        )));
    }
    let release_text = std::fs::read_to_string(&release)
        .with_context(|| format!("cannot read {}", release.display()))?;
    let path = format!("{}/source/Sources.xz", suite.component);
    let Some((sha256, _)) = Fields::parse(&release_text)
        .get("SHA256")
        .and_then(|list| checksum_of(list, &path))
    else {
        return Ok(Err(format!("{in_release_url} lists no {path}")));
    };
    let index_url = format!("{}/{path}", suite.dists());
    let index = work.join(format!("{stem}.Sources.xz"));
    download(sh, &index_url, &index).context(
        "Debian's archive must be reachable (the machine's apt repositories): try \
         `apt-get update`",
    )?;
    verify_sha256(sh, &index, &sha256, &index_url)?;
    let text = cmd!(sh, "xz -dc {index}")
        .quiet()
        .read()
        .with_context(|| format!("cannot decompress {index_url} (xz, Debian package xz-utils)"))?;
    Ok(Ok(text))
}

/// Downloads `url` to `file` with the system's curl; an error says what curl said.
pub(crate) fn download(sh: &Shell, url: &str, file: &Path) -> anyhow::Result<()> {
    let output = cmd!(
        sh,
        "curl --fail --silent --show-error --location --retry 2 --connect-timeout 30 -o {file} {url}"
    )
    .quiet()
    .ignore_status()
    .output()
    .context("cannot run curl (Debian package curl)")?;
    if !output.status.success() {
        let _ = std::fs::remove_file(file);
        bail!(
            "downloading {url} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Fails unless `file` has the SHA-256 `expected` (what the index says about `what`).
pub(crate) fn verify_sha256(
    sh: &Shell,
    file: &Path,
    expected: &str,
    what: &str,
) -> anyhow::Result<()> {
    let output = cmd!(sh, "sha256sum {file}")
        .quiet()
        .read()
        .with_context(|| format!("cannot run sha256sum on {}", file.display()))?;
    let actual = output.split_whitespace().next().unwrap_or_default();
    if !actual.eq_ignore_ascii_case(expected) {
        bail!(
            "{what}: downloaded file {} has SHA-256 {actual}, but Debian's index says \
             {expected}: the download is corrupt or was tampered with; run the command again",
            file.display()
        );
    }
    Ok(())
}

/// The stanza of `package` (its name and exactly its version) in a `Sources` index.
fn find_stanza<'a>(sources: &'a str, package: &SourcePackage) -> Option<&'a str> {
    sources.split("\n\n").find(|stanza| {
        let fields = Fields::parse(stanza);
        fields.get("Package") == Some(package.name.as_str())
            && fields.get("Version") == Some(package.version.as_str())
    })
}

/// One deb822 stanza's fields (Debian's control-file format), continuation lines joined with
/// `\n`.
pub(crate) struct Fields<'a>(Vec<(&'a str, String)>);

impl<'a> Fields<'a> {
    pub(crate) fn parse(stanza: &'a str) -> Fields<'a> {
        let mut fields: Vec<(&str, String)> = Vec::new();
        for line in stanza.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = fields.last_mut() {
                    value.push('\n');
                    value.push_str(line.trim());
                }
            } else if let Some((name, value)) = line.split_once(':') {
                fields.push((name.trim(), value.trim().to_owned()));
            }
        }
        Fields(fields)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// In a checksum list (lines of `HASH SIZE NAME`), the hash and size of `name`.
fn checksum_of(list: &str, name: &str) -> Option<(String, u64)> {
    list.lines().find_map(|line| {
        let mut parts = line.split_whitespace();
        let (hash, size, file) = (parts.next()?, parts.next()?, parts.next()?);
        if file != name {
            return None;
        }
        Some((hash.to_owned(), size.parse().ok()?))
    })
}

/// A scratch directory removed when dropped (on success and on every error).
pub(crate) struct Scratch(pub(crate) PathBuf);

impl Scratch {
    pub(crate) fn new(path: PathBuf) -> anyhow::Result<Scratch> {
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Scratch(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            progress!("deps: cannot remove {}: {e}", self.0.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A shortened stanza of bookworm's main/source/Sources (the fields this module reads).
    const SOURCES: &str = "\
Package: llvm-toolchain-13
Version: 1:13.0.1-11
Directory: pool/main/l/llvm-toolchain-13

Package: llvm-toolchain-14
Binary: clang-14, clang-tools-14,
 llvm-14, llvm-14-dev
Version: 1:14.0.6-12
Checksums-Sha256:
 5a8be914a6df7cbf5b7e10f6b1f211b8cf45994665109a73a172040193191921 7699 llvm-toolchain-14_14.0.6-12.dsc
 d9bce5f42381d781e273c724db1ab0acd66259bf2782b79891664dbf1953d22c 129761992 llvm-toolchain-14_14.0.6.orig.tar.xz
 1b5ee7cc3f97e1615bae9573de435e751974c2ec3a878e196bb31e14ff54385c 162032 llvm-toolchain-14_14.0.6-12.debian.tar.xz
Directory: pool/main/l/llvm-toolchain-14
";

    fn package(name: &str, version: &str) -> SourcePackage {
        SourcePackage {
            name: name.into(),
            version: version.into(),
        }
    }

    #[test]
    fn upstream_version_and_tarball_name() {
        let llvm14 = package("llvm-toolchain-14", "1:14.0.6-12");
        assert_eq!(llvm14.upstream_version(), "14.0.6");
        assert_eq!(
            llvm14.orig_tarball(),
            "llvm-toolchain-14_14.0.6.orig.tar.xz"
        );
        let security = package("llvm-toolchain-22", "1:22.1.8-1~deb12u1");
        assert_eq!(security.upstream_version(), "22.1.8");
        assert_eq!(package("x", "2.0-1-3").upstream_version(), "2.0-1");
        assert_eq!(package("native", "3.2").upstream_version(), "3.2");
    }

    #[test]
    fn finds_the_stanza_of_exactly_the_version() {
        let llvm14 = package("llvm-toolchain-14", "1:14.0.6-12");
        let stanza = find_stanza(SOURCES, &llvm14).expect("the stanza");
        let fields = Fields::parse(stanza);
        assert_eq!(
            fields.get("Directory"),
            Some("pool/main/l/llvm-toolchain-14")
        );
        assert_eq!(
            checksum_of(
                fields.get("Checksums-Sha256").unwrap(),
                &llvm14.orig_tarball()
            ),
            Some((
                "d9bce5f42381d781e273c724db1ab0acd66259bf2782b79891664dbf1953d22c".into(),
                129_761_992
            ))
        );
        assert!(find_stanza(SOURCES, &package("llvm-toolchain-14", "1:14.0.6-11")).is_none());
        assert!(find_stanza(SOURCES, &package("llvm-toolchain-1", "1:14.0.6-12")).is_none());
    }

    #[test]
    fn a_security_pool_file_is_also_looked_for_in_the_main_archive() {
        let suite = |repository: &str, release: &str| Suite {
            repository: repository.into(),
            release: release.into(),
            component: "main".into(),
        };
        let main = suite("http://deb.debian.org/debian/", "bookworm");
        let security = suite(
            "http://deb.debian.org/debian-security/",
            "bookworm-security",
        );
        let suites = [
            main.clone(),
            suite("http://deb.debian.org/debian/", "bookworm-updates"),
            security.clone(),
        ];
        let name = "llvm-toolchain-22_22.1.8.orig.tar.xz";
        assert_eq!(
            candidate_urls(
                &security,
                &suites,
                "pool/updates/main/l/llvm-toolchain-22",
                name
            ),
            [
                "http://deb.debian.org/debian-security/pool/updates/main/l/llvm-toolchain-22/llvm-toolchain-22_22.1.8.orig.tar.xz",
                "http://deb.debian.org/debian-security/pool/main/l/llvm-toolchain-22/llvm-toolchain-22_22.1.8.orig.tar.xz",
                "http://deb.debian.org/debian/pool/updates/main/l/llvm-toolchain-22/llvm-toolchain-22_22.1.8.orig.tar.xz",
                "http://deb.debian.org/debian/pool/main/l/llvm-toolchain-22/llvm-toolchain-22_22.1.8.orig.tar.xz",
            ]
        );
        let name = "llvm-toolchain-14_14.0.6.orig.tar.xz";
        assert_eq!(
            candidate_urls(&main, &suites, "pool/main/l/llvm-toolchain-14", name),
            [
                "http://deb.debian.org/debian/pool/main/l/llvm-toolchain-14/llvm-toolchain-14_14.0.6.orig.tar.xz",
                "http://deb.debian.org/debian-security/pool/main/l/llvm-toolchain-14/llvm-toolchain-14_14.0.6.orig.tar.xz",
            ]
        );
    }

    #[test]
    fn a_download_is_checked_with_sha256sum() {
        let sh = Shell::new().unwrap();
        let file = std::env::temp_dir().join(format!("xtask-sha256-{}", std::process::id()));
        std::fs::write(&file, "abc").unwrap();
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        verify_sha256(&sh, &file, abc, "t.orig.tar.xz").unwrap();
        let other = abc.replace('b', "c");
        let why = format!(
            "{:#}",
            verify_sha256(&sh, &file, &other, "t.orig.tar.xz").unwrap_err()
        );
        assert!(
            why.contains("t.orig.tar.xz") && why.contains("corrupt"),
            "{why}"
        );
        std::fs::remove_file(file).unwrap();
    }

    #[test]
    fn reads_a_release_files_hash_list() {
        let release = "Origin: Debian\nSuite: stable\nSHA256:\n \
            754e8e96 9491887 main/source/Sources.gz\n \
            92d11a035571df011f06f28c61cb9825130ef1d92abb2f2e0525e8674dc44af8  9491888 main/source/Sources.xz\n";
        let fields = Fields::parse(release);
        assert_eq!(fields.get("Origin"), Some("Debian"));
        assert_eq!(
            checksum_of(fields.get("SHA256").unwrap(), "main/source/Sources.xz"),
            Some((
                "92d11a035571df011f06f28c61cb9825130ef1d92abb2f2e0525e8674dc44af8".into(),
                9_491_888
            ))
        );
        assert_eq!(
            checksum_of(fields.get("SHA256").unwrap(), "main/source/Sources"),
            None
        );
    }
}
