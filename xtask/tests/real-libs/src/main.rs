fn main() -> std::process::ExitCode {
    orc_jit::serve_if_worker();
    match real_libs::run() {
        Ok(results) => {
            println!("{results}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
