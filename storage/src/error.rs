//! Errors of the storage layer.
//!
//! Opening a store can fail for other reasons than an operation on an open
//! store, so the two get separate enums (as redb does): callers match only on
//! the failures their call can produce.

use std::path::PathBuf;

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Creating or reading the store's directory failed.
    #[error("cannot create or read the store directory {path}: {source}")]
    Io {
        /// The directory in question.
        path: PathBuf,
        /// The underlying I/O failure.
        source: std::io::Error,
    },
    /// Another process holds the store open.
    #[error("the store at {path} is in use by another process: {detail}")]
    Locked {
        /// The store's directory.
        path: PathBuf,
        /// The engine's own explanation.
        detail: String,
    },
    /// The engine refused to open the files it found.
    #[error("cannot open the store at {path}: {detail}")]
    Engine {
        /// The store's directory.
        path: PathBuf,
        /// The engine's own explanation.
        detail: String,
    },
    /// The store opened but its contents could not be understood.
    #[error("the store at {path} is corrupt: {detail}")]
    Corrupt {
        /// The store's directory.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
}

/// Why an operation on an open store failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StorageError {
    /// The engine reported an I/O or internal failure.
    #[error("storage engine error: {0}")]
    Engine(String),
    /// Bytes on disk did not decode.
    #[error("corrupt data: {0}")]
    Corruption(String),
    /// A column family the caller named does not exist in this store.
    #[error("unknown column family '{0}'")]
    UnknownColumnFamily(String),
    /// Another transaction committed a write to a key this transaction wrote
    /// (or watched) after this transaction's snapshot was taken.
    #[error("could not serialize access due to concurrent update")]
    WriteConflict,
    /// The store stopped accepting writes after a failed fsync: what was
    /// acknowledged is safe, but nothing more can be promised durable.
    #[error("the store is read-only after a failed sync: {0}")]
    ReadOnly(String),
    /// The store has been closed.
    #[error("the store is closed")]
    Closed,
    /// The engine cannot do this (for example a checkpoint of a memory engine).
    #[error("not supported by this storage engine: {0}")]
    Unsupported(String),
    /// A read confined to memory (see [`crate::kv::KvSnapshot::get_cached`])
    /// would have had to wait on disk. Internal: the table layer answers it
    /// by running the statement again on the blocking pool, so callers of
    /// [`crate::TableStorage`] never see it.
    #[error("the data is not in memory")]
    Uncached,
    /// The transaction handle was already committed or rolled back.
    #[error("the transaction is no longer active")]
    TransactionClosed,
    /// A table of that name does not exist.
    #[error("table \"{0}\" does not exist")]
    NoSuchTable(String),
    /// A table of that name already exists.
    #[error("table \"{0}\" already exists")]
    TableExists(String),
    /// A column of that name does not exist in the table.
    #[error("column \"{column}\" of table \"{table}\" does not exist")]
    NoSuchColumn {
        /// The table.
        table: String,
        /// The column that was named.
        column: String,
    },
    /// An insert or update would give two rows the same primary key.
    #[error("duplicate key value violates primary key of \"{table}\": {key}")]
    DuplicateKey {
        /// The table.
        table: String,
        /// The key, rendered for people.
        key: String,
    },
    /// A row would repeat the values of a unique index.
    #[error("duplicate key value violates unique constraint \"{index}\" of \"{table}\": {key}")]
    UniqueViolation {
        /// The table.
        table: String,
        /// The unique index.
        index: String,
        /// The clashing values, as `(columns)=(values)`.
        key: String,
    },
    /// A NULL was given for a column that does not accept one.
    #[error("null value in column \"{column}\" of table \"{table}\" violates not-null constraint")]
    NotNull {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// A value does not fit its column's type, or a schema is malformed.
    #[error("{0}")]
    InvalidValue(String),
}

impl From<rocksdb::Error> for StorageError {
    fn from(e: rocksdb::Error) -> Self {
        StorageError::Engine(e.into_string())
    }
}

/// Short form for results of storage operations.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;
