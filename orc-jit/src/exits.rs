//! The exit handlers and thread-local destructors that JIT code registers, kept by orc-jit
//! instead of libc, so that none ever runs after the code it points into is freed.
//!
//! C and C++ register them with `__cxa_atexit(f, arg, dso)` (a C++ global's destructor, a
//! function-local static's), `atexit(f)`, `on_exit(f, arg)` and `__cxa_thread_atexit(f, obj,
//! dso)` (a `thread_local` object's destructor), where `dso` says which library the handler
//! belongs to. Each module has a handle of its own: lower.rs defines `__jit_dso.<key>` in it,
//! points its `__dso_handle` there and sends its registrations to this file's functions
//! (`__jit_rt_*`), whatever the names are spelled; the JIT refuses an object that names another
//! module's handle or `__dso_handle` itself. What the JIT links that is not a module of its own
//! (static archive members) passes LLJIT's `__dso_handle`, the JIT's own handle.
//!
//! - A module's handlers run when it is removed, the last registered first (as `__cxa_finalize`
//!   does for a `dlclose`d library), with this thread's destructors of its thread-locals and
//!   whatever those register in turn; then its destructors (`llvm.global_dtors`).
//! - All that remain run when the JIT is dropped, in the reverse order of registration across
//!   all its modules, then the modules' destructors, the last added first.
//! - A JIT that is never dropped (leaked on purpose, or alive when the program calls `exit`)
//!   gets the same at process exit, from one `atexit` handler of orc-jit's own.
//! - A thread-local destructor is registered with glibc's `__cxa_thread_atexit_impl` through a
//!   trampoline of orc-jit's (host code, never freed): at thread exit it runs the JIT's
//!   destructor if its module is still there. A module's thread-local destructors of the
//!   thread that removes it run at removal; while other threads still have some pending, the
//!   removal is refused (they run when those threads exit), and when the JIT is dropped they
//!   are cancelled: never a call into freed code.
//! - A handler may point into the code of another module than the one that registered it (a
//!   library's "call this at exit" function, given a caller's function): that other module
//!   then cannot be removed while the handler is pending, as if it were a dependency.
//!
//! A handler registered with a handle no live module or JIT owns (a removed module's, a
//! garbage pointer) is refused: the registration returns -1, as libc's does when it cannot
//! allocate, and the handler never runs.

use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::sync::{Condvar, Mutex, MutexGuard};

/// Who a handle stands for, or where a handler's code is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Owner {
    jit: u64,
    /// A module's id in its JIT; `None`: the JIT's own handle (what it links that is not a
    /// module of its own).
    module: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
enum Call {
    /// `f(arg)`: `__cxa_atexit`, a thread-local destructor.
    WithArgument(usize, usize),
    /// `f()`: `atexit`, a module's destructor.
    Plain(usize),
    /// `f(status, arg)`: `on_exit` (the status is 0: the program is not exiting, or its status
    /// is not known to an `atexit` handler).
    WithStatus(usize, usize),
}

impl Call {
    /// The code it calls.
    fn function(self) -> usize {
        match self {
            Call::WithArgument(f, _) | Call::Plain(f) | Call::WithStatus(f, _) => f,
        }
    }

    /// # Safety
    /// The function is JIT code registered as an exit handler, whose code is still in its JIT,
    /// and whose contract (the caller's of [`crate::Function::call`]) is that it behaves like
    /// sound C when run.
    unsafe fn run(self) {
        // SAFETY: caller; a registered handler's address is the entry of a function of the type
        // its registration function says.
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
                Call::WithStatus(f, arg) => {
                    let f: extern "C" fn(c_int, *mut c_void) = std::mem::transmute(f);
                    f(0, arg as *mut c_void);
                }
            }
        }
    }
}

#[derive(Debug)]
struct Handler {
    owner: Owner,
    /// The module whose code `call` runs, if it is a module's.
    code: Option<Owner>,
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
    code: Option<Owner>,
    thread: Thread,
    call: Call,
    state: ThreadDtorState,
}

/// What exits.rs knows of a module of a live JIT.
#[derive(Debug, Default)]
struct ModuleRecord {
    /// Its code, as (start, end) address ranges (its functions at their final addresses).
    code: Vec<(usize, usize)>,
    /// Its destructors (entry addresses, in the order to call them).
    destructors: Vec<u64>,
}

/// One live JIT's records.
#[derive(Default)]
struct JitRecord {
    /// Finds the JIT's own handle, until it is needed once.
    own_handle: Option<HandleLookup>,
    /// Its modules that are linked, by id.
    modules: HashMap<u64, ModuleRecord>,
    /// The order modules were added in (for their destructors at drop: the last first).
    order: Vec<u64>,
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
    /// libc is running exit handlers: nothing waits for another thread any more.
    exiting: bool,
}

/// A thread, as this file tells them apart: a number of its own, not `std::thread::current()`,
/// which allocates std's handle of the thread (a block valgrind reports as possibly lost for
/// the main thread) and is not available while the thread's thread-locals are being destroyed,
/// which is when glibc runs the thread-local destructors this file keeps.
type Thread = u64;

fn this_thread() -> Thread {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    thread_local! {
        // No destructor: readable until the thread is gone.
        static THIS: Thread = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    THIS.with(|t| *t)
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

/// Module `module` of `jit` is linked: its code is at `code`, and `handle` (its
/// `__jit_dso.<key>`, if it has one) is its handle from now on. Called before any of its code
/// can run.
pub(crate) fn module_linked(
    jit: u64,
    module: u64,
    handle: Option<usize>,
    code: Vec<(usize, usize)>,
) {
    with_state(|s| {
        if let Some(address) = handle {
            s.handles.insert(
                address,
                Owner {
                    jit,
                    module: Some(module),
                },
            );
        }
        let record = s.jits.entry(jit).or_default();
        if !record.order.contains(&module) {
            record.order.push(module);
        }
        record.modules.entry(module).or_default().code = code;
    });
}

/// The module's destructors, to call (in this order) when it goes.
pub(crate) fn set_destructors(jit: u64, module: u64, destructors: Vec<u64>) {
    if destructors.is_empty() {
        return;
    }
    with_state(|s| {
        let record = s.jits.entry(jit).or_default();
        if !record.order.contains(&module) {
            record.order.push(module);
        }
        record.modules.entry(module).or_default().destructors = destructors;
    });
}

/// Why a module cannot be removed now, if it cannot: other threads still have its
/// thread-local objects, or handlers another module registered point into its code.
pub(crate) fn removal_blocked(jit: u64, module: u64) -> Option<String> {
    let me = this_thread();
    let this = Owner {
        jit,
        module: Some(module),
    };
    with_state(|s| {
        let mut threads: Vec<Thread> = s
            .thread_dtors
            .values()
            .filter(|d| d.owner == this || d.code == Some(this))
            .filter(|d| d.thread != me || d.state == ThreadDtorState::Running)
            .map(|d| d.thread)
            .collect();
        threads.sort_unstable();
        threads.dedup();
        if !threads.is_empty() {
            return Some(format!(
                "thread-local objects on {} other thread{} still need destructors in its code, \
                 which run when those threads exit; let them exit first",
                threads.len(),
                if threads.len() == 1 { "" } else { "s" }
            ));
        }
        let foreign = s
            .handlers
            .iter()
            .filter(|h| h.code == Some(this) && h.owner != this)
            .count()
            + s.thread_dtors
                .values()
                .filter(|d| d.code == Some(this) && d.owner != this)
                .count();
        (foreign > 0).then(|| {
            format!(
                "{foreign} exit handler{} that other code of the JIT registered (a library's \
                 \"call this at exit\" given a function of this module) would call into its \
                 code; remove the module that registered {} first",
                if foreign == 1 { "" } else { "s" },
                if foreign == 1 { "it" } else { "them" }
            )
        })
    })
}

/// Runs what a module removed from `jit` leaves: its exit handlers (the last registered
/// first) and this thread's destructors of its thread-locals, again until neither registers
/// more, then its destructors; from then on its handle is refused.
pub(crate) fn module_removed(jit: u64, module: u64) {
    let this = Owner {
        jit,
        module: Some(module),
    };
    loop {
        let ran_dtors = run_until_none(|s| take_thread_dtor(s, |d| d.owner == this));
        let ran_handlers = run_until_none(|s| take_handler(s, |h| h.owner == this));
        if !ran_dtors && !ran_handlers {
            break;
        }
    }
    let destructors = with_state(|s| {
        s.handles.retain(|_, owner| *owner != this);
        let record = s.jits.get_mut(&jit)?;
        record.order.retain(|&m| m != module);
        record.modules.remove(&module).map(|m| m.destructors)
    });
    run_all(
        destructors
            .unwrap_or_default()
            .into_iter()
            .map(|address| Call::Plain(address as usize)),
    );
    // Its thread-locals last: the handlers and destructors above may use them.
    crate::emutls::module_removed(jit, module);
}

/// Which JIT and module a handle (an address) is of, if it is a live one: `None` as the module
/// for the JIT's own handle.
pub(crate) fn owner_of_handle(address: usize) -> Option<(u64, Option<u64>)> {
    with_state(|s| s.handles.get(&address).map(|o| (o.jit, o.module)))
}

/// Runs everything `jit` still holds (as [`module_removed`] for all its modules, with the
/// handlers in the reverse order of registration across them), cancels other threads'
/// thread-local destructors of its code, and forgets it.
pub(crate) fn jit_dropped(jit: u64) {
    finish_jit(jit);
    crate::emutls::jit_dropped(jit);
}

fn finish_jit(jit: u64) {
    loop {
        let ran_dtors = run_until_none(|s| take_thread_dtor(s, |d| d.owner.jit == jit));
        let ran_handlers = run_until_none(|s| take_handler(s, |h| h.owner.jit == jit));
        if !ran_dtors && !ran_handlers {
            break;
        }
    }
    let destructors: Vec<Vec<u64>> = with_state(|s| {
        let Some(record) = s.jits.get_mut(&jit) else {
            return Vec::new();
        };
        let order = std::mem::take(&mut record.order);
        order
            .into_iter()
            .rev()
            .filter_map(|m| {
                record
                    .modules
                    .get_mut(&m)
                    .map(|r| std::mem::take(&mut r.destructors))
            })
            .collect()
    });
    for calls in destructors {
        run_all(
            calls
                .into_iter()
                .map(|address| Call::Plain(address as usize)),
        );
    }
    // Other threads' destructors of its code: cancelled, once none of them is running (on
    // another thread: one running on this thread is the caller of this, through `exit`; and
    // at process exit nothing waits).
    let me = this_thread();
    let mut guard = state();
    loop {
        let s = guard.get_or_insert_with(State::default);
        let running = !s.exiting
            && s.thread_dtors.values().any(|d| {
                d.owner.jit == jit && d.state == ThreadDtorState::Running && d.thread != me
            });
        if !running {
            s.thread_dtors
                .retain(|_, d| d.owner.jit != jit || d.state == ThreadDtorState::Running);
            for d in s.thread_dtors.values_mut().filter(|d| d.owner.jit == jit) {
                // Running on this thread (it called exit) or abandoned at exit: it must not be
                // run again when it returns.
                d.state = ThreadDtorState::Running;
            }
            s.handles.retain(|_, owner| owner.jit != jit);
            s.jits.remove(&jit);
            s.jit_order.retain(|&j| j != jit);
            if s.jits.is_empty() {
                // The last JIT gone: the tables give their memory back (a program's last
                // JIT leaves nothing allocated here).
                s.jits.shrink_to_fit();
                s.handles.shrink_to_fit();
                s.handlers.shrink_to_fit();
                s.thread_dtors.shrink_to_fit();
                s.jit_order.shrink_to_fit();
            }
            return;
        }
        guard = FINISHED.wait(guard).unwrap_or_else(|e| e.into_inner());
    }
}

/// orc-jit's handler at process exit: every JIT still alive finishes as if dropped, the last
/// created first (their handlers are all JIT code that is still mapped).
extern "C" fn at_process_exit() {
    let jits: Vec<u64> = with_state(|s| {
        s.exiting = true;
        s.jit_order.iter().rev().copied().collect()
    });
    for jit in jits {
        finish_jit(jit);
    }
}

/// Takes the last registered matching handler.
fn take_handler(s: &mut State, matches: impl Fn(&Handler) -> bool) -> Option<Call> {
    let at = s.handlers.iter().rposition(matches)?;
    Some(s.handlers.remove(at).call)
}

/// Takes this thread's last registered pending matching thread-local destructor (other
/// threads' stay theirs).
fn take_thread_dtor(s: &mut State, matches: impl Fn(&ThreadDtor) -> bool) -> Option<Call> {
    let me = this_thread();
    let id = s
        .thread_dtors
        .iter()
        .filter(|(_, d)| d.state == ThreadDtorState::Pending && d.thread == me && matches(d))
        .map(|(&id, _)| id)
        .max()?;
    s.thread_dtors.remove(&id).map(|d| d.call)
}

/// Runs what `take` takes, one at a time, until it takes nothing: as in libc, a handler
/// registered while handlers run (a destructor that touches a function-local static for the
/// first time) is the last registered, so it runs next. Returns whether it ran any.
fn run_until_none(mut take: impl FnMut(&mut State) -> Option<Call>) -> bool {
    let mut ran = false;
    while let Some(call) = with_state(&mut take) {
        run_all([call]);
        ran = true;
    }
    ran
}

fn run_all(calls: impl IntoIterator<Item = Call>) {
    for call in calls {
        // SAFETY: each was registered by JIT code of a module that is still in its JIT (the
        // callers run a module's handlers before it goes, a JIT's before it is disposed, and a
        // module whose code another's handler calls cannot go first), under the contract of
        // Function::call; no lock is held, so it may register more.
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
        if let Some(lookup) = record.own_handle.take()
            && let Some(address) = lookup()
        {
            s.handles.insert(address, Owner { jit, module: None });
        }
    }
    s.handles.get(&handle).copied()
}

/// The module of a live JIT whose code holds `address`, if any.
fn code_owner(s: &State, address: usize) -> Option<Owner> {
    s.jits.iter().find_map(|(&jit, record)| {
        record.modules.iter().find_map(|(&module, m)| {
            m.code
                .iter()
                .any(|&(start, end)| (start..end).contains(&address))
                .then_some(Owner {
                    jit,
                    module: Some(module),
                })
        })
    })
}

/// Whether `address` is code of a live JIT (what libc must never keep).
pub(crate) fn is_jit_code(address: usize) -> bool {
    with_state(|s| code_owner(s, address).is_some())
}

fn register(call: Call, handle: usize) -> c_int {
    if call.function() == 0 {
        return -1;
    }
    with_state(|s| {
        let Some(owner) = owner_of(s, handle) else {
            return -1;
        };
        let code = code_owner(s, call.function());
        s.handlers.push(Handler { owner, code, call });
        0
    })
}

/// `__cxa_atexit` for JIT code.
pub(crate) extern "C" fn cxa_atexit(f: usize, arg: usize, handle: usize) -> c_int {
    register(Call::WithArgument(f, arg), handle)
}

/// `atexit` with the calling module's handle (lower.rs).
pub(crate) extern "C" fn atexit_with_handle(f: usize, handle: usize) -> c_int {
    register(Call::Plain(f), handle)
}

/// `on_exit` with the calling module's handle (lower.rs).
pub(crate) extern "C" fn on_exit_with_handle(f: usize, arg: usize, handle: usize) -> c_int {
    register(Call::WithStatus(f, arg), handle)
}

/// `at_quick_exit` for a module's code: refused (-1, as libc when it cannot). Its handlers
/// would run only at `quick_exit`, which nothing of orc-jit's sees, and libc must not keep JIT
/// code.
pub(crate) extern "C" fn refused_with_handle(_f: usize, _handle: usize) -> c_int {
    -1
}

/// `on_exit` for code the JIT links that is no module of its own (static archive members):
/// refused, since no handle says whose it is (and libc must not keep it).
pub(crate) extern "C" fn on_exit_refused(_f: usize, _arg: usize) -> c_int {
    -1
}

/// `at_quick_exit` for code the JIT links that is no module of its own: refused.
pub(crate) extern "C" fn at_quick_exit_refused(_f: usize) -> c_int {
    -1
}

/// `pthread_key_create` for JIT code: a destructor in JIT code is not given to libc (it would
/// run at some thread's exit, after the code may be gone); the key is made without it.
pub(crate) extern "C" fn pthread_key_create(key: usize, dtor: usize) -> c_int {
    let key = key as *mut libc::pthread_key_t;
    // SAFETY: a host function (never freed) may be libc's to keep; `key` is the caller's
    // pointer, which libc writes as it would for the caller.
    unsafe {
        if dtor == 0 || is_jit_code(dtor) {
            libc::pthread_key_create(key, None)
        } else {
            let dtor: extern "C" fn(*mut c_void) = std::mem::transmute(dtor);
            libc::pthread_key_create(key, Some(dtor))
        }
    }
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
    #[allow(non_upper_case_globals)]
    static __dso_handle: u8;
}

/// `__cxa_thread_atexit` (and `__cxa_thread_atexit_impl`) for JIT code.
pub(crate) extern "C" fn cxa_thread_atexit(f: usize, obj: usize, handle: usize) -> c_int {
    if f == 0 {
        return -1;
    }
    let id = with_state(|s| {
        let owner = owner_of(s, handle)?;
        let code = code_owner(s, f);
        let id = s.next_thread_dtor;
        s.next_thread_dtor += 1;
        s.thread_dtors.insert(
            id,
            ThreadDtor {
                owner,
                code,
                thread: this_thread(),
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
        if dtor.state != ThreadDtorState::Pending {
            return None;
        }
        dtor.state = ThreadDtorState::Running;
        Some(dtor.call)
    });
    let Some(call) = call else {
        with_state(|s| s.thread_dtors.remove(&id));
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
