//! `herald`: see `herald --help`.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    // Before any thread exists: adopting systemd's socket edits the environment.
    if let Err(e) = herald::server::adopt_systemd_socket() {
        eprintln!("herald: socket activation: {e}");
        return std::process::ExitCode::FAILURE;
    }
    let cli = herald::cli::Cli::parse_args();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("herald: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(herald::commands::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("herald: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
