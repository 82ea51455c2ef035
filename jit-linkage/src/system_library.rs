//! A manifest library that is a system library, found by pkg-config (`pkg_config = "NAME"`).
//!
//! The `pkg-config` crate runs pkg-config with its own `cargo:` output off: it printed some 30
//! `rerun-if-env-changed` lines a probe to stdout as it went, which cargo shows, all of them,
//! above a build script's error. The variables it reads come back as directives instead, printed
//! with the others once the build script succeeds. When pkg-config does not know the package,
//! the error keeps what pkg-config said, names the close packages it does know and the Debian
//! package to install. Every library the package's link line needs (`--static`: its
//! `Libs.private` too) is checked to be where the linker looks, before the linker is run.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use crate::artifact::{Compiled, Needs, Shared, copy_in, find_library};
use crate::manifest::Library;
use crate::{ClosePackage, Error, Result, debian};

/// The variables the pkg-config crate reads for running pkg-config, each looked up as
/// `<VAR>_<target>`, `<VAR>_<target_with_underscores>`, `HOST_<VAR>` (or `TARGET_<VAR>` when
/// cross-compiling), then `<VAR>`.
const TARGETED: [&str; 4] = [
    "PKG_CONFIG",
    "PKG_CONFIG_PATH",
    "PKG_CONFIG_LIBDIR",
    "PKG_CONFIG_SYSROOT_DIR",
];

/// The names a targeted variable is looked up under, in order (as the pkg-config crate does).
fn targeted(base: &str) -> Vec<String> {
    match (std::env::var("TARGET"), std::env::var("HOST")) {
        (Ok(target), Ok(host)) => {
            let kind = if host == target { "HOST" } else { "TARGET" };
            vec![
                format!("{base}_{target}"),
                format!("{base}_{}", target.replace('-', "_")),
                format!("{kind}_{base}"),
                base.to_owned(),
            ]
        }
        _ => vec![base.to_owned()],
    }
}

fn targeted_value(base: &str) -> Option<OsString> {
    targeted(base).iter().find_map(std::env::var_os)
}

/// Every variable the pkg-config crate reads when it probes `package`.
fn read_variables(package: &str) -> Vec<String> {
    let envified: String = package
        .chars()
        .map(|c| match c.to_ascii_uppercase() {
            '-' => '_',
            c => c,
        })
        .collect();
    let mut vars = vec![format!("{envified}_NO_PKG_CONFIG"), "SYSROOT".to_owned()];
    let cross = std::env::var("TARGET").ok() != std::env::var("HOST").ok();
    let bases = TARGETED
        .iter()
        .copied()
        .chain(cross.then_some("PKG_CONFIG_ALLOW_CROSS"));
    for base in bases {
        vars.extend(targeted(base));
    }
    vars
}

/// pkg-config as the pkg-config crate runs it: the same program and search path.
fn pkg_config_command() -> Command {
    let mut command =
        Command::new(targeted_value("PKG_CONFIG").unwrap_or_else(|| "pkg-config".into()));
    for (base, var) in [
        ("PKG_CONFIG_PATH", "PKG_CONFIG_PATH"),
        ("PKG_CONFIG_LIBDIR", "PKG_CONFIG_LIBDIR"),
        ("PKG_CONFIG_SYSROOT_DIR", "PKG_CONFIG_SYSROOT_DIR"),
    ] {
        if let Some(value) = targeted_value(base) {
            command.env(var, value);
        }
    }
    command
}

/// Finds `lib`, pkg-config's package `package`: `--static` for a static link, its `-L` and its
/// other `-l` (the libraries it needs), its include paths for the compiled libraries of the
/// build.
pub(crate) fn obtain(lib: &Library, dir: PathBuf, needs: Needs, package: &str) -> Result<Compiled> {
    let statik = needs.link_static || needs.archive;
    let found = pkg_config::Config::new()
        .cargo_metadata(false)
        .env_metadata(false)
        .statik(statik)
        .probe(package)
        .map_err(|e| probe_error(lib, package, e))?;
    let Some((main, others)) = found.libs.split_first() else {
        return Err(Error::PkgConfigNoLibrary {
            library: lib.name.clone(),
            package: package.to_owned(),
        });
    };
    let missing = missing_libraries(others, &found.link_paths);
    if !missing.is_empty() {
        return Err(Error::PkgConfigLibrariesMissing {
            library: lib.name.clone(),
            package: package.to_owned(),
            missing,
            searched: found.link_paths.clone(),
            linked_statically: statik,
        });
    }
    let mut compiled = Compiled {
        link_paths: found.link_paths.clone(),
        dependencies: others.to_vec(),
        include_paths: found.include_paths.clone(),
        env_vars: read_variables(package),
        ..Compiled::default()
    };
    let file_missing = |file: String, linked_statically| Error::PkgConfigFileMissing {
        library: lib.name.clone(),
        package: package.to_owned(),
        file,
        searched: found.link_paths.clone(),
        linked_statically,
    };
    if statik {
        let name = format!("lib{main}.a");
        let from = find_library(&name, &found.link_paths)
            .ok_or_else(|| file_missing(name.clone(), true))?;
        compiled.inputs.push(from.clone());
        compiled.archive = Some(copy_in(&from, &dir, &name)?);
        compiled.archive_source = Some(from);
        if needs.link_static {
            compiled.static_link = Some(main.clone());
        }
    }
    if needs.shared {
        let name = format!("lib{main}.so");
        let file = find_library(&name, &found.link_paths)
            .ok_or_else(|| file_missing(name.clone(), false))?;
        let soname = crate::symbols::identity(&file)?
            .soname
            .unwrap_or_else(|| name.clone());
        compiled.shared = Some(Shared {
            file,
            link_name: main.clone(),
            link_dir: None,
            soname,
            bundled: false,
            build_id: None,
        });
    }
    compiled.dir = dir;
    Ok(compiled)
}

/// The error for a failed probe: pkg-config's own words, and for an unknown package the close
/// names pkg-config knows and the Debian package to install.
fn probe_error(lib: &Library, package: &str, error: pkg_config::Error) -> Error {
    match &error {
        pkg_config::Error::ProbeFailure { output, .. }
        | pkg_config::Error::Failure { output, .. } => {
            let pkg_config_says = said(output);
            let required = missing_requirements(&pkg_config_says, package);
            if required.is_empty() {
                Error::PkgConfigUnknownPackage {
                    library: lib.name.clone(),
                    package: package.to_owned(),
                    pkg_config_says,
                    close: close_packages(package),
                    debian_package: debian::package_of_pc(package),
                }
            } else {
                Error::PkgConfigRequiresMissing {
                    library: lib.name.clone(),
                    package: package.to_owned(),
                    missing: required,
                    pkg_config_says,
                }
            }
        }
        _ => Error::PkgConfig {
            library: lib.name.clone(),
            package: package.to_owned(),
            message: error.to_string().trim().to_owned(),
        },
    }
}

/// The packages that pkg-config's message `said` reports missing as required by another
/// package than the one asked for: `Package 'X', required by 'Y', not found` (both pkg-config and
/// pkgconf write it; the package asked for itself is required by `virtual:world`, or by none).
fn missing_requirements(said: &str, package: &str) -> Vec<String> {
    let mut missing = Vec::new();
    for line in said.lines() {
        let Some(rest) = line.trim().strip_prefix("Package '") else {
            continue;
        };
        let Some((name, rest)) = rest.split_once("', required by '") else {
            continue;
        };
        let requirer = rest.strip_suffix("', not found").unwrap_or(rest);
        let name = name.to_owned();
        if name != package && requirer != "virtual:world" && !missing.contains(&name) {
            missing.push(name);
        }
    }
    missing
}

/// pkg-config package names as a user reads them, each with its Debian package:
/// `libnghttp2 (on Debian probably libnghttp2-dev)`.
pub(crate) fn describe_packages(names: &[String]) -> String {
    names
        .iter()
        .map(|name| {
            format!(
                "{name} (on Debian probably {})",
                debian::package_of_pc(name)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a failed pkg-config run printed (stderr, else stdout, else its exit status).
fn said(output: &Output) -> String {
    let text = [&output.stderr, &output.stdout]
        .into_iter()
        .map(|bytes| String::from_utf8_lossy(bytes).trim().to_owned())
        .find(|text| !text.is_empty());
    text.unwrap_or_else(|| format!("nothing ({})", output.status))
}

/// A package name compared loosely: lower case, letters and digits only, no `lib` in front
/// (`libxml-2.0` and `libxml2` become `xml20` and `xml2`).
fn loose(name: &str) -> String {
    let name = name.to_lowercase();
    let name = name.strip_prefix("lib").unwrap_or(&name);
    name.chars().filter(char::is_ascii_alphanumeric).collect()
}

/// Up to three names among `known` close to `wanted`, closest first.
fn closest_names<'a>(wanted: &str, known: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let wanted = loose(wanted);
    if wanted.is_empty() {
        return Vec::new();
    }
    let limit = (wanted.len() / 3).max(1);
    let mut scored: Vec<(usize, &str)> = known
        .filter_map(|name| {
            let candidate = loose(name);
            let distance = jit_exports::similar::distance(
                wanted.as_bytes(),
                candidate.as_bytes(),
                usize::MAX,
            )?;
            let extends = wanted.len() >= 3
                && (candidate.starts_with(&wanted) || wanted.starts_with(&candidate))
                && !candidate.is_empty();
            (distance <= limit || extends).then_some((distance, name))
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, name)| name).collect()
}

/// The packages pkg-config knows (`--list-all`) whose names are close to `package`, each with
/// its .pc file and the Debian package that installed it.
fn close_packages(package: &str) -> Vec<ClosePackage> {
    let Ok(out) = pkg_config_command().arg("--list-all").output() else {
        return Vec::new();
    };
    let listed = String::from_utf8_lossy(&out.stdout);
    let known = listed
        .lines()
        .filter_map(|line| line.split_whitespace().next());
    closest_names(package, known)
        .into_iter()
        .map(|name| {
            let pc_file = pkg_config_command()
                .args(["--variable=pcfiledir", name])
                .output()
                .ok()
                .filter(|out| out.status.success())
                .map(|out| {
                    Path::new(String::from_utf8_lossy(&out.stdout).trim())
                        .join(format!("{name}.pc"))
                })
                .filter(|path| path.is_file());
            let debian_package = pc_file.as_deref().and_then(debian::owner_of);
            ClosePackage {
                name: name.to_owned(),
                pc_file,
                debian_package,
            }
        })
        .collect()
}

/// The directories the C compiler's linker searches (`-print-search-dirs` of cc's compiler,
/// or of `cc` outside a build script), once.
fn compiler_library_dirs() -> &'static [PathBuf] {
    static DIRS: OnceLock<Vec<PathBuf>> = OnceLock::new();
    DIRS.get_or_init(|| {
        let mut command = match cc::Build::new()
            .cargo_metadata(false)
            .cargo_warnings(false)
            .try_get_compiler()
        {
            Ok(compiler) => compiler.to_command(),
            Err(_) => Command::new("cc"),
        };
        let Ok(out) = command.arg("-print-search-dirs").output() else {
            return Vec::new();
        };
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .find_map(|line| line.strip_prefix("libraries: "))
            .map(|dirs| {
                let dirs = dirs.strip_prefix('=').unwrap_or(dirs);
                std::env::split_paths(dirs).collect()
            })
            .unwrap_or_default()
    })
}

/// Of the libraries `names` (`-l` names; `:FILE` for an exact file), those the linker finds
/// neither in `paths` (pkg-config's `-L`) nor in its own directories, as a shared library or a
/// static archive. Nothing is missing when the compiler's directories cannot be listed: the
/// linker then says what it lacks.
fn missing_libraries(names: &[String], paths: &[PathBuf]) -> Vec<String> {
    let system = compiler_library_dirs();
    if system.is_empty() {
        return Vec::new();
    }
    names
        .iter()
        .filter(|name| {
            let files = match name.strip_prefix(':') {
                Some(file) => vec![file.to_owned()],
                None => vec![format!("lib{name}.so"), format!("lib{name}.a")],
            };
            !paths
                .iter()
                .chain(system)
                .any(|dir| files.iter().any(|file| dir.join(file).exists()))
        })
        .cloned()
        .collect()
}

/// `-l` names as a user reads them, each with the Debian package that provides it:
/// `libnghttp2 (Debian: libnghttp2-dev)`.
pub(crate) fn describe_libraries(names: &[String]) -> String {
    let described: Vec<String> = names
        .iter()
        .map(|name| match name.strip_prefix(':') {
            Some(file) => file.to_owned(),
            None => format!("lib{name} (Debian: {})", debian::package_of_library(name)),
        })
        .collect();
    match described.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_allow_for_lib_dashes_and_versions() {
        let known = [
            "libxml-2.0",
            "libxslt",
            "sqlite3",
            "libcurl",
            "zlib",
            "libpng16",
        ];
        assert_eq!(closest_names("libxml2", known.into_iter()), ["libxml-2.0"]);
        assert_eq!(closest_names("sqlite", known.into_iter()), ["sqlite3"]);
        assert_eq!(closest_names("curl", known.into_iter()), ["libcurl"]);
        assert_eq!(closest_names("png", known.into_iter()), ["libpng16"]);
        assert!(closest_names("yaml", known.into_iter()).is_empty());
    }

    #[test]
    fn requirements_pkg_config_misses_are_told_from_the_package_itself() {
        let said = "Package libnghttp2 was not found in the pkg-config search path.\n\
                    Package 'libnghttp2', required by 'libcurl', not found\n\
                    Package 'libpsl', required by 'libcurl', not found";
        assert_eq!(
            missing_requirements(said, "libcurl"),
            ["libnghttp2", "libpsl"]
        );
        let own = "Package 'libxml2', required by 'virtual:world', not found";
        assert!(missing_requirements(own, "libxml2").is_empty());
    }

    #[test]
    fn missing_libraries_name_their_debian_packages() {
        let names = [
            "nghttp2".to_owned(),
            "ssh2".to_owned(),
            ":libx.a".to_owned(),
        ];
        assert_eq!(
            describe_libraries(&names),
            "libnghttp2 (Debian: libnghttp2-dev), libssh2 (Debian: libssh2-1-dev) and libx.a"
        );
    }

    #[test]
    fn the_c_library_is_found_and_an_invented_one_is_not() {
        let names = ["c".to_owned(), "jit-linkage-no-such-library".to_owned()];
        assert_eq!(
            missing_libraries(&names, &[]),
            ["jit-linkage-no-such-library"]
        );
    }
}
