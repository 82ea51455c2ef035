//! Which Debian package to install for a missing library or pkg-config package: what an error
//! suggests. The package that owns an installed file is asked of `dpkg`; a missing one is
//! guessed from Debian's naming rule (`lib<NAME>-dev`) and the exceptions of Debian 12 that
//! users meet most (checked with `apt-file` there).

use std::path::Path;
use std::process::Command;

/// Link names (`-l<NAME>`) whose development package is not `lib<NAME>-dev`.
const LIBRARY_EXCEPTIONS: &[(&[&str], &str)] = &[
    (&["z"], "zlib1g-dev"),
    (&["ssl", "crypto"], "libssl-dev"),
    (&["ssh2"], "libssh2-1-dev"),
    (
        &["gssapi_krb5", "krb5", "k5crypto", "krb5support", "com_err"],
        "libkrb5-dev",
    ),
    (&["ldap", "lber"], "libldap-dev"),
    (&["brotlidec", "brotlienc", "brotlicommon"], "libbrotli-dev"),
    (&["curl"], "libcurl4-openssl-dev"),
    (&["gnutls"], "libgnutls28-dev"),
    (&["nettle", "hogweed"], "nettle-dev"),
    (&["tasn1"], "libtasn1-6-dev"),
    (&["png", "png16"], "libpng-dev"),
    (&["icuuc", "icudata", "icui18n"], "libicu-dev"),
    (&["ncurses", "ncursesw", "tinfo"], "libncurses-dev"),
    (&["expat"], "libexpat1-dev"),
    (&["pcre2-8"], "libpcre2-dev"),
    (&["uuid"], "uuid-dev"),
    (&["gcrypt"], "libgcrypt20-dev"),
    (&["xml2"], "libxml2-dev"),
    (
        &["m", "c", "dl", "rt", "pthread", "resolv", "util"],
        "libc6-dev",
    ),
];

/// pkg-config package names whose development package is not `lib<NAME>-dev` (or `<NAME>-dev`
/// for a name that starts with `lib`).
const PACKAGE_EXCEPTIONS: &[(&[&str], &str)] = &[
    (&["zlib"], "zlib1g-dev"),
    (&["libcurl"], "libcurl4-openssl-dev"),
    (&["libxml-2.0"], "libxml2-dev"),
    (&["openssl", "libssl", "libcrypto"], "libssl-dev"),
    (&["libpng", "libpng16"], "libpng-dev"),
    (&["yaml-0.1"], "libyaml-dev"),
    (&["libssh2"], "libssh2-1-dev"),
    (
        &["krb5", "krb5-gssapi", "mit-krb5", "mit-krb5-gssapi"],
        "libkrb5-dev",
    ),
    (&["ldap", "lber"], "libldap-dev"),
    (&["glib-2.0", "gobject-2.0", "gio-2.0"], "libglib2.0-dev"),
    (&["gtk+-3.0"], "libgtk-3-dev"),
    (&["gnutls"], "libgnutls28-dev"),
    (&["nettle", "hogweed"], "nettle-dev"),
    (&["icu-uc", "icu-i18n", "icu-io"], "libicu-dev"),
    (
        &["ncurses", "ncursesw", "tinfo", "form", "menu", "panel"],
        "libncurses-dev",
    ),
    (&["expat"], "libexpat1-dev"),
    (&["libpcre2-8"], "libpcre2-dev"),
    (&["uuid"], "uuid-dev"),
    (&["libgcrypt"], "libgcrypt20-dev"),
    (&["freetype2"], "libfreetype-dev"),
    (&["libtiff-4"], "libtiff-dev"),
    (&["bzip2"], "libbz2-dev"),
    (&["python3"], "python3-dev"),
];

/// The development package that probably provides `-l<name>` on Debian.
pub(crate) fn package_of_library(name: &str) -> String {
    LIBRARY_EXCEPTIONS
        .iter()
        .find(|(names, _)| names.contains(&name))
        .map(|(_, package)| (*package).to_owned())
        .unwrap_or_else(|| format!("lib{}-dev", name.to_lowercase()))
}

/// The development package that probably provides pkg-config's package `name` (its
/// `<name>.pc`) on Debian.
pub(crate) fn package_of_pc(name: &str) -> String {
    if let Some((_, package)) = PACKAGE_EXCEPTIONS
        .iter()
        .find(|(names, _)| names.contains(&name))
    {
        return (*package).to_owned();
    }
    let name = name.to_lowercase();
    match name.strip_prefix("lib") {
        Some(_) => format!("{name}-dev"),
        None => format!("lib{name}-dev"),
    }
}

/// The installed package that owns `file`, as dpkg knows it; `None` without dpkg or owner.
pub(crate) fn owner_of(file: &Path) -> Option<String> {
    let out = Command::new("dpkg-query")
        .arg("-S")
        .arg(file)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    // `libxml2-dev:amd64: /usr/lib/x86_64-linux-gnu/pkgconfig/libxml-2.0.pc`
    let text = String::from_utf8_lossy(&out.stdout);
    let package = text.lines().next()?.split(": ").next()?;
    let package = package.split(':').next()?.trim();
    (!package.is_empty()).then(|| package.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_follow_debians_rule_and_its_exceptions() {
        assert_eq!(package_of_library("nghttp2"), "libnghttp2-dev");
        assert_eq!(package_of_library("rtmp"), "librtmp-dev");
        assert_eq!(package_of_library("ssh2"), "libssh2-1-dev");
        assert_eq!(package_of_library("gssapi_krb5"), "libkrb5-dev");
        assert_eq!(package_of_library("z"), "zlib1g-dev");
        assert_eq!(package_of_pc("libxml2"), "libxml2-dev");
        assert_eq!(package_of_pc("libxml-2.0"), "libxml2-dev");
        assert_eq!(package_of_pc("sqlite3"), "libsqlite3-dev");
        assert_eq!(package_of_pc("zlib"), "zlib1g-dev");
        assert_eq!(package_of_pc("libcurl"), "libcurl4-openssl-dev");
    }

    #[test]
    fn dpkg_names_the_owner_of_an_installed_file() {
        // Debian (the tested platform) ships the C library in libc6.
        let libc = Path::new("/lib/x86_64-linux-gnu/libc.so.6");
        assert_eq!(owner_of(libc).as_deref(), Some("libc6"));
        assert_eq!(owner_of(Path::new("/nonexistent/x.pc")), None);
    }
}
