//! On a real system library, verify-symbols agrees with `nm -D --defined-only`.

use std::collections::HashSet;
use std::process::Command;

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
            .filter_map(|l| l.split_whitespace().last())
            .map(|s| s.split('@').next().unwrap().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let defined = nm("--defined-only");
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
    }
}
