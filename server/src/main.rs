//! `orbit-server`: see `orbit-server --help`.

use std::process::ExitCode;

use clap::Parser;
use orbit_server::cli::Cli;
use orbit_server::config::Config;
use orbit_server::{app, logging};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(&cli, std::env::vars()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("orbit-server: {e}");
            return ExitCode::from(2);
        }
    };
    logging::init(&config.server.log_level);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("orbit-worker").build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("orbit-server: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(app::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("orbit-server: {e}");
            ExitCode::FAILURE
        }
    }
}
