//! End-to-end tests: the real `orbit-server` binary, driven from outside.

mod cluster;
mod mysql;
mod postgres;
mod redis;
mod server;
mod support;
