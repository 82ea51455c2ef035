//! Where glibc's dynamic loader finds each `DT_NEEDED` library: the rules are listed, each
//! with the loader code it mirrors, in the crate documentation ("The loader's rules").

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;
use crate::ldcache::LdCache;

/// The loader's configuration on this machine.
#[derive(Debug)]
pub(crate) struct Config {
    /// The machine and class of binaries this system's loader runs.
    pub machine: u16,
    pub class64: bool,
    /// The glibc-hwcaps names this CPU supports, most preferred first (for ld.so.cache).
    pub hwcaps: Vec<String>,
    /// `/etc/ld.so.cache`, read once per process.
    pub cache: &'static LdCache,
    /// What only the loader itself can say, asked the first time a directory is searched or a
    /// token expanded (most libraries come from the cache, which needs none of it).
    directories: std::sync::OnceLock<Directories>,
    /// `$PLATFORM` and `$LIB`, asked the first time an entry uses one.
    tokens: std::sync::OnceLock<(String, String)>,
    /// The loader asked, when not this machine's own (another ABI's, like i386 on x86-64).
    loader: Option<PathBuf>,
    /// Set when the binary runs in secure mode (AT_SECURE) for the users it is meant for:
    /// why (set-user-ID, set-group-ID, and whose).
    pub secure: Option<String>,
}

/// Why a set-user-ID or set-group-ID executable at `path` runs in secure mode (AT_SECURE) for
/// every user but its owner (the kernel sets it when the effective ids differ from the real
/// ones after exec), or `None`: no such bit, not an executable, or on a file system mounted
/// `nosuid` (where the bits do nothing). File capabilities, which also set AT_SECURE, are not
/// read.
pub(crate) fn secure_mode(path: &Path, executable: bool) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path).ok()?;
    let mode = metadata.mode();
    let setuid = mode & 0o4000 != 0;
    // Without group execute permission the set-group-ID bit means mandatory locking, not
    // set-group-ID on exec.
    let setgid = mode & 0o2000 != 0 && mode & 0o010 != 0;
    if !executable || !(setuid || setgid) || mounted_nosuid(path) {
        return None;
    }
    Some(match (setuid, setgid) {
        (true, true) => format!(
            "set-user-ID (owner uid {}) and set-group-ID (group gid {})",
            metadata.uid(),
            metadata.gid()
        ),
        (true, false) => format!("set-user-ID (owner uid {})", metadata.uid()),
        _ => format!("set-group-ID (group gid {})", metadata.gid()),
    })
}

/// Whether `path` lies on a file system mounted `nosuid` (`/proc/self/mountinfo`: the last
/// mount whose mount point is the longest prefix of the path's real location).
fn mounted_nosuid(path: &Path) -> bool {
    let Ok(real) = path.canonicalize() else {
        return false;
    };
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let mut best: Option<(usize, bool)> = None;
    for line in mounts.lines() {
        let mut fields = line.split(' ').skip(4);
        let (Some(point), Some(options)) = (fields.next(), fields.next()) else {
            continue;
        };
        // Spaces and the like are octal escapes (`\040`).
        let point = unescape_octal(point);
        if real.starts_with(&point) && best.is_none_or(|(len, _)| point.len() >= len) {
            best = Some((point.len(), options.split(',').any(|o| o == "nosuid")));
        }
    }
    best.is_some_and(|(_, nosuid)| nosuid)
}

fn unescape_octal(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let digits = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (bytes[i], digits) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The loader's directory rules, as it prints them.
#[derive(Debug, Clone)]
pub(crate) struct Directories {
    /// The system search path, in order.
    pub system: Vec<PathBuf>,
    /// Subdirectories tried in each search directory before it, in order (`glibc-hwcaps/...`,
    /// then the legacy ones).
    pub subdirs: Vec<String>,
}

/// Runs `loader` (else this machine's own) with `arg`; what it printed, each answer asked once
/// per process.
fn ask_loader(loader: Option<&Path>, arg: &str) -> String {
    type Asked = Vec<(Option<PathBuf>, String, String)>;
    static ASKED: std::sync::Mutex<Asked> = std::sync::Mutex::new(Vec::new());
    let key = loader.map(Path::to_path_buf);
    let mut asked = ASKED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, _, out)) = asked.iter().find(|(l, a, _)| *l == key && a == arg) {
        return out.clone();
    }
    let program = key
        .clone()
        .or_else(|| HOST_LOADERS.iter().map(PathBuf::from).find(|p| p.is_file()));
    let out = program
        .and_then(|l| Command::new(l).arg(arg).output().ok())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    asked.push((key, arg.to_owned(), out.clone()));
    out
}

/// The file of libraries every program on this machine preloads (rtld.c).
pub(crate) const PRELOAD_FILE: &str = "/etc/ld.so.preload";

/// The names in [`PRELOAD_FILE`], in order, read once per process as the loader reads them
/// ([`preload_names`]). A file that is not there (the usual case) or not readable lists
/// nothing.
pub(crate) fn preload_file_entries() -> &'static [String] {
    static ENTRIES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    ENTRIES.get_or_init(|| {
        std::fs::read(PRELOAD_FILE)
            .map(|bytes| preload_names(&bytes))
            .unwrap_or_default()
    })
}

/// The names of a preload file, as rtld.c (`dl_main`) reads them: comments blanked, then the
/// names separated by spaces, tabs, newlines and colons. A `#` starts a comment to the end of
/// its line, but the loader looks for each next `#` from the start of the file, within a
/// length it shortened by the part before the comment and by the comment itself: a later `#`
/// beyond that length, or the rest of a comment past it, stays and is read as names (seen
/// with glibc 2.36: `lib.so # old.so` after an earlier comment preloads what follows).
fn preload_names(file: &[u8]) -> Vec<String> {
    let mut text = file.to_vec();
    let mut rest = text.len();
    while rest > 0 {
        let Some(mut at) = text[..rest].iter().position(|b| *b == b'#') else {
            break;
        };
        rest -= at;
        loop {
            text[at] = b' ';
            rest -= 1;
            if rest == 0 || text.get(at + 1).is_none_or(|b| *b == b'\n') {
                break;
            }
            at += 1;
        }
    }
    text.split(|b| matches!(b, b' ' | b'\t' | b'\n' | b':'))
        .filter(|name| !name.is_empty())
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .collect()
}

/// The names in this process's `LD_PRELOAD` (separated by spaces and colons, as rtld.c splits
/// them), which applies to programs started from this environment only.
pub(crate) fn environment_preloads() -> Vec<String> {
    std::env::var_os("LD_PRELOAD")
        .map(|value| {
            value
                .to_string_lossy()
                .split([' ', ':'])
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The loader binaries of this machine's ABI.
const HOST_LOADERS: &[&str] = &[
    "/lib64/ld-linux-x86-64.so.2",
    "/lib/ld-linux-aarch64.so.1",
    "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
];

impl Config {
    /// The configuration of this machine's loader (the cache is read once per process). A
    /// cache that is there but cannot be read or parsed is an error naming it: glibc checks a
    /// cache lazily and may use parts of a broken one, which cannot be answered for.
    pub(crate) fn host() -> Result<Config, Error> {
        static CACHE: std::sync::OnceLock<Result<LdCache, String>> = std::sync::OnceLock::new();
        let (machine, class64) = host_machine();
        let cache = CACHE
            .get_or_init(LdCache::load)
            .as_ref()
            .map_err(|message| Error::LoaderCache {
                path: PathBuf::from(crate::ldcache::LD_SO_CACHE),
                message: message.clone(),
            })?;
        Ok(Config {
            machine,
            class64,
            hwcaps: crate::ldcache::supported_hwcaps()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            cache,
            directories: std::sync::OnceLock::new(),
            tokens: std::sync::OnceLock::new(),
            loader: None,
            secure: None,
        })
    }

    /// The configuration for a binary of `machine`/`class64` started by `interp`: this
    /// machine's, or, when this machine also has the loader of that other ABI (a 32-bit x86
    /// binary on x86-64 with `/lib/ld-linux.so.2`), that loader's own. For a binary this machine
    /// cannot run it is this machine's, whose machine the load graph sees differ (`foreign`).
    pub(crate) fn for_binary(
        machine: u16,
        class64: bool,
        interp: Option<&str>,
    ) -> Result<Config, Error> {
        let mut config = Config::host()?;
        if machine == config.machine && class64 == config.class64 {
            return Ok(config);
        }
        let Some(interp) = interp.map(PathBuf::from) else {
            return Ok(config);
        };
        let identity = crate::file::Opened::open(&interp)
            .ok()
            .and_then(|f| f.identity().ok());
        match identity {
            Some((c, m, _)) if c == class64 && m == machine => {}
            _ => return Ok(config),
        }
        config.machine = machine;
        config.class64 = class64;
        // The glibc-hwcaps levels are x86-64's.
        config.hwcaps = Vec::new();
        config.loader = Some(interp);
        Ok(config)
    }

    /// `($PLATFORM, $LIB)` as the loader expands them (`dl_platform`, `dl_dst_lib`).
    fn tokens(&self) -> &(String, String) {
        self.tokens.get_or_init(|| {
            tokens_from(
                &ask_loader(self.loader.as_deref(), "--list-diagnostics"),
                &self.directories().system,
            )
        })
    }

    /// The loader's directory rules: asked of the loader once per process.
    pub(crate) fn directories(&self) -> &Directories {
        self.directories
            .get_or_init(|| Directories::from_help(&ask_loader(self.loader.as_deref(), "--help")))
    }
}

impl Directories {
    /// The rules as `ld.so --help` prints them.
    fn from_help(help: &str) -> Directories {
        #[derive(PartialEq)]
        enum Part {
            None,
            Path,
            Hwcaps,
            Legacy,
        }
        let mut part = Part::None;
        let mut system = Vec::new();
        let mut hwcaps = Vec::new();
        let mut legacy: Vec<(String, bool)> = Vec::new();
        for line in help.lines() {
            if line.starts_with("Shared library search path") {
                part = Part::Path;
            } else if line.starts_with("Subdirectories of glibc-hwcaps") {
                part = Part::Hwcaps;
            } else if line.starts_with("Legacy HWCAP subdirectories") {
                part = Part::Legacy;
            } else if !line.starts_with("  ") {
                part = Part::None;
            } else {
                let entry = line.trim();
                let (name, note) = entry.split_once(" (").unwrap_or((entry, ""));
                match part {
                    Part::Path if note.starts_with("system search path") => {
                        system.push(PathBuf::from(name));
                    }
                    Part::Hwcaps if note.contains("searched") && !note.contains("not") => {
                        hwcaps.push(name.to_owned());
                    }
                    Part::Legacy if note.contains("searched") && !note.contains("not") => {
                        legacy.push((name.to_owned(), note.contains("AT_PLATFORM")));
                    }
                    _ => {}
                }
            }
        }
        if system.is_empty() {
            system = default_system_dirs();
        }
        // Legacy subdirectories nest as tls, then the platform, then the others, and are tried
        // from the longest combination down (as the loader's `LD_DEBUG=libs` shows).
        let mut components: Vec<String> = Vec::new();
        if let Some((tls, _)) = legacy.iter().find(|(n, _)| n == "tls") {
            components.push(tls.clone());
        }
        components.extend(legacy.iter().filter(|(_, p)| *p).map(|(n, _)| n.clone()));
        components.extend(
            legacy
                .iter()
                .filter(|(n, p)| !*p && n != "tls")
                .map(|(n, _)| n.clone()),
        );
        let mut subdirs: Vec<String> = hwcaps.iter().map(|h| format!("glibc-hwcaps/{h}")).collect();
        let n = components.len().min(16);
        for mask in (1..(1u32 << n)).rev() {
            let parts: Vec<&str> = (0..n)
                .filter(|i| mask & (1 << (n - 1 - i)) != 0)
                .map(|i| components[i].as_str())
                .collect();
            subdirs.push(parts.join("/"));
        }
        Directories { system, subdirs }
    }
}

/// `($PLATFORM, $LIB)` from `ld.so --list-diagnostics` (`dl_platform`, `dl_dst_lib`); without
/// them, the machine's name and the first system directory's path.
fn tokens_from(diagnostics: &str, system: &[PathBuf]) -> (String, String) {
    let value = |key: &str| {
        diagnostics
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|l| l.strip_prefix("=\""))
            .and_then(|l| l.strip_suffix('"'))
            .map(str::to_owned)
    };
    let platform = value("dl_platform").unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    let lib = value("dl_dst_lib")
        .or_else(|| {
            system
                .first()
                .and_then(|d| d.to_str())
                .map(|d| d.trim_start_matches('/').to_owned())
        })
        .unwrap_or_else(|| "lib".to_owned());
    (platform, lib)
}

impl Config {
    /// The directory an RPATH/RUNPATH entry of `object` stands for, as the loader takes it: its
    /// tokens expanded ([`Config::expand`]), and in secure mode `Err` (why) for an entry the
    /// loader drops: one with `$ORIGIN` anywhere but at its start (followed by its end or a
    /// `/`), and, in the executable's own entries, one with `$ORIGIN` whose expansion does not
    /// lie under a system directory (`_dl_dst_substitute`, `is_trusted_path_normalize`).
    pub(crate) fn directory(&self, entry: &str, object: &Searcher) -> Result<PathBuf, String> {
        let expanded = self.expand(entry, &object.origin).unwrap_or_default();
        let origins = tokens_in(entry, "ORIGIN");
        if self.secure.is_none() || origins.is_empty() {
            return Ok(expanded);
        }
        let at_start = |&(at, end): &(usize, usize)| {
            at == 0 && matches!(entry.as_bytes().get(end), None | Some(b'/'))
        };
        if !origins.iter().all(at_start) {
            return Err(
                "ignored in secure mode: $ORIGIN counts only at the start of an entry".into(),
            );
        }
        if object.executable {
            let normalized = normalize(&expanded.to_string_lossy());
            let trusted = self.directories().system.iter().any(|dir| {
                let dir = format!("{}/", dir.to_string_lossy().trim_end_matches('/'));
                normalized.starts_with(&dir)
            });
            if !trusted {
                return Err(format!(
                    "ignored in secure mode: the executable's $ORIGIN expands to {}, under none \
                     of the system directories",
                    expanded.display()
                ));
            }
        }
        Ok(expanded)
    }

    /// Expands the dynamic string tokens of an RPATH/RUNPATH entry of an object in `origin`; a
    /// `$` that starts no known token stays as it is, as the loader keeps it.
    pub(crate) fn expand(&self, entry: &str, origin: &Path) -> Option<PathBuf> {
        let origin = origin.to_string_lossy();
        let mut out = String::new();
        let mut rest = entry;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let (token, len) = if let Some(braced) = after.strip_prefix('{') {
                match braced.find('}') {
                    Some(end) => (&braced[..end], end + 2),
                    None => ("", 0),
                }
            } else {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            };
            match token {
                "ORIGIN" => out.push_str(&origin),
                "LIB" => out.push_str(&self.tokens().1),
                "PLATFORM" => out.push_str(&self.tokens().0),
                // Not a token the loader knows: it keeps the `$` and goes on
                // (`_dl_dst_substitute`).
                _ => {
                    out.push('$');
                    rest = after;
                    continue;
                }
            }
            rest = &after[len..];
        }
        out.push_str(rest);
        Some(PathBuf::from(out))
    }
}

/// Where each dynamic string token called `name` starts in `entry` (its `$`) and ends, by the
/// rules [`Config::expand`] reads tokens with (`$NAME` or `${NAME}`).
fn tokens_in(entry: &str, name: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    for (at, _) in entry.match_indices('$') {
        let after = &entry[at + 1..];
        let (token, len) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => continue,
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        if token == name {
            found.push((at, at + 1 + len));
        }
    }
    found
}

/// `path` with `.` and `..` components and repeated slashes resolved, ending in `/`, as
/// glibc's `is_trusted_path_normalize` makes it (no file system lookups).
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    let mut out = String::from("/");
    for part in parts {
        out.push_str(part);
        out.push('/');
    }
    out
}

fn host_machine() -> (u16, bool) {
    match std::env::consts::ARCH {
        "x86_64" => (object::elf::EM_X86_64, true),
        "aarch64" => (object::elf::EM_AARCH64, true),
        "x86" => (object::elf::EM_386, false),
        _ => (0, true),
    }
}

fn default_system_dirs() -> Vec<PathBuf> {
    let multiarch = match std::env::consts::ARCH {
        "x86_64" => "x86_64-linux-gnu",
        "aarch64" => "aarch64-linux-gnu",
        other => other,
    };
    [
        format!("/lib/{multiarch}"),
        format!("/usr/lib/{multiarch}"),
        "/lib".to_owned(),
        "/usr/lib".to_owned(),
    ]
    .into_iter()
    .map(PathBuf::from)
    .collect()
}

/// What one object contributes to the search for its dependencies.
#[derive(Debug, Clone)]
pub(crate) struct Searcher {
    /// The object's path (for the trace).
    pub path: PathBuf,
    /// The directory `$ORIGIN` stands for.
    pub origin: PathBuf,
    pub runpath: Vec<String>,
    pub rpath: Vec<String>,
    pub nodeflib: bool,
    /// The executable (whose `$ORIGIN` must, in secure mode, lie under a system directory).
    pub executable: bool,
}

/// Why one place was or was not where the library came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    /// Where the directory comes from: `RUNPATH of X`, `ld.so.cache`, `system search path`...
    pub source: String,
    /// The directory (or cache entry) tried.
    pub place: String,
    /// `found`, or why not.
    pub outcome: String,
}

/// A machine's name, for messages.
pub(crate) fn machine_name(machine: u16) -> String {
    match machine {
        object::elf::EM_X86_64 => "x86-64".into(),
        object::elf::EM_AARCH64 => "aarch64".into(),
        object::elf::EM_386 => "i386".into(),
        object::elf::EM_ARM => "arm".into(),
        object::elf::EM_RISCV => "riscv".into(),
        other => format!("machine {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELP: &str = "\
Shared library search path:
  (libraries located via /etc/ld.so.cache)
  /lib/x86_64-linux-gnu (system search path)
  /usr/lib/x86_64-linux-gnu (system search path)
  /lib (system search path)
  /usr/lib (system search path)

Subdirectories of glibc-hwcaps directories, in priority order:
  x86-64-v4 (supported, searched)
  x86-64-v3 (supported, searched)
  x86-64-v2 (supported, searched)

Legacy HWCAP subdirectories under library search path directories:
  haswell (AT_PLATFORM; supported, searched)
  tls (supported, searched)
  avx512_1 (supported, searched)
  x86_64 (supported, searched)
";

    #[test]
    fn the_loaders_help_gives_the_search_path_and_subdirectories_in_its_order() {
        let config = Directories::from_help(HELP);
        assert_eq!(config.system[0], Path::new("/lib/x86_64-linux-gnu"));
        assert_eq!(config.system.len(), 4);
        let tokens = tokens_from(
            "dl_dst_lib=\"lib/x\"\ndl_platform=\"haswell\"\n",
            &config.system,
        );
        assert_eq!(tokens, ("haswell".to_owned(), "lib/x".to_owned()));
        let fallback = tokens_from("", &config.system);
        assert_eq!(fallback.1, "lib/x86_64-linux-gnu");
        // As LD_DEBUG=libs prints them for a RUNPATH directory.
        assert_eq!(
            config.subdirs[..6],
            [
                "glibc-hwcaps/x86-64-v4",
                "glibc-hwcaps/x86-64-v3",
                "glibc-hwcaps/x86-64-v2",
                "tls/haswell/avx512_1/x86_64",
                "tls/haswell/avx512_1",
                "tls/haswell/x86_64",
            ]
        );
        assert_eq!(config.subdirs.last().unwrap(), "x86_64");
        assert_eq!(config.subdirs.len(), 3 + 15);
    }

    #[test]
    fn secure_mode_reads_origin_tokens_and_paths_as_the_loader_does() {
        assert_eq!(
            tokens_in("$ORIGIN/x:${ORIGIN}", "ORIGIN"),
            [(0, 7), (10, 19)]
        );
        assert!(tokens_in("$ORIGINAL/$LIB", "ORIGIN").is_empty());
        assert_eq!(normalize("/usr/lib/./x//y/../../z"), "/usr/lib/z/");
        assert_eq!(normalize("/a/../../b"), "/b/");
        assert_eq!(unescape_octal("/mnt/with\\040space"), "/mnt/with space");
        let mut config = Config::host().unwrap();
        let _ = config.directories.set(Directories {
            system: vec![
                PathBuf::from("/usr/lib/x86_64-linux-gnu"),
                PathBuf::from("/lib"),
            ],
            subdirs: Vec::new(),
        });
        config.secure = Some("set-user-ID".into());
        let object = |origin: &str, executable| Searcher {
            path: PathBuf::from(origin).join("x"),
            origin: PathBuf::from(origin),
            runpath: Vec::new(),
            rpath: Vec::new(),
            nodeflib: false,
            executable,
        };
        let program = object("/usr/lib/x86_64-linux-gnu/helper", true);
        assert!(config.directory("$ORIGIN/../lib", &program).is_ok());
        assert!(
            config
                .directory("$ORIGIN/../../../../tmp", &program)
                .is_err()
        );
        assert!(config.directory("/opt/$ORIGIN", &program).is_err());
        assert!(config.directory("/opt/lib", &program).is_ok());
        // /libexec is not under /lib: the match is on whole components.
        assert!(
            config
                .directory("$ORIGIN", &object("/libexec", true))
                .is_err()
        );
        // A library's $ORIGIN needs no trusted directory, only to come first.
        let library = object("/tmp/deps", false);
        assert!(config.directory("$ORIGIN/more", &library).is_ok());
        assert!(config.directory("/x$ORIGIN", &library).is_err());
        config.secure = None;
        assert!(config.directory("/x/$ORIGIN", &library).is_ok());
    }

    #[test]
    fn preload_files_are_split_as_the_loader_splits_them() {
        // Each file, and the names glibc 2.36's loader tried to preload for it (its error
        // messages, with /etc/ld.so.preload holding the file in a private mount namespace).
        let cases: [(&[u8], &[&str]); 8] = [
            (
                b"/lib/a.so:libb.so\tlibc.so # trailing\n\n  /x/d.so",
                &["/lib/a.so", "libb.so", "libc.so", "/x/d.so"],
            ),
            (b"#only a comment", &[]),
            (b"p.so\t# k.so:l.so\nm.so", &["p.so", "m.so"]),
            // A comment after a first one is blanked only as far as the loader still looks.
            (b"# c\nlib.so # gone.so\n", &["lib.so", "so"]),
            (
                b"a.so # b.so\nc.so # d.so\n",
                &["a.so", "c.so", "#", "d.so"],
            ),
            (
                b"# a\n# b\nx/one.so\n# y/two.so",
                &["x/one.so", "#", "y/two.so"],
            ),
            (
                b"#\n#\n#\nq.so # r.so # s.so\n",
                &["q.so", "o", "#", "s.so"],
            ),
            (
                b"# for the test\n/t/pre/libpre.so:libpre2.so\n/nonexistent/libnone.so # gone\n",
                &[
                    "/t/pre/libpre.so",
                    "libpre2.so",
                    "/nonexistent/libnone.so",
                    "#",
                    "gone",
                ],
            ),
        ];
        for (file, names) in cases {
            assert_eq!(preload_names(file), names, "{}", file.escape_ascii());
        }
    }

    #[test]
    fn tokens_expand_and_unknown_ones_drop_the_entry() {
        let config = Config::host().unwrap();
        let _ = config
            .tokens
            .set(("haswell".into(), "lib/x86_64-linux-gnu".into()));
        let origin = Path::new("/opt/app/bin");
        assert_eq!(
            config.expand("$ORIGIN/../lib", origin).unwrap(),
            Path::new("/opt/app/bin/../lib")
        );
        assert_eq!(
            config
                .expand("${ORIGIN}/$LIB/x/${PLATFORM}", origin)
                .unwrap(),
            Path::new("/opt/app/bin/lib/x86_64-linux-gnu/x/haswell")
        );
        assert_eq!(
            config.expand("$UNKNOWN/x", origin).unwrap(),
            Path::new("$UNKNOWN/x")
        );
        assert_eq!(
            config.expand("${ORIGIN", origin).unwrap(),
            Path::new("${ORIGIN")
        );
    }
}
