//! Function signatures, as LLVM declares them and as Rust asks for them, so a lookup can refuse
//! a mismatch instead of calling with the wrong ABI.

use std::fmt;

/// The type of a parameter or return value, at the level the C ABI cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueType {
    /// No value (`void` return).
    Void,
    /// An integer of this many bits (`i1`, `i8`, `i16`, `i32`, `i64`, ...).
    Int(u32),
    /// `float`.
    F32,
    /// `double`.
    F64,
    /// Any pointer.
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

/// A function's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The return type.
    pub ret: ValueType,
    /// The parameter types.
    pub params: Vec<ValueType>,
    /// Whether it takes `...`.
    pub variadic: bool,
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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

/// A Rust type that can cross into JIT code by value.
pub trait JitValue: Copy {
    /// Its LLVM type.
    fn value_type() -> ValueType;
}

macro_rules! jit_value {
    ($($t:ty => $v:expr),* $(,)?) => {$(
        impl JitValue for $t {
            fn value_type() -> ValueType { $v }
        }
    )*};
}

jit_value! {
    bool => ValueType::Int(1),
    i8 => ValueType::Int(8), u8 => ValueType::Int(8),
    i16 => ValueType::Int(16), u16 => ValueType::Int(16),
    i32 => ValueType::Int(32), u32 => ValueType::Int(32),
    i64 => ValueType::Int(64), u64 => ValueType::Int(64),
    f32 => ValueType::F32, f64 => ValueType::F64,
}

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

/// A return type: a [`JitValue`] or `()` for `void`.
pub trait JitReturn {
    /// Its LLVM type.
    fn return_type() -> ValueType;
}

impl JitReturn for () {
    fn return_type() -> ValueType {
        ValueType::Void
    }
}

impl<T: JitValue> JitReturn for T {
    fn return_type() -> ValueType {
        T::value_type()
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
    pub trait Sealed {}
}

macro_rules! jit_fn {
    ($($arg:ident),*) => {
        impl<R: JitReturn, $($arg: JitValue),*> sealed::Sealed for extern "C" fn($($arg),*) -> R {}

        impl<R: JitReturn, $($arg: JitValue),*> JitFn for extern "C" fn($($arg),*) -> R {
            fn signature() -> Signature {
                Signature {
                    ret: R::return_type(),
                    params: vec![$($arg::value_type()),*],
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

        impl<'jit, R: JitReturn, $($arg: JitValue),*> crate::Function<'jit, extern "C" fn($($arg),*) -> R> {
            /// Calls the JIT function.
            #[allow(non_snake_case, clippy::too_many_arguments)]
            pub fn call(&self, $($arg: $arg),*) -> R {
                (self.as_fn())($($arg),*)
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

    #[test]
    fn rust_types_map_to_llvm_types() {
        type F = extern "C" fn(i32, *const u8, f64) -> u64;
        let sig = <F as JitFn>::signature();
        assert_eq!(sig.to_string(), "i64 (i32, ptr, double)");
        type V = extern "C" fn();
        assert_eq!(<V as JitFn>::signature().to_string(), "void ()");
    }
}
