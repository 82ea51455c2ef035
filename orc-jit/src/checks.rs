//! Cheap checks of a parsed module against this host, before any code is generated, for what
//! LLVM would otherwise turn into a crash: a function asking for CPU features this machine
//! lacks (SIGILL when called), an intrinsic of another architecture (`Cannot select`, an abort
//! in code generation), an intrinsic LLVM does not know (reported by ORC as a missing symbol),
//! an ifunc (which neither JIT linker resolves).

use std::collections::HashSet;
use std::sync::OnceLock;

use llvm_sys::core::{
    LLVMGetAttributeCountAtIndex, LLVMGetStringAttributeAtIndex, LLVMGetStringAttributeValue,
    LLVMGlobalGetValueType, LLVMLookupIntrinsicID,
};
use llvm_sys::prelude::{LLVMModuleRef, LLVMValueRef};

use crate::ir::{functions, globals, value_name};

/// The host, as LLVM sees it.
struct Host {
    /// The architecture part of the triple (`x86_64`).
    arch: String,
    cpu: String,
    /// Features LLVM's host detection says this CPU lacks (`-avx512fp16`). Features it does
    /// not mention (`x87`, which clang lists for every x86-64 function) are not judged.
    lacking: HashSet<String>,
}

fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        let host = crate::target::Host::get();
        Host {
            arch: host.triple.split('-').next().unwrap_or_default().to_owned(),
            cpu: host.cpu.clone(),
            lacking: host
                .features
                .split(',')
                .filter_map(|f| f.strip_prefix('-'))
                .map(str::to_owned)
                .collect(),
        }
    })
}

/// Intrinsic name prefixes of each architecture, and the host architectures they belong to.
const ARCH_INTRINSICS: &[(&str, &[&str])] = &[
    ("llvm.x86.", &["x86_64", "i386", "i486", "i586", "i686"]),
    ("llvm.aarch64.", &["aarch64", "arm64"]),
    ("llvm.arm.", &["arm", "armv7", "thumb"]),
    ("llvm.ppc.", &["powerpc64", "powerpc64le", "powerpc"]),
    ("llvm.mips.", &["mips", "mipsel", "mips64", "mips64el"]),
    ("llvm.riscv.", &["riscv64", "riscv32"]),
    ("llvm.wasm.", &["wasm32", "wasm64"]),
    ("llvm.amdgcn.", &[]),
    ("llvm.r600.", &[]),
    ("llvm.nvvm.", &[]),
    ("llvm.hexagon.", &["hexagon"]),
    ("llvm.s390.", &["s390x"]),
    ("llvm.loongarch.", &["loongarch64"]),
    ("llvm.bpf.", &["bpf"]),
    ("llvm.spv.", &[]),
];

/// CPU names that promise no more than the baseline features.
const BASELINE_CPUS: &[&str] = &["generic", "x86-64"];

/// The first reason `module` cannot run on this host, if any.
///
/// # Safety
/// `module` is live and not changed meanwhile.
pub(crate) unsafe fn check(module: LLVMModuleRef) -> Option<String> {
    let host = host();
    // SAFETY: caller; we only read names and attributes of the module's functions and
    // globals.
    unsafe {
        let ifunc = llvm_sys::core::LLVMGetFirstGlobalIFunc(module);
        if !ifunc.is_null() {
            return Some(format!(
                "`{}` is an ifunc (a function whose address a resolver picks at load time), \
                 which neither of ORC's object linkers resolves: define the function directly, \
                 or call the implementation you want",
                value_name(ifunc)
            ));
        }
        for value in functions(module).into_iter().chain(globals(module)) {
            if let Some(reason) = name_problem(value) {
                return Some(reason);
            }
        }
        for value in functions(module).into_iter().chain(globals(module)) {
            let comdat = llvm_sys::comdat::LLVMGetComdat(value);
            if comdat.is_null() {
                continue;
            }
            use llvm_sys::comdat::LLVMComdatSelectionKind::*;
            match llvm_sys::comdat::LLVMGetComdatSelectionKind(comdat) {
                LLVMAnyComdatSelectionKind | LLVMNoDuplicatesComdatSelectionKind => {}
                other => {
                    return Some(format!(
                        "`{}` is in a comdat of selection kind {other:?}: ELF object files (what \
                         the JIT links) have only `any` and `nodeduplicate` comdats",
                        value_name(value)
                    ));
                }
            }
        }
        for global in globals(module) {
            if crate::version::is_target_extension(LLVMGlobalGetValueType(global)) {
                return Some(target_extension(&value_name(global)));
            }
        }
        for function in functions(module) {
            let name = value_name(function);
            let uses_target_type =
                crate::version::is_target_extension(LLVMGlobalGetValueType(function))
                    || crate::ir::instructions(function).into_iter().any(|i| {
                        crate::version::is_target_extension(llvm_sys::core::LLVMTypeOf(i))
                    });
            if uses_target_type {
                return Some(target_extension(&name));
            }
            if let Some(reason) = intrinsic(&name, host) {
                return Some(reason);
            }
            if let Some(reason) = cpu_and_features(function, &name, host) {
                return Some(reason);
            }
        }
    }
    None
}

fn target_extension(name: &str) -> String {
    format!(
        "`{name}` uses a target extension type (`target(\"...\")`, such as SPIR-V's), which \
         only its own target can compile: LLVM's code generator for this host crashes on it"
    )
}

/// Names the JIT cannot key exactly: not UTF-8 (two names would look alike). A leading `\x01`
/// ("do not mangle") is fine: the object file and ORC both name the symbol without it, and so
/// does the JIT (`ir::symbol_name`).
///
/// # Safety
/// `value` is a live global value.
unsafe fn name_problem(value: LLVMValueRef) -> Option<String> {
    let mut len = 0;
    // SAFETY: caller; the name is read in place.
    let bytes = unsafe {
        let name = llvm_sys::core::LLVMGetValueName2(value, &mut len);
        std::slice::from_raw_parts(name as *const u8, len)
    };
    match std::str::from_utf8(bytes) {
        Err(_) => Some(format!(
            "the symbol name {} is not UTF-8, so the JIT cannot tell it from similar names: \
             rename it",
            String::from_utf8_lossy(bytes).escape_debug()
        )),
        Ok(_) => None,
    }
}

/// Function attributes that change how arguments are passed.
const ABI_FEATURES: &[&str] = &["+soft-float", "-sse", "-sse2", "-x87"];

fn intrinsic(name: &str, host: &Host) -> Option<String> {
    if !name.starts_with("llvm.") {
        return None;
    }
    for (prefix, arches) in ARCH_INTRINSICS {
        if name.starts_with(prefix) && !arches.contains(&host.arch.as_str()) {
            return Some(format!(
                "`{name}` is an intrinsic of another architecture ({}); this host is {}: it \
                 cannot be compiled here",
                prefix.trim_start_matches("llvm.").trim_end_matches('.'),
                host.arch
            ));
        }
    }
    // SAFETY: the name is a valid byte range; LLVM only reads it.
    let id = unsafe { LLVMLookupIntrinsicID(name.as_ptr() as *const _, name.len()) };
    if id == 0 {
        return Some(format!(
            "`{name}` is not an intrinsic this LLVM knows (names starting with `llvm.` are \
             reserved for intrinsics): it is not a missing symbol of a library"
        ));
    }
    None
}

/// # Safety
/// `function` is live.
unsafe fn cpu_and_features(function: LLVMValueRef, name: &str, host: &Host) -> Option<String> {
    // SAFETY: caller; string attributes are looked up by key and only read.
    let attribute = |key: &str| unsafe {
        if LLVMGetAttributeCountAtIndex(function, llvm_sys::LLVMAttributeFunctionIndex) == 0 {
            return None;
        }
        let attr = LLVMGetStringAttributeAtIndex(
            function,
            llvm_sys::LLVMAttributeFunctionIndex,
            key.as_ptr() as *const _,
            key.len() as u32,
        );
        if attr.is_null() {
            return None;
        }
        let mut len = 0;
        let value = LLVMGetStringAttributeValue(attr, &mut len);
        Some(
            String::from_utf8_lossy(std::slice::from_raw_parts(value as *const u8, len as usize))
                .into_owned(),
        )
    };
    if attribute("use-soft-float").as_deref() == Some("true") {
        return Some(format!(
            "function `{name}` uses soft float (\"use-soft-float\"), which passes floating-point \
             values in integer registers: no Rust `extern \"C\" fn` type matches it"
        ));
    }
    if let Some(features) = attribute("target-features") {
        if let Some(feature) = features.split(',').find(|f| ABI_FEATURES.contains(f)) {
            return Some(format!(
                "function `{name}` has \"target-features\" {feature}, which changes how \
                 floating-point values are passed: no Rust `extern \"C\" fn` type matches it"
            ));
        }
        let missing: Vec<&str> = features
            .split(',')
            .filter_map(|f| f.strip_prefix('+'))
            .filter(|f| host.lacking.contains(*f))
            .collect();
        if !missing.is_empty() {
            return Some(format!(
                "function `{name}` needs CPU features this host ({}) lacks: {}; remove them from \
                 its \"target-features\" or compile it for this CPU",
                host.cpu,
                missing.join(", ")
            ));
        }
    }
    if let Some(cpu) = attribute("target-cpu")
        && cpu != host.cpu
        && !BASELINE_CPUS.contains(&cpu.as_str())
    {
        return Some(format!(
            "function `{name}` is compiled for CPU `{cpu}`, this host is `{}`: its \
                 instructions may not exist here; drop \"target-cpu\" or use the host's",
            host.cpu
        ));
    }
    None
}

/// An absolute address the module's code or data holds (`inttoptr` of a constant, as a
/// front end writes a host pointer into the IR), if any: its object is only valid in the
/// process that wrote the IR, so it is never cached. Small constants (below one page) are
/// sentinel values, not addresses.
///
/// # Safety
/// `module` is live and not changed meanwhile.
pub(crate) unsafe fn embedded_address(module: LLVMModuleRef) -> Option<u64> {
    // SAFETY: caller; only reads operands.
    unsafe {
        let mut seen = HashSet::new();
        for function in functions(module) {
            for instruction in crate::ir::instructions(function) {
                let is_cast = llvm_sys::core::LLVMGetInstructionOpcode(instruction)
                    == llvm_sys::LLVMOpcode::LLVMIntToPtr;
                for i in 0..llvm_sys::core::LLVMGetNumOperands(instruction).max(0) as u32 {
                    let operand = llvm_sys::core::LLVMGetOperand(instruction, i);
                    if is_cast && let Some(address) = address_constant(operand) {
                        return Some(address);
                    }
                    if let Some(address) = address_in_constant(operand, &mut seen, 0) {
                        return Some(address);
                    }
                }
            }
        }
        for global in globals(module) {
            let initializer = llvm_sys::core::LLVMGetInitializer(global);
            if let Some(address) = address_in_constant(initializer, &mut seen, 0) {
                return Some(address);
            }
        }
    }
    None
}

/// The value of an integer constant that could be an address.
///
/// # Safety
/// `value` is live or null.
unsafe fn address_constant(value: LLVMValueRef) -> Option<u64> {
    // SAFETY: caller; only reads the constant.
    unsafe {
        if value.is_null() || llvm_sys::core::LLVMIsAConstantInt(value).is_null() {
            return None;
        }
        let address = llvm_sys::core::LLVMConstIntGetZExtValue(value);
        (address >= 4096).then_some(address)
    }
}

/// An `inttoptr` constant expression of an address inside `value`, if any.
///
/// # Safety
/// `value` is live or null.
unsafe fn address_in_constant(
    value: LLVMValueRef,
    seen: &mut HashSet<usize>,
    depth: u32,
) -> Option<u64> {
    // SAFETY: caller; only reads constants and their operands.
    unsafe {
        if value.is_null()
            || depth > 64
            || llvm_sys::core::LLVMIsAConstant(value).is_null()
            || !llvm_sys::core::LLVMIsAGlobalValue(value).is_null()
            || !seen.insert(value as usize)
        {
            return None;
        }
        if !llvm_sys::core::LLVMIsAConstantExpr(value).is_null()
            && llvm_sys::core::LLVMGetConstOpcode(value) == llvm_sys::LLVMOpcode::LLVMIntToPtr
            && let Some(address) = address_constant(llvm_sys::core::LLVMGetOperand(value, 0))
        {
            return Some(address);
        }
        (0..llvm_sys::core::LLVMGetNumOperands(value).max(0) as u32).find_map(|i| {
            address_in_constant(llvm_sys::core::LLVMGetOperand(value, i), seen, depth + 1)
        })
    }
}
