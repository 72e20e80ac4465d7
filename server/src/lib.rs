//! The `orbit-server` binary's library: command line, configuration, stores,
//! endpoints, admin HTTP and shutdown.

pub mod admin;
pub mod app;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod datadir;
pub mod logging;
pub mod metrics_export;
pub mod stores;
