//! Unusual but valid IR through both paths (the adversarial review's cases, kept). For each module, the in-process
//! and the isolated path must agree (issue 20 point 4), and an answer must be the right one.

use orc_jit::{Jit, WorkerProgram};

fn jit() -> Jit {
    Jit::builder()
        .compile_worker(WorkerProgram::Path(
            env!("CARGO_BIN_EXE_orc-jit-worker").into(),
        ))
        .build()
        .unwrap()
}

/// What one path makes of `modules` (added in order), then `f()`.
fn outcome(isolated: bool, modules: &[&str]) -> String {
    let jit = jit();
    for (i, ir) in modules.iter().enumerate() {
        let name = format!("m{i}.ll");
        let added = if isolated {
            jit.add_module_isolated(&name, ir.as_bytes())
        } else {
            jit.parse_module(&name, ir.as_bytes())
                .and_then(|m| jit.add_module(m))
        };
        if let Err(e) = added {
            let text = e.to_string().replace(&name, "M");
            return format!("module {i} refused: {}", text.lines().next().unwrap_or(""));
        }
    }
    match jit.lookup::<extern "C" fn() -> i32>("f") {
        // SAFETY: every `f` here is sound C that returns a number.
        Ok(f) => format!("f() = {}", unsafe { f.call() }),
        Err(e) => format!("lookup: {}", e.to_string().lines().next().unwrap_or("")),
    }
}

fn cases() -> Vec<(&'static str, Vec<&'static str>, Option<i32>)> {
    vec![
        (
            "ifunc",
            vec![
                "define internal i32 @impl() {\nentry:\n  ret i32 5\n}\n\
                  define internal ptr @resolve() {\nentry:\n  ret ptr @impl\n}\n\
                  @g = ifunc i32 (), ptr @resolve\n\
                  define i32 @f() {\nentry:\n  %r = call i32 @g()\n  ret i32 %r\n}\n",
            ],
            Some(5),
        ),
        (
            "alias chain to a function",
            vec![
                "define internal i32 @impl() {\nentry:\n  ret i32 6\n}\n\
                  @a1 = alias i32 (), ptr @impl\n@a2 = alias i32 (), ptr @a1\n@f = alias i32 (), ptr @a2\n",
            ],
            Some(6),
        ),
        (
            "alias chain to a thread-local, used in its module",
            vec![
                "@t = thread_local global i32 42\n@a = alias i32, ptr @t\n@b = alias i32, ptr @a\n\
                  define i32 @f() {\nentry:\n  %v = load i32, ptr @b\n  ret i32 %v\n}\n",
            ],
            Some(42),
        ),
        (
            "an unnamed global",
            vec![
                "@0 = private global i32 7\n\
                  define i32 @f() {\nentry:\n  %v = load i32, ptr @0\n  ret i32 %v\n}\n",
            ],
            Some(7),
        ),
        (
            "an unnamed external global",
            vec![
                "@0 = global i32 8\n\
                  define i32 @f() {\nentry:\n  %v = load i32, ptr @0\n  ret i32 %v\n}\n",
            ],
            Some(8),
        ),
        (
            "\\01 external names, one module calls the other",
            vec![
                "define i32 @\"\\01g\"() {\nentry:\n  ret i32 9\n}\n",
                "declare i32 @g()\ndefine i32 @f() {\nentry:\n  %r = call i32 @g()\n  ret i32 %r\n}\n",
            ],
            Some(9),
        ),
        (
            "\\01 declaration against a different signature",
            vec![
                "define i64 @g(i64 %x) {\nentry:\n  ret i64 %x\n}\n",
                "declare i32 @\"\\01g\"()\ndefine i32 @f() {\nentry:\n  %r = call i32 @\"\\01g\"()\n  ret i32 %r\n}\n",
            ],
            None,
        ),
        (
            "comdat any in two modules",
            vec![
                "$c = comdat any\ndefine i32 @c() comdat {\nentry:\n  ret i32 10\n}\n",
                "$c = comdat any\ndefine i32 @c() comdat {\nentry:\n  ret i32 11\n}\ndefine i32 @f() {\nentry:\n  %r = call i32 @c()\n  ret i32 %r\n}\n",
            ],
            Some(10),
        ),
        (
            "comdat largest, the larger second",
            vec![
                "$d = comdat largest\n@d = global i32 12, comdat\n",
                "$d = comdat largest\n@d = global [4 x i32] [i32 1, i32 2, i32 3, i32 4], comdat\n\
                 define i32 @f() {\nentry:\n  %p = getelementptr [4 x i32], ptr @d, i64 0, i64 3\n  %v = load i32, ptr %p\n  ret i32 %v\n}\n",
            ],
            Some(4),
        ),
        (
            "common globals of two sizes",
            vec![
                "@x = common global i32 0\n@y = global i32 5\ndefine i32 @get_y() {\nentry:\n  %v = load i32, ptr @y\n  ret i32 %v\n}\n",
                "@x = common global [64 x i32] zeroinitializer\ndeclare i32 @get_y()\n\
                 define i32 @f() {\nentry:\n  br label %loop\n\
                 loop:\n  %i = phi i64 [0, %entry], [%n, %loop]\n  %p = getelementptr [64 x i32], ptr @x, i64 0, i64 %i\n  store i32 -1, ptr %p\n  %n = add i64 %i, 1\n  %c = icmp ult i64 %n, 64\n  br i1 %c, label %loop, label %out\n\
                 out:\n  %y = call i32 @get_y()\n  ret i32 %y\n}\n",
            ],
            Some(5),
        ),
        (
            "common globals of two sizes: the neighbour",
            vec![
                "@x = common global i32 0\n@w = common global i32 0\n@v = global i32 0\ndefine i32 @get_w() {\nentry:\n  %a = load i32, ptr @w\n  %b = load i32, ptr @v\n  %s = add i32 %a, %b\n  ret i32 %s\n}\n",
                "@x = common global [4 x i32] zeroinitializer\ndeclare i32 @get_w()\n\
                 define i32 @f() {\nentry:\n  %p = getelementptr [4 x i32], ptr @x, i64 0, i64 1\n  store i32 -1, ptr %p\n  %q = getelementptr [4 x i32], ptr @x, i64 0, i64 2\n  store i32 -1, ptr %q\n  %w = call i32 @get_w()\n  ret i32 %w\n}\n",
            ],
            Some(0),
        ),
        (
            "a weak data definition smaller than the one that wins",
            vec![
                "@x = weak global i32 0\n@y = global i32 5\ndefine i32 @get_y() {\nentry:\n  %v = load i32, ptr @y\n  ret i32 %v\n}\n",
                "@x = weak global [64 x i32] zeroinitializer\ndeclare i32 @get_y()\n\
                 define i32 @f() {\nentry:\n  %p = getelementptr [64 x i32], ptr @x, i64 0, i64 63\n  store i32 -1, ptr %p\n  %y = call i32 @get_y()\n  ret i32 %y\n}\n",
            ],
            Some(5),
        ),
        (
            "thread-local in a select",
            vec![
                "@t = thread_local global i32 13\n@u = thread_local global i32 14\n\
                  define i32 @f() {\nentry:\n  %p = select i1 true, ptr @t, ptr @u\n  %v = load i32, ptr %p\n  ret i32 %v\n}\n",
            ],
            Some(13),
        ),
        (
            "thread-local address compared in a constant",
            vec![
                "@t = thread_local global i32 15\n\
                  define i32 @f() {\nentry:\n  %c = icmp eq ptr @t, null\n  %r = select i1 %c, i32 0, i32 15\n  ret i32 %r\n}\n",
            ],
            Some(15),
        ),
        (
            "thread-local through llvm.threadlocal.address",
            vec![
                "@t = thread_local global i32 16\ndeclare ptr @llvm.threadlocal.address.p0(ptr)\n\
                  define i32 @f() {\nentry:\n  %p = call ptr @llvm.threadlocal.address.p0(ptr @t)\n  %v = load i32, ptr %p\n  ret i32 %v\n}\n",
            ],
            Some(16),
        ),
        (
            "thread-local as a call argument in an invoke",
            vec![
                "@t = thread_local global i32 17\ndeclare i32 @__gxx_personality_v0(...)\n\
                  define internal i32 @read(ptr %p) {\nentry:\n  %v = load i32, ptr %p\n  ret i32 %v\n}\n\
                  define i32 @f() personality ptr @__gxx_personality_v0 {\nentry:\n  %v = invoke i32 @read(ptr @t) to label %ok unwind label %bad\n\
                  ok:\n  ret i32 %v\nbad:\n  %l = landingpad { ptr, i32 } cleanup\n  ret i32 0\n}\n",
            ],
            Some(17),
        ),
        (
            "a thread-local that another module declares with a smaller type",
            vec![
                "@t = thread_local global [16 x i32] zeroinitializer\n",
                "@t = external thread_local global i32\ndefine i32 @f() {\nentry:\n  store i32 18, ptr @t\n  %v = load i32, ptr @t\n  ret i32 %v\n}\n",
            ],
            Some(18),
        ),
        (
            "a thread-local named like emulated TLS's template",
            vec![
                "@__emutls_t.t = global i32 99\n@t = thread_local global i32 19\n\
                  define i32 @f() {\nentry:\n  %v = load i32, ptr @t\n  %w = load i32, ptr @__emutls_t.t\n  %s = add i32 %v, %w\n  ret i32 %s\n}\n",
            ],
            Some(118),
        ),
        (
            "a \\01 thread-local",
            vec![
                "@\"\\01t\" = thread_local global i32 20\n\
                  define i32 @f() {\nentry:\n  %v = load i32, ptr @\"\\01t\"\n  ret i32 %v\n}\n",
            ],
            Some(20),
        ),
        (
            "a thread-local in a comdat, in two modules",
            vec![
                "$t = comdat any\n@t = linkonce_odr thread_local global i32 21, comdat\n\
                 define i32 @g() {\nentry:\n  %v = load i32, ptr @t\n  ret i32 %v\n}\n",
                "$t = comdat any\n@t = linkonce_odr thread_local global i32 21, comdat\ndeclare i32 @g()\n\
                 define i32 @f() {\nentry:\n  store i32 22, ptr @t\n  %v = call i32 @g()\n  ret i32 %v\n}\n",
            ],
            Some(22),
        ),
    ]
}

/// Each outcome in a child process: an abort in one case must not hide the others.
fn outcome_in_child(case: usize, isolated: bool) -> String {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child",
            "--nocapture",
            "--ignored",
            "--test-threads=1",
        ])
        .env("ZOO_CASE", case.to_string())
        .env("ZOO_ISOLATED", if isolated { "1" } else { "0" })
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout
        .lines()
        .find_map(|l| l.split_once("OUTCOME: ").map(|(_, o)| o.to_owned()))
    {
        Some(o) => o,
        None => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
            format!("the process died ({:?}): {last}", out.status)
        }
    }
}

#[test]
#[ignore = "run by both_paths_agree_and_are_right"]
fn child() {
    let case: usize = std::env::var("ZOO_CASE").unwrap().parse().unwrap();
    let isolated = std::env::var("ZOO_ISOLATED").unwrap() == "1";
    let (_, modules, _) = &cases()[case];
    println!("OUTCOME: {}", outcome(isolated, modules));
}

#[test]
fn both_paths_agree_and_are_right() {
    let mut problems = Vec::new();
    for (case, (what, _, expected)) in cases().into_iter().enumerate() {
        if std::env::var("ZOO_ONLY").is_ok_and(|o| !what.contains(&o)) {
            continue;
        }
        let here = outcome_in_child(case, false);
        let there = outcome_in_child(case, true);
        println!("{what}:\n  in-process: {here}\n  isolated:   {there}");
        if here.contains("the process died") {
            problems.push(format!("{what}: the host died in-process: {here}"));
        }
        if here != there {
            problems.push(format!("{what}: the paths disagree"));
        }
        for (path, got) in [("in-process", &here), ("isolated", &there)] {
            if let Some(value) = got.strip_prefix("f() = ") {
                match expected {
                    Some(e) if value == e.to_string() => {}
                    _ => problems.push(format!("{what} ({path}): {got}, expected {expected:?}")),
                }
            }
        }
    }
    for p in &problems {
        println!("PROBLEM: {p}");
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
