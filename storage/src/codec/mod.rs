//! Byte encodings of keys and rows.

pub mod key;
pub mod row;
mod varint;
