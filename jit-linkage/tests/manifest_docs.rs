//! The manifest's TOML keys were documented only in a private module, so jit-linkage's rustdoc
//! did not show them. Every key the parser accepts (it lists them when it meets an unknown one)
//! must be on the page of `Manifest`, as rustdoc renders it.

use std::path::Path;
use std::process::Command;

/// The keys of a `[[library]]` table, in the parser's own words.
fn accepted_keys() -> Vec<String> {
    let err = jit_linkage::Manifest::parse(
        "[[library]]\nnot_a_key = 1\n",
        Path::new("/nonexistent/libraries.toml"),
    )
    .unwrap_err()
    .to_string();
    let (_, expected) = err
        .split_once("expected one of")
        .unwrap_or_else(|| panic!("the parser lists no keys: {err}"));
    let keys: Vec<String> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    assert!(keys.len() >= 10, "{keys:?} from: {err}");
    keys
}

#[test]
fn every_manifest_key_is_in_the_rustdoc_of_manifest() {
    let keys = accepted_keys();
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("manifest-docs");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "doc",
            "--quiet",
            "--offline",
            "--no-deps",
            "--package",
            "jit-linkage",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("CARGO_BUILD_BUILD_DIR")
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo doc: {out:?}");
    let page = target.join("doc/jit_linkage/struct.Manifest.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("[[library]]"),
        "no [[library]] on {}",
        page.display()
    );
    for key in keys {
        assert!(
            html.contains(&format!("<code>{key}</code>")),
            "`{key}` is not documented on {}",
            page.display()
        );
    }
}
