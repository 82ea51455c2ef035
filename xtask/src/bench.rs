//! `cargo xtask bench`: verify-symbols against `nm -D --defined-only | lookup`, side by side.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::flags::Bench;
use crate::progress;

impl Bench {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        if self.rounds == 0 {
            bail!("--rounds must be at least 1");
        }
        let library = libllvm()?;
        let names = sample_names(sh, &library)?;
        progress!(
            "bench: {} symbols of {}, {} rounds each",
            names.len(),
            library.display(),
            self.rounds
        );

        let (mut ours, mut peer) = (Vec::new(), Vec::new());
        for _ in 0..self.rounds {
            // Alternate, so both sides see the same machine noise and page cache.
            let start = Instant::now();
            let report = verify_symbols::verify(&library, &names)?;
            ours.push(start.elapsed());
            let found_ours = report
                .symbols
                .iter()
                .filter(|s| s.status == verify_symbols::Status::Exported)
                .count();

            let start = Instant::now();
            let found_peer = nm_lookup(sh, &library, &names)?;
            peer.push(start.elapsed());
            if found_ours != found_peer {
                bail!(
                    "verify-symbols found {found_ours} exported symbols, nm {found_peer}: they disagree"
                );
            }
        }
        let (ours, peer) = (median(&mut ours), median(&mut peer));
        println!(
            "verify-symbols (mmap + object, one pass)  median {:>8.2} ms",
            ms(ours)
        );
        println!(
            "nm -D --defined-only | hash-set lookup    median {:>8.2} ms",
            ms(peer)
        );
        println!("ratio nm / verify-symbols: {:.1}x", ms(peer) / ms(ours));
        Ok(())
    }
}

fn libllvm() -> anyhow::Result<PathBuf> {
    let prefix =
        std::env::var_os("LLVM_SYS_140_PREFIX").unwrap_or_else(|| "/usr/lib/llvm-14".into());
    let path = Path::new(&prefix).join("lib/libLLVM-14.so.1");
    path.canonicalize()
        .with_context(|| format!("{} (run cargo xtask deps)", path.display()))
}

/// 900 names the library defines (evenly spread) and 100 it does not.
fn sample_names(sh: &Shell, library: &Path) -> anyhow::Result<Vec<String>> {
    let listing = cmd!(sh, "nm -D --defined-only {library}").quiet().read()?;
    let mut defined: Vec<&str> = listing.lines().filter_map(defined_name).collect();
    defined.sort_unstable();
    defined.dedup();
    let step = (defined.len() / 900).max(1);
    let mut names: Vec<String> = defined
        .iter()
        .step_by(step)
        .take(900)
        .map(|s| (*s).to_owned())
        .collect();
    names.extend((0..100).map(|i| format!("not_in_llvm_{i}")));
    Ok(names)
}

fn defined_name(line: &str) -> Option<&str> {
    line.split_whitespace()
        .last()
        .map(|s| s.split('@').next().unwrap_or(s))
}

/// The peer: run nm, read its whole output into a set, look the names up.
fn nm_lookup(sh: &Shell, library: &Path, names: &[String]) -> anyhow::Result<usize> {
    let listing = cmd!(sh, "nm -D --defined-only {library}").quiet().read()?;
    let set: HashSet<&str> = listing.lines().filter_map(defined_name).collect();
    Ok(names.iter().filter(|n| set.contains(n.as_str())).count())
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
