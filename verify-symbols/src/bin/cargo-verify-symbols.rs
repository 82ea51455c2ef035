//! `cargo verify-symbols ARGS`: cargo runs `cargo-verify-symbols verify-symbols ARGS`.

fn main() -> std::process::ExitCode {
    verify_symbols::cli::main(std::env::args_os())
}
