//! `verify-symbols`: see [`verify_symbols::cli`].

fn main() -> std::process::ExitCode {
    verify_symbols::cli::main(std::env::args_os())
}
