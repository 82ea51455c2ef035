//! The first `cargo xtask demo` compiles xtask before it can print anything: the everyday xtask
//! must be light. What cargo compiles for it (`cargo tree` of its normal and build
//! dependencies, as cargo resolves them for `cargo xtask`) holds nothing only the benchmarks use,
//! and no package of it is optimised in the dev profile (opt-level 3 for object, verify-symbols
//! and xtask were most of a cold build's minutes). `cargo xtask bench` is still one command.

mod common;

use std::process::Command;

/// Each package (`name version`) cargo compiles for the everyday xtask.
fn everyday_packages() -> Vec<(String, String)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "--package",
            "xtask",
            "--edges",
            "normal,build",
        ])
        .args(["--prefix", "none", "--format", "{p}"])
        .current_dir(common::toolkit())
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo tree: {out:?}");
    let mut packages: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            Some((words.next()?.to_owned(), words.next()?.to_owned()))
        })
        .collect();
    packages.sort();
    packages.dedup();
    packages
}

#[test]
fn the_everyday_xtask_compiles_nothing_for_the_benchmarks_and_nothing_optimised() {
    let packages = everyday_packages();
    assert!(
        packages.iter().any(|(name, _)| name == "xtask"),
        "{packages:?}"
    );
    for bench_only in ["plotters", "plotters-svg", "plotters-backend"] {
        assert!(
            packages.iter().all(|(name, _)| name != bench_only),
            "the everyday xtask compiles {bench_only}, which only the benchmarks use"
        );
    }
    let manifest: toml::Table = std::fs::read_to_string(common::toolkit().join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let overridden = manifest
        .get("profile")
        .and_then(|p| p.get("dev"))
        .and_then(|d| d.get("package"))
        .and_then(|p| p.as_table())
        .cloned()
        .unwrap_or_default();
    for (name, settings) in &overridden {
        let in_xtask = name == "*" || packages.iter().any(|(package, _)| package == name);
        assert!(
            !(in_xtask && settings.get("opt-level").is_some()),
            "the dev profile optimises {name}, which the everyday xtask compiles: {settings}"
        );
    }
    eprintln!("the everyday xtask compiles {} packages", packages.len());
}

#[test]
fn bench_is_still_one_xtask_command() {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["bench", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--rounds"), "{help}");
}
