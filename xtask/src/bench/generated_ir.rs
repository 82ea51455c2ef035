//! The IR modules the cache and start-up benchmarks generate: each `NAME.ll` defines
//! `i64 @NAME(i64)`, the entry demo-runner's `start-bench` calls. Typed pointers (`i64*`), so
//! that every LLVM from 14 on reads them (the newer ones read them as `ptr`).

use std::fmt::Write as _;

/// A small module as compile-bench's: 40 instructions of arithmetic on the argument, so code
/// generation has something to do.
pub(crate) fn small_module(name: &str, seed: usize) -> String {
    let mut ir = format!("define i64 @{name}(i64 %x) {{\nentry:\n  %v0 = add i64 %x, {seed}\n");
    for k in 1..40 {
        let _ = writeln!(ir, "  %v{k} = mul i64 %v{}, {}", k - 1, k % 5 + 1);
    }
    ir.push_str("  ret i64 %v39\n}\n");
    ir
}

/// A large module of `functions` functions the way a front end emits them: each has a branch on
/// its argument's sign, a loop whose trip count depends on the argument, a `switch` in the loop
/// between arithmetic, a load-add-store on a global table and a call to a helper (with a round
/// trip through `double`), and a call to the function before it (so the entry's call runs
/// through all of them, each loop at most 19 times). No undefined behaviour: wrapping
/// arithmetic, shifts below 64, table indices masked, `double`s in range.
pub(crate) fn large_module(name: &str, functions: usize) -> String {
    let mut ir = String::from("@table = internal global [64 x i64] zeroinitializer\n");
    for k in 0..functions {
        let (odd, seed, shift, bits) = (2 * k + 0x9e37, 7 * k + 3, k % 5 + 1, k % 13 + 7);
        let _ = write!(
            ir,
            "
define internal i64 @helper{k}(i64 %x) {{
entry:
  %a = mul i64 %x, {odd}
  %b = lshr i64 %a, {bits}
  %c = xor i64 %a, %b
  ret i64 %c
}}

define internal i64 @f{k}(i64 %n) {{
entry:
  %negative = icmp slt i64 %n, 0
  br i1 %negative, label %flip, label %start
flip:
  %minus = sub i64 0, %n
  br label %start
start:
  %s = phi i64 [ %n, %entry ], [ %minus, %flip ]
  %low = and i64 %s, 15
  %trip = add i64 %low, 4
  br label %loop
loop:
  %i = phi i64 [ 0, %start ], [ %i.next, %latch ]
  %acc = phi i64 [ {seed}, %start ], [ %acc.next, %latch ]
  %which = urem i64 %i, 3
  switch i64 %which, label %call [
    i64 0, label %arith
    i64 1, label %memory
  ]
arith:
  %a0 = mul i64 %acc, {odd}
  %a1 = add i64 %a0, %i
  %a2 = shl i64 %a1, {shift}
  %a3 = xor i64 %a2, %a0
  br label %latch
memory:
  %mixed = xor i64 %acc, %i
  %slot = and i64 %mixed, 63
  %p = getelementptr inbounds [64 x i64], [64 x i64]* @table, i64 0, i64 %slot
  %old = load i64, i64* %p
  %new = add i64 %old, %acc
  store i64 %new, i64* %p
  %m0 = sub i64 %new, %i
  br label %latch
call:
  %h = call i64 @helper{k}(i64 %acc)
  %h.low = and i64 %h, 1048575
  %h.fp = sitofp i64 %h.low to double
  %h.scaled = fmul double %h.fp, 1.5
  %h.back = fptosi double %h.scaled to i64
  %c0 = add i64 %h.back, %h
  br label %latch
latch:
  %acc.next = phi i64 [ %a3, %arith ], [ %m0, %memory ], [ %c0, %call ]
  %i.next = add i64 %i, 1
  %done = icmp uge i64 %i.next, %trip
  br i1 %done, label %exit, label %loop
exit:
"
        );
        if k == 0 {
            ir.push_str("  ret i64 %acc.next\n}\n");
        } else {
            let _ = write!(
                ir,
                "  %before = call i64 @f{}(i64 %acc.next)\n  %r = add i64 %before, %acc.next\n  \
                 ret i64 %r\n}}\n",
                k - 1
            );
        }
    }
    let last = functions.saturating_sub(1);
    let _ = write!(
        ir,
        "
define i64 @{name}(i64 %x) {{
entry:
  %r = call i64 @f{last}(i64 %x)
  ret i64 %r
}}
"
    );
    ir
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_large_module_has_the_lines_the_benchmark_says() {
        let ir = large_module("large", super::super::cache::LARGE_FUNCTIONS);
        assert!(ir.lines().count() >= 10_000, "{} lines", ir.lines().count());
        assert!(ir.contains("define i64 @large(i64 %x)"));
    }

    #[test]
    fn each_module_defines_its_entry() {
        assert!(small_module("m7", 7).starts_with("define i64 @m7(i64 %x)"));
        assert!(large_module("big", 1).contains("define i64 @big(i64 %x)"));
    }
}
