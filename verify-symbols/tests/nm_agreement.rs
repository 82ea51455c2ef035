//! On a real system library, verify-symbols agrees with the dynamic loader's own `dlsym` (this
//! test process has libc loaded) and with `nm -D --defined-only` read the way the loader reads
//! versions: `name@@VERSION` and unversioned names are what `dlsym(RTLD_DEFAULT, name)` returns;
//! `name@VERSION` alone (a hidden, non-default version, like glibc's compatibility symbols) is not.

use std::collections::HashSet;
use std::ffi::{CString, c_char, c_void};
use std::process::Command;

unsafe extern "C" {
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
}

/// What the loader answers for `name` in this process (RTLD_DEFAULT is the null handle).
fn loader_finds(name: &str) -> bool {
    let name = CString::new(name).unwrap();
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only reads the name and the
    // loader's tables; the returned address is compared with null, never used.
    !unsafe { dlsym(std::ptr::null_mut(), name.as_ptr()) }.is_null()
}

use verify_symbols::{Status, verify};

#[test]
fn statuses_agree_with_nm_on_libc() {
    let libc = [
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/lib/aarch64-linux-gnu/libc.so.6",
        "/lib64/libc.so.6",
    ]
    .into_iter()
    .map(std::path::Path::new)
    .find(|p| p.exists())
    .expect("libc.so.6 in a system library directory");
    let nm = |extra: &str| -> HashSet<String> {
        let out = Command::new("nm")
            .args(["-D", extra])
            .arg(libc)
            .output()
            .expect("nm runs");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout)
            .lines()
            // A version's own name (`0000000000000000 A GLIBC_2.10`) has the address 0: dlsym
            // returns NULL for it.
            .filter(|l| !(l.contains(" A ") && l.starts_with("0000000000000000")))
            .filter_map(|l| l.split_whitespace().last())
            // A hidden version only: not what dlsym returns.
            .filter(|s| !s.contains('@') || s.contains("@@"))
            .map(|s| s.split('@').next().unwrap().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let defined = nm("--defined-only");
    // Names defined only as a hidden version (`__ctype32_tolower@GLIBC_2.2.5`).
    let hidden_only: Vec<String> = {
        let out = Command::new("nm")
            .args(["-D", "--defined-only"])
            .arg(libc)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().last())
            .filter(|s| s.contains('@') && !s.contains("@@"))
            .map(|s| s.split('@').next().unwrap().to_owned())
            .filter(|s| !defined.contains(s))
            .collect()
    };
    assert!(!hidden_only.is_empty(), "glibc has compatibility symbols");
    let undefined = nm("--undefined-only");
    let mut defined_sample: Vec<&String> = defined.iter().collect();
    defined_sample.sort();
    let defined_sample: Vec<&str> = defined_sample
        .iter()
        .step_by(25)
        .map(|s| s.as_str())
        .collect();
    assert!(defined_sample.len() > 50);
    let mut absent: Vec<&str> = undefined
        .iter()
        .filter(|s| !defined.contains(*s))
        .map(String::as_str)
        .collect();
    absent.extend(hidden_only.iter().take(20).map(String::as_str));
    absent.extend([
        "definitely_not_in_libc",
        "external_function",
        "printf_but_not",
    ]);

    let names: Vec<&str> = defined_sample.iter().chain(&absent).copied().collect();
    let report = verify(libc, &names).unwrap();
    for symbol in &report.symbols {
        let in_nm = defined.contains(&symbol.name);
        assert_eq!(
            symbol.status == Status::Exported,
            in_nm,
            "{}: verify-symbols says {}, nm -D --defined-only {}",
            symbol.name,
            symbol.status,
            if in_nm { "lists it" } else { "does not" }
        );
        // The symbols below are in libc, which this process has loaded: dlsym is the truth.
        assert_eq!(
            symbol.status == Status::Exported,
            loader_finds(&symbol.name),
            "{}: verify-symbols says {}, dlsym disagrees",
            symbol.name,
            symbol.status
        );
    }
}
