//! What the debugger switch leaves in the GDB JIT interface's list (`__jit_debug_descriptor`,
//! libLLVM's) after modules are removed: nothing (a finding of the adversarial review, kept as
//! a regression test). JITLink's debugger support left one entry per removed module, pointing
//! at freed memory, so a JIT with a debugger links with RuntimeDyld unless told otherwise.

use orc_jit::{Jit, ObjectLayer};

#[repr(C)]
struct Entry {
    next: *const Entry,
    prev: *const Entry,
    symfile: *const u8,
    size: u64,
}

#[repr(C)]
struct Descriptor {
    version: u32,
    action: u32,
    relevant: *const Entry,
    first: *const Entry,
}

unsafe extern "C" {
    static __jit_debug_descriptor: Descriptor;
}

/// The number of entries in the list (what gdb walks).
fn entries() -> usize {
    // SAFETY: reads libLLVM's descriptor and walks its list, without touching what the entries
    // point to (review instrumentation, not part of an attack).
    unsafe {
        let mut n = 0;
        let mut e = std::ptr::addr_of!(__jit_debug_descriptor)
            .read_volatile()
            .first;
        while !e.is_null() && n < 1_000_000 {
            n += 1;
            e = (*e).next;
        }
        n
    }
}

/// How many entries' object files lie in no mapping of this process (freed JIT memory).
fn unmapped_symfiles() -> usize {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let ranges: Vec<(u64, u64)> = maps
        .lines()
        .filter_map(|l| {
            let (a, b) = l.split_whitespace().next()?.split_once('-')?;
            Some((
                u64::from_str_radix(a, 16).ok()?,
                u64::from_str_radix(b, 16).ok()?,
            ))
        })
        .collect();
    // SAFETY: as in `entries`: only the list's own fields are read.
    unsafe {
        let mut n = 0;
        let mut e = std::ptr::addr_of!(__jit_debug_descriptor)
            .read_volatile()
            .first;
        while !e.is_null() {
            let at = (*e).symfile as u64;
            if !ranges.iter().any(|&(a, b)| a <= at && at < b) {
                n += 1;
            }
            e = (*e).next;
        }
        n
    }
}

fn resident_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    statm
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 4
}

#[test]
fn removed_modules_leave_no_debugger_registrations() {
    let mut stayed = Vec::new();
    for layer in [ObjectLayer::Default, ObjectLayer::RuntimeDyld] {
        let mut jit = Jit::builder()
            .debugger(true)
            .object_layer(layer)
            .build()
            .unwrap();
        let before = entries();
        let rss = resident_kib();
        for i in 0..2000 {
            let name = format!("g{i}");
            let ir = format!("define i32 @{name}() {{\nentry:\n  ret i32 {i}\n}}\n");
            let h = jit
                .add_module(jit.parse_module(&name, ir.as_bytes()).unwrap())
                .unwrap();
            jit.lookup_address(&name).unwrap();
            jit.remove_module(&h).unwrap();
        }
        let after = entries();
        println!(
            "{layer:?}: debugger entries {before} -> {after} after 2000 add/remove; resident +{} KiB",
            resident_kib().saturating_sub(rss)
        );
        println!(
            "{layer:?}: entries whose object is in no mapping: {}",
            unmapped_symfiles()
        );
        drop(jit);
        println!(
            "{layer:?}: after drop: {}, unmapped {}",
            entries(),
            unmapped_symfiles()
        );
        if after > before + 1 || unmapped_symfiles() > 0 {
            stayed.push(layer);
        }
    }
    assert!(
        stayed.is_empty(),
        "removed modules stay registered with {stayed:?}"
    );
}
