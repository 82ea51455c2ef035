//! Where the dynamic loader would find a `DT_NEEDED` library: `DT_RPATH` (only when there is no
//! `DT_RUNPATH`), `DT_RUNPATH`, then the system's library directories (`/etc/ld.so.conf.d` and
//! the built-in defaults). `LD_LIBRARY_PATH` is deliberately ignored: the point is to prove the
//! binary works without it.

use std::path::{Path, PathBuf};

/// The system's library directories, as ld.so.conf lists them, then the built-in defaults.
pub(crate) fn system_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let mut confs: Vec<PathBuf> = std::fs::read_dir("/etc/ld.so.conf.d")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    confs.sort();
    confs.insert(0, PathBuf::from("/etc/ld.so.conf"));
    for conf in confs {
        let Ok(text) = std::fs::read_to_string(&conf) else {
            continue;
        };
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.starts_with('/') {
                dirs.push(PathBuf::from(line));
            }
        }
    }
    for default in [
        "/lib/x86_64-linux-gnu",
        "/usr/lib/x86_64-linux-gnu",
        "/lib/aarch64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/lib64",
        "/usr/lib64",
        "/lib",
        "/usr/lib",
    ] {
        let dir = PathBuf::from(default);
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs
}

/// Expands `$ORIGIN`/`${ORIGIN}` against the directory of the object that has the entry.
/// Other dynamic string tokens (`$LIB`, `$PLATFORM`) are not expanded: `None`.
pub(crate) fn expand(entry: &str, origin: &Path) -> Option<PathBuf> {
    let origin = origin.to_string_lossy();
    let expanded = entry
        .replace("${ORIGIN}", &origin)
        .replace("$ORIGIN", &origin);
    if expanded.contains('$') {
        return None;
    }
    Some(PathBuf::from(expanded))
}

/// The search directories of one object, in the loader's order (system directories last).
pub(crate) fn search_dirs(
    runpath: &[&str],
    rpath: &[&str],
    origin: &Path,
    system: &[PathBuf],
) -> Vec<PathBuf> {
    let own = if runpath.is_empty() { rpath } else { runpath };
    own.iter()
        .filter(|e| !e.is_empty())
        .filter_map(|e| expand(e, origin))
        .chain(system.iter().cloned())
        .collect()
}

/// The file `name` resolves to, searching `dirs`; a name with a slash is a path itself.
pub(crate) fn resolve(name: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    if name.contains('/') {
        let path = PathBuf::from(name);
        return path.is_file().then_some(path);
    }
    dirs.iter().map(|d| d.join(name)).find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_is_expanded_and_other_tokens_are_not() {
        let origin = Path::new("/opt/app/bin");
        assert_eq!(
            expand("$ORIGIN/../lib", origin).unwrap(),
            Path::new("/opt/app/bin/../lib")
        );
        assert_eq!(
            expand("${ORIGIN}", origin).unwrap(),
            Path::new("/opt/app/bin")
        );
        assert_eq!(expand("$LIB", origin), None);
    }

    #[test]
    fn runpath_hides_rpath() {
        let o = Path::new("/o");
        let dirs = search_dirs(&["/run"], &["/r"], o, &[]);
        assert_eq!(dirs, [PathBuf::from("/run")]);
        let dirs = search_dirs(&[], &["/r"], o, &[PathBuf::from("/sys")]);
        assert_eq!(dirs, [PathBuf::from("/r"), PathBuf::from("/sys")]);
    }

    #[test]
    fn libc_resolves_through_the_system_dirs() {
        assert!(resolve("libc.so.6", &system_dirs()).is_some());
        assert!(resolve("libnot-a-real-library.so.9", &system_dirs()).is_none());
    }
}
