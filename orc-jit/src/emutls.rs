//! Where emulated thread-locals live (lower.rs makes every thread-local of a module emulated):
//! the JIT's own `__emutls_get_address`, which, unlike libgcc's, frees a module's copies when
//! the module goes and reuses its slots.
//!
//! libgcc gives each control variable a slot number on first use, never reused, and frees a
//! thread's copies only when the thread exits: a long-lived thread that adds, uses and removes
//! a module with a 1 MiB thread-local 200 times kept 200 MiB. Here a control variable names its
//! module (the fifth word lower.rs gives it: the module's exit-handler handle, which exits.rs
//! maps to the module once it is linked), and when the module is removed or its JIT dropped:
//!
//! - the removing thread's copies of its thread-locals are freed at once;
//! - its slots go back to a free list, each with a new generation, so a slot is reused by a
//!   later module's variable without ever handing out an old copy;
//! - another thread's copies are freed when that thread next uses the slot (for another
//!   variable) or exits, as libgcc frees them. Its code is gone, so nothing uses them.
//!
//! A control variable, as lower.rs writes it: `{ size, align, tag, template, handle }` (libgcc's
//! four words, then the handle). `tag` starts at 0; the first use stores `slot | generation <<
//! 32` in it. A thread's copies are in a table that a pthread key's destructor frees when the
//! thread exits: glibc runs those after the thread's C++ `thread_local` destructors, which may
//! still use the copies.
//!
//! Only code lower.rs rewrote calls this (as [`crate::lower::RT_TLS_ADDRESS`]); an object
//! compiled elsewhere with `-femulated-tls` calls libgcc's `__emutls_get_address` with libgcc's
//! four-word control, and gets libgcc's.

use std::alloc::Layout;
use std::cell::Cell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// A control variable (see the module docs).
#[repr(C)]
pub(crate) struct Control {
    size: usize,
    align: usize,
    tag: AtomicUsize,
    template: *const u8,
    /// The defining module's handle (`__jit_dso.<key>`).
    handle: usize,
}

/// Which module (of which JIT) a slot's variable belongs to; `None` for the JIT's own handle.
type Owner = (u64, Option<u64>);

/// The slots in use and free, for every JIT of the process.
#[derive(Default)]
struct Slots {
    /// Per slot: its current generation, and the owner of the variable using it (`None`: free,
    /// or used by a variable whose module could not be told, which keeps it).
    generation: Vec<u32>,
    owner: Vec<Option<Owner>>,
    free: Vec<u32>,
}

static SLOTS: Mutex<Slots> = Mutex::new(Slots {
    generation: Vec::new(),
    owner: Vec::new(),
    free: Vec::new(),
});

fn slots() -> std::sync::MutexGuard<'static, Slots> {
    SLOTS.lock().unwrap_or_else(|e| e.into_inner())
}

fn tag_of(slot: u32, generation: u32) -> usize {
    slot as usize | (generation as usize) << 32
}

fn slot_of(tag: usize) -> usize {
    tag & 0xffff_ffff
}

/// One thread's copy of one variable.
struct Copy {
    tag: usize,
    address: *mut u8,
    layout: Layout,
}

/// One thread's copies, by slot.
#[derive(Default)]
struct Table {
    copies: Vec<Option<Copy>>,
}

impl Table {
    fn free(&mut self, slot: usize) {
        if let Some(copy) = self.copies.get_mut(slot).and_then(Option::take) {
            // SAFETY: allocated by `address` below with this layout, freed once (taken).
            unsafe { std::alloc::dealloc(copy.address, copy.layout) };
        }
    }
}

thread_local! {
    /// This thread's table, or null. No destructor of its own: the pthread key's frees it.
    static TABLE: Cell<*mut Table> = const { Cell::new(std::ptr::null_mut()) };
}

/// The pthread key whose destructor frees a thread's table; `None` if none could be made
/// (then a thread's copies stay until the process ends, as without a destructor).
fn key() -> Option<libc::pthread_key_t> {
    static KEY: OnceLock<Option<libc::pthread_key_t>> = OnceLock::new();
    *KEY.get_or_init(|| {
        let mut key = 0;
        // SAFETY: `key` is a valid place for the new key; the destructor has the signature
        // pthread_key_create expects and may run on any thread.
        (unsafe { libc::pthread_key_create(&mut key, Some(free_table)) } == 0).then_some(key)
    })
}

/// The pthread key's destructor: frees the exiting thread's table.
unsafe extern "C" fn free_table(table: *mut c_void) {
    TABLE.with(|t| {
        if t.get() == table.cast() {
            t.set(std::ptr::null_mut());
        }
    });
    if !table.is_null() {
        // SAFETY: the key's value is only ever this thread's table, made by Box::into_raw in
        // `table`; glibc clears the value before calling this, and TABLE no longer has it, so
        // it is freed once.
        let mut table = unsafe { Box::from_raw(table.cast::<Table>()) };
        for slot in 0..table.copies.len() {
            table.free(slot);
        }
    }
}

/// This thread's table, made on first use (and freed when the thread exits, if the process
/// could make the pthread key; otherwise it stays).
fn table() -> *mut Table {
    TABLE.with(|t| {
        if t.get().is_null() {
            let table = Box::into_raw(Box::<Table>::default());
            if let Some(key) = key() {
                // SAFETY: the key is live (never deleted); the value is this thread's table.
                unsafe { libc::pthread_setspecific(key, table.cast()) };
            }
            t.set(table);
        }
        t.get()
    })
}

/// `control`'s tag: its slot, taken on first use.
fn tag(control: &Control) -> usize {
    let tag = control.tag.load(Ordering::Acquire);
    if tag != 0 {
        return tag;
    }
    let owner = crate::exits::owner_of_handle(control.handle);
    let mut slots = slots();
    // Another thread may have given it one meanwhile.
    let tag = control.tag.load(Ordering::Acquire);
    if tag != 0 {
        return tag;
    }
    let slot = match slots.free.pop() {
        Some(slot) => slot,
        None => {
            let Ok(slot) = u32::try_from(slots.generation.len()) else {
                return 0;
            };
            slots.generation.push(1);
            slots.owner.push(None);
            slot
        }
    };
    slots.owner[slot as usize] = owner;
    let tag = tag_of(slot, slots.generation[slot as usize]);
    control.tag.store(tag, Ordering::Release);
    tag
}

/// The runtime's `__emutls_get_address`: this thread's copy of `control`'s variable, made
/// (zeroed, or a copy of its template) on first use. Null only if the control variable is not
/// one lower.rs could have written (a size or alignment no layout has) or memory ran out;
/// JIT code then faults as it would on any null pointer.
///
/// # Safety
/// `control` points to a live control variable (what lower.rs's rewritten code passes).
pub(crate) unsafe extern "C" fn address(control: *mut Control) -> *mut c_void {
    // SAFETY: caller.
    let control = unsafe { &*control };
    let tag = tag(control);
    if tag == 0 {
        return std::ptr::null_mut();
    }
    let slot = slot_of(tag);
    // SAFETY: this thread's table, used only on this thread and not freed while it runs (its
    // destructor runs once the thread's own code is done).
    let table = unsafe { &mut *table() };
    if let Some(Some(copy)) = table.copies.get(slot)
        && copy.tag == tag
    {
        return copy.address.cast();
    }
    // A slot reused since this thread used it: the old copy's variable is gone.
    table.free(slot);
    let Ok(layout) = Layout::from_size_align(control.size.max(1), control.align.max(1)) else {
        return std::ptr::null_mut();
    };
    // SAFETY: the layout's size is not zero.
    let address = unsafe { std::alloc::alloc_zeroed(layout) };
    if address.is_null() {
        return std::ptr::null_mut();
    }
    if !control.template.is_null() {
        // SAFETY: lower.rs's template is the variable's initial value, `size` bytes; the new
        // copy is as large and does not overlap it.
        unsafe { std::ptr::copy_nonoverlapping(control.template, address, control.size) };
    }
    if table.copies.len() <= slot {
        table.copies.resize_with(slot + 1, || None);
    }
    table.copies[slot] = Some(Copy {
        tag,
        address,
        layout,
    });
    address.cast()
}

/// Gives back the slots of `jit`'s variables that `owned` selects, and frees this thread's
/// copies of them.
fn release(owned: impl Fn(&Owner) -> bool) {
    let released: Vec<usize> = {
        let mut slots = slots();
        let slots = &mut *slots;
        let mut released = Vec::new();
        for slot in 0..slots.owner.len() {
            if slots.owner[slot].as_ref().is_some_and(&owned) {
                slots.owner[slot] = None;
                let generation = &mut slots.generation[slot];
                *generation = generation.checked_add(1).unwrap_or(1);
                slots.free.push(slot as u32);
                released.push(slot);
            }
        }
        released
    };
    if released.is_empty() {
        return;
    }
    TABLE.with(|t| {
        let table = t.get();
        if !table.is_null() {
            // SAFETY: this thread's table, and no JIT code runs on this thread meanwhile.
            let table = unsafe { &mut *table };
            for slot in released {
                table.free(slot);
            }
        }
    });
}

/// A module was removed (its exit handlers and destructors have run): its variables' slots
/// are given back, and this thread's copies freed.
pub(crate) fn module_removed(jit: u64, module: u64) {
    release(|&(j, m)| j == jit && m == Some(module));
}

/// A JIT was dropped: as [`module_removed`] for everything it had.
pub(crate) fn jit_dropped(jit: u64) {
    release(|&(j, _)| j == jit);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control(size: usize, template: *const u8) -> Control {
        Control {
            size,
            align: 8,
            tag: AtomicUsize::new(0),
            template,
            handle: 0,
        }
    }

    #[test]
    fn each_thread_has_its_own_copy_with_the_initial_value() {
        let initial = 42u64.to_ne_bytes();
        let c = control(8, initial.as_ptr());
        // SAFETY: `c` is live for the whole test.
        let here = unsafe { address(&c as *const Control as *mut Control) } as usize;
        // SAFETY: as above.
        let again = unsafe { address(&c as *const Control as *mut Control) } as usize;
        assert_eq!(here, again);
        // SAFETY: the copy is 8 bytes, aligned to 8.
        assert_eq!(unsafe { *(here as *const u64) }, 42);
        // The address, as a number: a control variable is shared by JIT code on every thread.
        let c = &c as *const Control as usize;
        let there = std::thread::scope(|s| {
            s.spawn(move || {
                // SAFETY: `c` outlives the scope.
                let p = unsafe { address(c as *mut Control) };
                // SAFETY: as above.
                unsafe { (p as usize, *(p as *const u64)) }
            })
            .join()
            .unwrap()
        });
        assert_ne!(there.0, here);
        assert_eq!(there.1, 42);
    }

    #[test]
    fn a_layout_no_variable_has_is_null() {
        let mut c = control(8, std::ptr::null());
        c.align = 3;
        // SAFETY: `c` is live.
        assert!(unsafe { address(&mut c) }.is_null());
    }
}
