//! Function signatures at the level the C ABI cares about, as LLVM declares them and as Rust
//! asks for them, and the one rule that says whether a caller and a callee agree.
//!
//! Types alone are not enough: the calling convention, the integer extension of `i1`/`i8`/
//! `i16` values (`zeroext`/`signext`), attributes that change how a value is passed (`byval`,
//! `sret`, `inalloca`, `inreg`, ...) and varargs all change the machine-level contract.

use std::fmt;

/// The type of a parameter or return value, at the level the C ABI cares about.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ValueType {
    /// No value (`void` return).
    Void,
    /// An integer of this many bits (`i1`, `i8`, `i16`, `i32`, `i64`, ...).
    Int(u32),
    /// `float`.
    F32,
    /// `double`.
    F64,
    /// Any pointer (typed or opaque).
    Ptr,
    /// Anything else (vectors, structs, ...), as LLVM prints it. Never matches a Rust type.
    Other(String),
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueType::Void => f.write_str("void"),
            ValueType::Int(bits) => write!(f, "i{bits}"),
            ValueType::F32 => f.write_str("float"),
            ValueType::F64 => f.write_str("double"),
            ValueType::Ptr => f.write_str("ptr"),
            ValueType::Other(s) => f.write_str(s),
        }
    }
}

/// How an integer narrower than 32 bits is widened in its register (`zeroext`/`signext`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Extension {
    /// No attribute: the upper bits are unspecified.
    #[default]
    None,
    /// `zeroext`: Rust's `bool`, `u8`, `u16`.
    Zero,
    /// `signext`: Rust's `i8`, `i16`.
    Sign,
}

/// A parameter or return value: its type, its extension and any other attribute that changes
/// how it is passed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Value {
    /// The type.
    pub ty: ValueType,
    /// `zeroext`/`signext`.
    pub ext: Extension,
    /// ABI-changing attributes other than the extension (`byval`, `sret`, `inalloca`, `inreg`,
    /// ...), as LLVM spells them. A Rust `extern "C" fn` type never has any.
    pub passing: Vec<String>,
}

impl Value {
    /// A value of type `ty` with no attributes.
    pub fn plain(ty: ValueType) -> Value {
        Value {
            ty,
            ext: Extension::None,
            passing: Vec::new(),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.ty)?;
        match self.ext {
            Extension::None => {}
            Extension::Zero => f.write_str(" zeroext")?,
            Extension::Sign => f.write_str(" signext")?,
        }
        for attribute in &self.passing {
            write!(f, " {attribute}")?;
        }
        Ok(())
    }
}

/// An LLVM calling convention, by its number (`0` is C's, the only one Rust's `extern "C"`
/// uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct CallingConvention(pub u32);

impl CallingConvention {
    /// The C calling convention (`ccc`).
    pub const C: CallingConvention = CallingConvention(0);
}

impl fmt::Display for CallingConvention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // LLVM's own keywords (llvm/IR/CallingConv.h) for the ones a user is likely to meet.
        let name = match self.0 {
            0 => "ccc",
            8 => "fastcc",
            9 => "coldcc",
            10 => "ghccc",
            11 => "cc 11 (HiPE)",
            13 => "anyregcc",
            14 => "preserve_mostcc",
            15 => "preserve_allcc",
            16 => "swiftcc",
            17 => "cxx_fast_tlscc",
            64 => "x86_stdcallcc",
            65 => "x86_fastcallcc",
            70 => "x86_thiscallcc",
            78 => "x86_64_sysvcc",
            79 => "win64cc",
            80 => "x86_vectorcallcc",
            83 => "x86_intrcc",
            92 => "x86_regcallcc",
            other => return write!(f, "cc {other}"),
        };
        f.write_str(name)
    }
}

/// A function's signature.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Signature {
    /// The calling convention.
    pub calling_convention: CallingConvention,
    /// The return value.
    pub ret: Value,
    /// The parameters.
    pub params: Vec<Value>,
    /// Whether it takes `...`.
    pub variadic: bool,
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.calling_convention != CallingConvention::C {
            write!(f, "{} ", self.calling_convention)?;
        }
        write!(f, "{} (", self.ret)?;
        for (i, p) in self.params.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{p}")?;
        }
        if self.variadic {
            f.write_str(if self.params.is_empty() {
                "..."
            } else {
                ", ..."
            })?;
        }
        f.write_str(")")
    }
}

/// Whether code that calls with signature `caller` may call a function defined with signature
/// `callee`; `Err` says the first difference that makes the call wrong.
///
/// Extension follows who does the work: a caller widens the arguments it passes as its own
/// declaration says, and a callee assumes the widening its own declaration says, so a callee
/// parameter without an extension attribute accepts any caller; for the return value the roles
/// swap. Only integers narrower than 32 bits are widened on the targets orc-jit runs on.
pub(crate) fn check_call(callee: &Signature, caller: &Signature) -> Result<(), String> {
    if callee.calling_convention != caller.calling_convention {
        return Err(format!(
            "calling convention {} is not {}",
            callee.calling_convention, caller.calling_convention
        ));
    }
    if callee.variadic != caller.variadic {
        return Err("one side is variadic (`...`) and the other is not".into());
    }
    if callee.params.len() != caller.params.len() {
        return Err(format!(
            "{} parameters, not {}",
            callee.params.len(),
            caller.params.len()
        ));
    }
    check_value("the return value", &caller.ret, &callee.ret)?;
    for (i, (theirs, ours)) in callee.params.iter().zip(&caller.params).enumerate() {
        check_value(&format!("parameter {}", i + 1), theirs, ours)?;
    }
    Ok(())
}

/// `producer` widens (the caller for a parameter, the callee for a return value); `consumer`
/// relies on the widening.
fn check_value(what: &str, consumer: &Value, producer: &Value) -> Result<(), String> {
    if consumer.ty != producer.ty {
        return Err(format!(
            "{what} is {} on one side and {} on the other",
            consumer.ty, producer.ty
        ));
    }
    if let Some(attribute) = consumer.passing.iter().chain(&producer.passing).next() {
        return Err(format!(
            "{what} is passed `{attribute}`, which a Rust `extern \"C\" fn` type cannot express"
        ));
    }
    let narrow = matches!(consumer.ty, ValueType::Int(bits) if bits < 32);
    if narrow && consumer.ext != Extension::None && consumer.ext != producer.ext {
        let spell = |ext| match ext {
            Extension::None => "no extension attribute",
            Extension::Zero => "`zeroext`",
            Extension::Sign => "`signext`",
        };
        return Err(format!(
            "{what} ({}) is read as if widened with {} but is widened with {}{}",
            consumer.ty,
            spell(consumer.ext),
            spell(producer.ext),
            if consumer.ty == ValueType::Int(1) {
                " (a Rust `bool` is `i1 zeroext`; add `zeroext` to the IR)"
            } else {
                " (Rust's unsigned types are `zeroext`, its signed types `signext`)"
            }
        ));
    }
    Ok(())
}

/// A Rust type that can cross into JIT code by value: the integers (`usize`/`isize` too: C's
/// `size_t`/`ptrdiff_t`), `bool`, `f32`, `f64` and raw pointers.
///
/// Sealed: what a type says about its ABI is what the lookup checks trust, so only orc-jit
/// implements it. A type of your own cannot claim to be an `i64`:
/// ```compile_fail,E0277
/// #[derive(Clone, Copy)]
/// #[repr(transparent)]
/// struct Lie(&'static u64);
/// impl orc_jit::JitValue for Lie {
///     fn value_type() -> orc_jit::ValueType { orc_jit::ValueType::Int(64) }
/// }
/// ```
pub trait JitValue: Copy + sealed::Sealed {
    /// Its LLVM type.
    fn value_type() -> ValueType;

    /// How Rust widens it in a register for the C ABI.
    fn extension() -> Extension {
        Extension::None
    }
}

macro_rules! jit_value {
    ($($t:ty => $v:expr, $ext:expr);* $(;)?) => {$(
        impl sealed::Sealed for $t {}
        impl JitValue for $t {
            fn value_type() -> ValueType { $v }
            fn extension() -> Extension { $ext }
        }
    )*};
}

jit_value! {
    bool => ValueType::Int(1), Extension::Zero;
    i8 => ValueType::Int(8), Extension::Sign;
    u8 => ValueType::Int(8), Extension::Zero;
    i16 => ValueType::Int(16), Extension::Sign;
    u16 => ValueType::Int(16), Extension::Zero;
    i32 => ValueType::Int(32), Extension::None;
    u32 => ValueType::Int(32), Extension::None;
    i64 => ValueType::Int(64), Extension::None;
    u64 => ValueType::Int(64), Extension::None;
    f32 => ValueType::F32, Extension::None;
    f64 => ValueType::F64, Extension::None;
}

// `usize`/`isize` are pointer-sized: 64 bits on every target orc-jit supports (x86-64 and
// aarch64 Linux), said here so that a 32-bit port fails to compile instead of lying.
const _: () = assert!(std::mem::size_of::<usize>() == 8);
jit_value! {
    usize => ValueType::Int(64), Extension::None;
    isize => ValueType::Int(64), Extension::None;
}

impl<T> sealed::Sealed for *const T {}
impl<T> sealed::Sealed for *mut T {}

impl<T> JitValue for *const T {
    fn value_type() -> ValueType {
        ValueType::Ptr
    }
}

impl<T> JitValue for *mut T {
    fn value_type() -> ValueType {
        ValueType::Ptr
    }
}

/// A return type: a [`JitValue`] or `()` for `void`. Sealed, like [`JitValue`]:
/// ```compile_fail,E0277
/// struct Lie;
/// impl orc_jit::JitReturn for Lie {
///     fn return_value() -> orc_jit::Value { orc_jit::Value::plain(orc_jit::ValueType::Int(64)) }
/// }
/// ```
pub trait JitReturn: sealed::SealedReturn {
    /// Its LLVM return value.
    fn return_value() -> Value;
}

impl sealed::SealedReturn for () {}
impl<T: JitValue> sealed::SealedReturn for T {}

impl JitReturn for () {
    fn return_value() -> Value {
        Value::plain(ValueType::Void)
    }
}

impl<T: JitValue> JitReturn for T {
    fn return_value() -> Value {
        value_of::<T>()
    }
}

fn value_of<T: JitValue>() -> Value {
    Value {
        ty: T::value_type(),
        ext: T::extension(),
        passing: Vec::new(),
    }
}

/// An `extern "C" fn` type a JIT function can be looked up as.
///
/// Implemented for `extern "C" fn(A, B, ...) -> R` with up to eight parameters, where every
/// parameter is a [`JitValue`] and `R` is a [`JitReturn`].
pub trait JitFn: Copy + sealed::Sealed {
    /// The signature this Rust type stands for.
    fn signature() -> Signature;

    /// Reinterprets a code address as this function type.
    ///
    /// # Safety
    /// `address` is the entry of a function whose ABI signature is [`JitFn::signature`].
    unsafe fn from_address(address: u64) -> Self;

    /// The function's code address.
    fn address(self) -> u64;
}

mod sealed {
    /// Implemented for the types orc-jit knows the ABI of, and `extern "C" fn` types of them.
    pub trait Sealed {}
    /// Implemented for [`super::JitValue`]s and `()`.
    pub trait SealedReturn {}
}

macro_rules! jit_fn {
    ($($arg:ident),*) => {
        impl<R: JitReturn, $($arg: JitValue),*> sealed::Sealed for extern "C" fn($($arg),*) -> R {}

        impl<R: JitReturn, $($arg: JitValue),*> JitFn for extern "C" fn($($arg),*) -> R {
            fn signature() -> Signature {
                Signature {
                    calling_convention: CallingConvention::C,
                    ret: R::return_value(),
                    params: vec![$(value_of::<$arg>()),*],
                    variadic: false,
                }
            }

            unsafe fn from_address(address: u64) -> Self {
                // SAFETY: the caller guarantees `address` is such a function's entry; a code
                // address and a fn pointer have the same size and representation.
                unsafe { std::mem::transmute::<usize, Self>(address as usize) }
            }

            fn address(self) -> u64 {
                self as usize as u64
            }
        }

    };
}

jit_fn!();
jit_fn!(A1);
jit_fn!(A1, A2);
jit_fn!(A1, A2, A3);
jit_fn!(A1, A2, A3, A4);
jit_fn!(A1, A2, A3, A4, A5);
jit_fn!(A1, A2, A3, A4, A5, A6);
jit_fn!(A1, A2, A3, A4, A5, A6, A7);
jit_fn!(A1, A2, A3, A4, A5, A6, A7, A8);

#[cfg(test)]
mod tests {
    use super::*;

    fn int(bits: u32, ext: Extension) -> Value {
        Value {
            ty: ValueType::Int(bits),
            ext,
            passing: Vec::new(),
        }
    }

    fn sig(ret: Value, params: Vec<Value>) -> Signature {
        Signature {
            calling_convention: CallingConvention::C,
            ret,
            params,
            variadic: false,
        }
    }

    #[test]
    fn rust_types_map_to_llvm_types() {
        type F = extern "C" fn(i32, *const u8, f64) -> u64;
        assert_eq!(
            <F as JitFn>::signature().to_string(),
            "i64 (i32, ptr, double)"
        );
        type V = extern "C" fn();
        assert_eq!(<V as JitFn>::signature().to_string(), "void ()");
        type S = extern "C" fn(usize, *const u8) -> isize;
        assert_eq!(<S as JitFn>::signature().to_string(), "i64 (i64, ptr)");
        type B = extern "C" fn(u8, i16) -> bool;
        assert_eq!(
            <B as JitFn>::signature().to_string(),
            "i1 zeroext (i8 zeroext, i16 signext)"
        );
    }

    #[test]
    fn a_bool_return_needs_zeroext() {
        let rust = <extern "C" fn(u8) -> bool as JitFn>::signature();
        let bare = sig(int(1, Extension::None), vec![int(8, Extension::None)]);
        let err = check_call(&bare, &rust).unwrap_err();
        assert!(
            err.contains("return value") && err.contains("zeroext"),
            "{err}"
        );
        let good = sig(int(1, Extension::Zero), vec![int(8, Extension::None)]);
        assert_eq!(check_call(&good, &rust), Ok(()));
    }

    #[test]
    fn a_callee_parameter_without_extension_accepts_any_caller() {
        let rust = <extern "C" fn(u8) -> i32 as JitFn>::signature();
        let bare = sig(int(32, Extension::None), vec![int(8, Extension::None)]);
        assert_eq!(check_call(&bare, &rust), Ok(()));
        let signed = sig(int(32, Extension::None), vec![int(8, Extension::Sign)]);
        assert!(check_call(&signed, &rust).is_err());
    }

    #[test]
    fn an_ir_caller_of_a_rust_function_must_widen_as_rust_expects() {
        let rust = <extern "C" fn(bool) -> u8 as JitFn>::signature();
        let decl = sig(int(8, Extension::None), vec![int(1, Extension::None)]);
        let err = check_call(&rust, &decl).unwrap_err();
        assert!(err.contains("parameter 1"), "{err}");
        let decl = sig(int(8, Extension::None), vec![int(1, Extension::Zero)]);
        assert_eq!(check_call(&rust, &decl), Ok(()));
    }

    #[test]
    fn conventions_varargs_and_passing_attributes_are_compared() {
        let rust = <extern "C" fn(*const u8) -> i32 as JitFn>::signature();
        let mut other = rust.clone();
        other.calling_convention = CallingConvention(92);
        assert!(
            check_call(&other, &rust)
                .unwrap_err()
                .contains("x86_regcallcc")
        );
        let mut other = rust.clone();
        other.variadic = true;
        assert!(check_call(&other, &rust).is_err());
        let mut other = rust.clone();
        other.params[0].passing.push("byval".into());
        assert!(check_call(&other, &rust).unwrap_err().contains("byval"));
        assert_eq!(other.to_string(), "i32 (ptr byval)");
    }
}
