//! The exit handlers and thread-local destructors that JIT code registers, kept by orc-jit
//! instead of libc, so that none ever runs after the code it points into is freed.
//!
//! C and C++ register them with `__cxa_atexit(f, arg, dso)` (a C++ global's destructor, a
//! function-local static's), `atexit(f)` and `__cxa_thread_atexit(f, obj, dso)` (a
//! `thread_local` object's destructor), where `dso` says which library the handler belongs to:
//! each module gets a handle of its own (lower.rs rewrites its `__dso_handle` and its `atexit`
//! calls; the JIT defines the handle as an absolute symbol), and the JIT one for everything
//! else it links (static archive members), as ORC's own platforms give each JITDylib one. The
//! JIT defines those three functions for its code, and this file is what they call:
//!
//! - a module's handlers run when it is removed, the last registered first (as `__cxa_finalize`
//!   does for a `dlclose`d library), then its destructors (`llvm.global_dtors`);
//! - all that remain run when the JIT is dropped, in the reverse order of registration across
//!   all its modules, then the modules' destructors, the last added first;
//! - a JIT that is never dropped (leaked on purpose, or alive when the program calls `exit`)
//!   gets the same at process exit, from one `atexit` handler of orc-jit's own;
//! - a thread-local destructor is registered with glibc's `__cxa_thread_atexit_impl` through a
//!   trampoline of orc-jit's (host code, never freed): at thread exit it runs the JIT's
//!   destructor if its module is still there. A module's thread-local destructors of the
//!   thread that removes it run at removal; while other threads still have some pending, the
//!   removal is refused (they run when those threads exit), and when the JIT is dropped they
//!   are cancelled: never a call into freed code.
//!
//! A handler registered with a handle no live module or JIT owns (a removed module's, a
//! garbage pointer) is refused: the registration returns -1, as libc's does when it cannot
//! allocate, and the handler never runs.

use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::ThreadId;

use crate::key::ModuleKey;

/// Who a handle stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Owner {
    jit: u64,
    /// `None`: the JIT's own handle (what it links that is not a module of its own).
    module: Option<ModuleKey>,
}

#[derive(Debug, Clone, Copy)]
enum Call {
    /// `f(arg)`: `__cxa_atexit`, a thread-local destructor.
    WithArgument(usize, usize),
    /// `f()`: `atexit`.
    Plain(usize),
}

impl Call {
    /// # Safety
    /// The function is JIT code registered as an exit handler, whose module is still in its
    /// JIT, and whose contract (the caller's of [`crate::Function::call`]) is that it behaves
    /// like sound C when run.
    unsafe fn run(self) {
        // SAFETY: caller; a registered handler's address is the entry of a `void (void*)` or a
        // `void (void)` function, as the registration function's type says.
        unsafe {
            match self {
                Call::WithArgument(f, arg) => {
                    let f: extern "C" fn(*mut c_void) = std::mem::transmute(f);
                    f(arg as *mut c_void);
                }
                Call::Plain(f) => {
                    let f: extern "C" fn() = std::mem::transmute(f);
                    f();
                }
            }
        }
    }
}

#[derive(Debug)]
struct Handler {
    owner: Owner,
    call: Call,
}

/// A thread-local destructor's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ThreadDtorState {
    Pending,
    /// Its thread is running it: its code must stay.
    Running,
}

#[derive(Debug)]
struct ThreadDtor {
    owner: Owner,
    thread: ThreadId,
    call: Call,
    state: ThreadDtorState,
}

/// One live JIT's records.
#[derive(Default)]
struct JitRecord {
    /// Finds the JIT's own handle, until it is needed once.
    own_handle: Option<HandleLookup>,
    /// Its own handle (`__dso_handle`), and each module key's handle: each box's address is
    /// what JIT code passes, so it must not move.
    #[allow(clippy::vec_box)]
    handles: Vec<Box<u8>>,
    module_handles: HashMap<ModuleKey, usize>,
    /// The modules in it that own handlers (by key), with their JIT module id.
    loaded: HashMap<ModuleKey, u64>,
    /// Each module's destructors (entry addresses, in the order to call them), by module id,
    /// in the order the modules were added.
    destructors: Vec<(u64, Vec<u64>)>,
}

#[derive(Default)]
struct State {
    /// Handle address → owner.
    handles: HashMap<usize, Owner>,
    /// Exit handlers not yet run, in the order registered.
    handlers: Vec<Handler>,
    /// Pending and running thread-local destructors, by the id glibc hands back.
    thread_dtors: HashMap<u64, ThreadDtor>,
    next_thread_dtor: u64,
    jits: HashMap<u64, JitRecord>,
    /// The order JITs were created (for process exit: the last first).
    jit_order: Vec<u64>,
    exit_hook: bool,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);
/// Signalled when a running thread-local destructor finishes.
static FINISHED: Condvar = Condvar::new();

fn state() -> MutexGuard<'static, Option<State>> {
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

fn with_state<T>(f: impl FnOnce(&mut State) -> T) -> T {
    let mut guard = state();
    f(guard.get_or_insert_with(State::default))
}

/// How a JIT's own handle is found when first needed: LLJIT's `__dso_handle`, looked up.
pub(crate) type HandleLookup = Box<dyn Fn() -> Option<usize> + Send>;

/// Records a new JIT, whose own handle (for what it links that is not a module of its own:
/// static archive members) `lookup` finds.
pub(crate) fn jit_created(jit: u64, lookup: HandleLookup) {
    let install = with_state(|s| {
        let record = s.jits.entry(jit).or_default();
        record.own_handle = Some(lookup);
        s.jit_order.push(jit);
        let install = !s.exit_hook;
        s.exit_hook = true;
        install
    });
    if install {
        // SAFETY: registers a function of orc-jit's (host code, never unloaded) with libc.
        unsafe { libc::atexit(at_process_exit) };
    }
}

/// The address of the handle of modules with `key` in `jit` (the same for every module of that
/// key, for as long as the JIT lives: ORC keeps the absolute symbol).
pub(crate) fn module_handle(jit: u64, key: ModuleKey) -> (usize, bool) {
    with_state(|s| {
        let record = s.jits.entry(jit).or_default();
        if let Some(&address) = record.module_handles.get(&key) {
            return (address, false);
        }
        let handle = Box::new(0u8);
        let address = &*handle as *const u8 as usize;
        record.handles.push(handle);
        record.module_handles.insert(key, address);
        s.handles.insert(
            address,
            Owner {
                jit,
                module: Some(key),
            },
        );
        (address, true)
    })
}

/// Whether a module with `key` is in `jit` (owning handlers).
pub(crate) fn is_loaded(jit: u64, key: ModuleKey) -> Option<u64> {
    with_state(|s| s.jits.get(&jit)?.loaded.get(&key).copied())
}

/// A module with `key` (JIT module id `module`) now owns the handlers registered with its
/// handle.
pub(crate) fn module_added(jit: u64, key: ModuleKey, module: u64) {
    with_state(|s| {
        s.jits.entry(jit).or_default().loaded.insert(key, module);
    });
}

/// The module's destructors, to call (in this order) when it goes.
pub(crate) fn set_destructors(jit: u64, module: u64, destructors: Vec<u64>) {
    if destructors.is_empty() {
        return;
    }
    with_state(|s| {
        s.jits
            .entry(jit)
            .or_default()
            .destructors
            .push((module, destructors));
    });
}

/// Why a module cannot be removed now: other threads still have its thread-local objects.
pub(crate) fn removal_blocked(jit: u64, key: ModuleKey) -> Option<String> {
    let me = std::thread::current().id();
    with_state(|s| {
        let owner = Owner {
            jit,
            module: Some(key),
        };
        let mut threads: Vec<ThreadId> = s
            .thread_dtors
            .values()
            .filter(|d| d.owner == owner && (d.thread != me || d.state == ThreadDtorState::Running))
            .map(|d| d.thread)
            .collect();
        threads.sort_by_key(|t| format!("{t:?}"));
        threads.dedup();
        (!threads.is_empty()).then(|| {
            format!(
                "thread-local objects of the module on {} other thread{} still need their \
                 destructors, which run when those threads exit; let them exit first",
                threads.len(),
                if threads.len() == 1 { "" } else { "s" }
            )
        })
    })
}

/// Runs what a module removed from `jit` leaves: its exit handlers (the last registered
/// first), this thread's destructors of its thread-locals, then its destructors; from then on
/// its handle is refused.
pub(crate) fn module_removed(jit: u64, key: ModuleKey, module: u64) {
    let owner = Owner {
        jit,
        module: Some(key),
    };
    run_until_none(|s| take_thread_dtors(s, |d| d.owner == owner, true));
    run_until_none(|s| take_handlers(s, |h| h.owner == owner));
    let destructors = with_state(|s| {
        let record = s.jits.get_mut(&jit)?;
        record.loaded.remove(&key);
        let at = record.destructors.iter().position(|(m, _)| *m == module)?;
        Some(record.destructors.remove(at).1)
    });
    run_all(
        destructors
            .unwrap_or_default()
            .into_iter()
            .map(|address| Call::Plain(address as usize)),
    );
}

/// Runs everything `jit` still holds (as [`module_removed`] for all its modules, with the
/// handlers in the reverse order of registration across them), cancels other threads'
/// thread-local destructors of its code, and forgets it.
pub(crate) fn jit_dropped(jit: u64) {
    finish_jit(jit);
}

fn finish_jit(jit: u64) {
    run_until_none(|s| take_thread_dtors(s, |d| d.owner.jit == jit, true));
    run_until_none(|s| take_handlers(s, |h| h.owner.jit == jit));
    let destructors = with_state(|s| {
        s.jits
            .get_mut(&jit)
            .map(|r| std::mem::take(&mut r.destructors))
    });
    for (_, calls) in destructors.unwrap_or_default().into_iter().rev() {
        run_all(
            calls
                .into_iter()
                .map(|address| Call::Plain(address as usize)),
        );
    }
    // Other threads' destructors: cancelled, once none of them is running.
    let mut guard = state();
    loop {
        let s = guard.get_or_insert_with(State::default);
        let running = s
            .thread_dtors
            .values()
            .any(|d| d.owner.jit == jit && d.state == ThreadDtorState::Running);
        if !running {
            s.thread_dtors.retain(|_, d| d.owner.jit != jit);
            s.handles.retain(|_, owner| owner.jit != jit);
            s.jits.remove(&jit);
            s.jit_order.retain(|&j| j != jit);
            return;
        }
        guard = FINISHED.wait(guard).unwrap_or_else(|e| e.into_inner());
    }
}

/// orc-jit's handler at process exit: every JIT still alive finishes as if dropped, the last
/// created first (their handlers are all JIT code that is still mapped).
extern "C" fn at_process_exit() {
    let jits: Vec<u64> = with_state(|s| s.jit_order.iter().rev().copied().collect());
    for jit in jits {
        finish_jit(jit);
    }
}

/// Takes the last registered matching handler.
fn take_handlers(s: &mut State, matches: impl Fn(&Handler) -> bool) -> Option<Call> {
    let at = s.handlers.iter().rposition(matches)?;
    Some(s.handlers.remove(at).call)
}

/// Takes this thread's last registered pending matching thread-local destructor; with
/// `mine_only`, other threads' are left.
fn take_thread_dtors(
    s: &mut State,
    matches: impl Fn(&ThreadDtor) -> bool,
    mine_only: bool,
) -> Option<Call> {
    let me = std::thread::current().id();
    let id = s
        .thread_dtors
        .iter()
        .filter(|(_, d)| d.state == ThreadDtorState::Pending && matches(d))
        .filter(|(_, d)| !mine_only || d.thread == me)
        .map(|(&id, _)| id)
        .max()?;
    s.thread_dtors.remove(&id).map(|d| d.call)
}

/// Runs what `take` takes, one at a time, until it takes nothing: as in libc, a handler
/// registered while handlers run (a destructor that touches a function-local static for the
/// first time) is the last registered, so it runs next.
fn run_until_none(mut take: impl FnMut(&mut State) -> Option<Call>) {
    while let Some(call) = with_state(&mut take) {
        run_all([call]);
    }
}

fn run_all(calls: impl IntoIterator<Item = Call>) {
    for call in calls {
        // SAFETY: each was registered by JIT code of a module that is still in its JIT (the
        // callers run a module's handlers before it goes, a JIT's before it is disposed), under
        // the contract of Function::call; no lock is held, so it may register more.
        unsafe { call.run() };
    }
}

/// The owner of `handle`, looking the JITs' own handles up first if it is none of the known
/// ones.
fn owner_of(s: &mut State, handle: usize) -> Option<Owner> {
    if let Some(&owner) = s.handles.get(&handle) {
        return Some(owner);
    }
    for (&jit, record) in s.jits.iter_mut() {
        if let Some(lookup) = record.own_handle.take() {
            if let Some(address) = lookup() {
                s.handles.insert(address, Owner { jit, module: None });
            }
        }
    }
    s.handles.get(&handle).copied()
}

fn register(call: Call, handle: usize) -> c_int {
    with_state(|s| {
        let Some(owner) = owner_of(s, handle) else {
            return -1;
        };
        if let Some(key) = owner.module {
            let loaded = s
                .jits
                .get(&owner.jit)
                .is_some_and(|r| r.loaded.contains_key(&key));
            if !loaded {
                return -1;
            }
        }
        s.handlers.push(Handler { owner, call });
        0
    })
}

/// `__cxa_atexit` for JIT code.
pub(crate) extern "C" fn cxa_atexit(f: usize, arg: usize, handle: usize) -> c_int {
    if f == 0 {
        return -1;
    }
    register(Call::WithArgument(f, arg), handle)
}

/// `__jit_rt_atexit`: `atexit` with the calling module's handle (lower.rs).
pub(crate) extern "C" fn atexit_with_handle(f: usize, handle: usize) -> c_int {
    if f == 0 {
        return -1;
    }
    register(Call::Plain(f), handle)
}

unsafe extern "C" {
    /// glibc's registration of a thread-exit destructor (what libstdc++'s `__cxa_thread_atexit`
    /// calls); `dso` is the registering library's handle, which glibc keeps loaded meanwhile.
    fn __cxa_thread_atexit_impl(
        f: extern "C" fn(*mut c_void),
        obj: *mut c_void,
        dso: *mut c_void,
    ) -> c_int;
    /// This program's own handle (crtbegin's): orc-jit's trampoline is this program's code.
    static __dso_handle: u8;
}

/// `__cxa_thread_atexit` (and `__cxa_thread_atexit_impl`) for JIT code.
pub(crate) extern "C" fn cxa_thread_atexit(f: usize, obj: usize, handle: usize) -> c_int {
    if f == 0 {
        return -1;
    }
    let id = with_state(|s| {
        let owner = owner_of(s, handle)?;
        if let Some(key) = owner.module {
            s.jits.get(&owner.jit)?.loaded.get(&key)?;
        }
        let id = s.next_thread_dtor;
        s.next_thread_dtor += 1;
        s.thread_dtors.insert(
            id,
            ThreadDtor {
                owner,
                thread: std::thread::current().id(),
                call: Call::WithArgument(f, obj),
                state: ThreadDtorState::Pending,
            },
        );
        Some(id)
    });
    let Some(id) = id else {
        return -1;
    };
    // SAFETY: the trampoline is orc-jit's own code and its argument an integer id, so what
    // glibc keeps points into nothing the JIT frees; the handle is this program's.
    let registered = unsafe {
        __cxa_thread_atexit_impl(
            run_thread_dtor,
            id as usize as *mut c_void,
            &raw const __dso_handle as *mut c_void,
        )
    };
    if registered != 0 {
        with_state(|s| s.thread_dtors.remove(&id));
    }
    registered
}

/// Runs a thread-local destructor at its thread's exit, if its module is still there.
extern "C" fn run_thread_dtor(id: *mut c_void) {
    let id = id as usize as u64;
    let call = with_state(|s| {
        let dtor = s.thread_dtors.get_mut(&id)?;
        dtor.state = ThreadDtorState::Running;
        Some(dtor.call)
    });
    let Some(call) = call else {
        return;
    };
    // SAFETY: the destructor is pending, so its module is in its JIT, and stays there while it
    // is Running (removal is refused and a drop waits).
    unsafe { call.run() };
    with_state(|s| s.thread_dtors.remove(&id));
    FINISHED.notify_all();
}

/// The address of libgcc's `__emutls_get_address`, which emulated thread-locals call.
pub(crate) fn emutls_get_address() -> usize {
    unsafe extern "C" {
        fn __emutls_get_address(control: *mut c_void) -> *mut c_void;
    }
    __emutls_get_address as *const () as usize
}
