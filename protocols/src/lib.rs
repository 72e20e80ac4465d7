//! Orbit's wire protocols.
//!
//! Every endpoint is a [`Server`]: the binary starts, names and stops them
//! all the same way. Protocol adapters turn wire messages into engine calls;
//! they never touch the storage engine directly.

pub mod listener;

pub use listener::{ConnectionHandler, Server, StartError, TcpServer};
