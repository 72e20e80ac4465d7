//! Logging setup.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Logs to stderr at `level`; `RUST_LOG`, when set, adds per-module directives.
pub fn init(level: &str) {
    let mut filter = EnvFilter::new(level);
    if let Ok(extra) = std::env::var("RUST_LOG") {
        for directive in extra.split(',').filter(|d| !d.trim().is_empty()) {
            match directive.parse() {
                Ok(d) => filter = filter.add_directive(d),
                Err(e) => eprintln!("orbit-server: ignoring RUST_LOG directive {directive:?}: {e}"),
            }
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes would garble log files and the tests that read them.
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
