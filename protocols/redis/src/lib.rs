//! Orbit's Redis endpoint.
//!
//! RESP2 and RESP3 framing (the `redis-protocol` crate) and Redis 7
//! commands, with every data type stored in the redis store's column
//! families: strings, hashes, lists, sets and sorted sets, with expiry,
//! MULTI/EXEC/WATCH, blocking pops, pub/sub and SCAN.
//!
//! - [`conn`]: one task per connection; parses requests, keeps connection
//!   state, answers connection commands, serves point reads from its own
//!   snapshot and sends every other data command to the engine.
//! - [`engine`]: one thread that runs every data command in order, like
//!   Redis' own event loop, committing what it did as one write batch.
//! - [`cmd`]: the commands, one function each, grouped by data type.

mod cmd;
mod config;
mod conn;
mod engine;
mod error;
mod glob;
mod num;
mod pubsub;
mod reply;
mod server;
mod shared;

pub use config::{RedisConfig, User};
pub use server::RedisServer;
