//! What ORC will see of a module: the names it defines (and how strongly), the names it needs
//! from elsewhere, and the ABI signatures of its functions and declarations. The object file
//! the host links is the truth for the names (module asm, aliases and code generation all add
//! symbols the IR walk does not see); the IR supplies what an object file does not carry: the
//! signatures, and the constructors and destructors orc-jit calls itself.

use crate::object_file::{Binding, ObjectInfo, SymbolKind};
use crate::signature::Signature;
use crate::structors::Structors;

/// The symbols of one module.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct ModuleSymbols {
    /// Definitions ORC is told about (not local).
    pub(crate) defined: Vec<Defined>,
    /// Names the module's code uses but does not define, so they must come from elsewhere.
    pub(crate) referenced: Vec<String>,
    /// The weak (`extern_weak`) ones among `referenced`: they may stay unresolved (null).
    #[serde(default)]
    pub(crate) weak_references: Vec<String>,
    /// The used function declarations, with their signatures.
    pub(crate) declared: Vec<(String, Signature)>,
    /// The constructors and destructors taken out of the module (see structors.rs).
    #[serde(default)]
    pub(crate) structors: Structors,
    /// Why the object is only valid in this process (it holds an absolute address), if it is:
    /// such an object is never cached.
    #[serde(default)]
    pub(crate) process_specific: Option<String>,
    /// The exit-handler handles of other modules this one may name: its IPO runtime's, whose
    /// inlined code registers with the runtime's own handle (`__jit_dso.<key>`).
    #[serde(default)]
    pub(crate) imported_handles: Vec<String>,
}

/// One symbol a module defines.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Defined {
    pub(crate) name: String,
    pub(crate) strength: Strength,
    /// For functions whose IR definition (or alias) the JIT has seen; `None` for data and for
    /// code that only `module asm` defines.
    pub(crate) signature: Option<Signature>,
    /// What the object file says the symbol is.
    #[serde(default)]
    pub(crate) kind: Kind,
    /// Its size in the object (for data: what the module's code may touch).
    #[serde(default)]
    pub(crate) size: u64,
}

/// What a defined symbol is, for messages and for the "function or data" checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub(crate) enum Kind {
    /// A function of the module's IR (or an alias of one): its signature is known.
    #[default]
    Function,
    /// Code defined only by `module asm`: no signature to check a call against.
    AsmCode,
    /// Data (or a symbol of no type).
    Data,
}

/// How ORC treats two definitions of one name (mirroring `JITDylib::define`): a strong one is a
/// duplicate-definition error, unless the other is weak and never searched, which it replaces;
/// a weak one is discarded in favour of whatever is there first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Strength {
    Strong,
    Weak,
}

impl ModuleSymbols {
    /// The symbols of the object compiled from a module whose IR said `ir`: the object's
    /// definitions and references, with the IR's signatures where the object agrees that the
    /// name is a function the IR defines.
    pub(crate) fn of_object(ir: ModuleSymbols, object: &ObjectInfo) -> ModuleSymbols {
        let signature_in_ir = |name: &str| {
            ir.defined
                .iter()
                .find(|d| d.name == name)
                .and_then(|d| d.signature.clone())
        };
        let defined = object
            .defined
            .iter()
            .map(|symbol| {
                let (signature, kind) = match symbol.kind {
                    SymbolKind::Function => match signature_in_ir(&symbol.name) {
                        Some(signature) => (Some(signature), Kind::Function),
                        None => (None, Kind::AsmCode),
                    },
                    _ => (None, Kind::Data),
                };
                Defined {
                    name: symbol.name.clone(),
                    size: symbol.size,
                    strength: match symbol.binding {
                        Binding::Global => Strength::Strong,
                        Binding::Weak => Strength::Weak,
                    },
                    signature,
                    kind,
                }
            })
            .collect();
        ModuleSymbols {
            defined,
            referenced: object.undefined.iter().map(|u| u.name.clone()).collect(),
            weak_references: object
                .undefined
                .iter()
                .filter(|u| u.weak)
                .map(|u| u.name.clone())
                .collect(),
            declared: ir.declared,
            structors: ir.structors,
            process_specific: ir.process_specific,
            imported_handles: ir.imported_handles,
        }
    }
}
