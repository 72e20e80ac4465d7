//! Orbit's wire protocols.
//!
//! Every endpoint is a [`Server`]: the binary starts, names and stops them
//! all the same way. Protocol adapters turn wire messages into engine calls;
//! they never touch the storage engine directly.

pub mod io_loops;
pub mod listener;

pub use io_loops::IoLoops;
pub use listener::{ConnectionHandler, Server, StartError, TcpServer};
