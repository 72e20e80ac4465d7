//! Errors of persistence providers and their configuration.

use crate::provider::TransactionId;

/// Result of a provider operation.
pub type Result<T, E = PersistenceError> = std::result::Result<T, E>;

/// Why a provider operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PersistenceError {
    /// A transaction lost to a concurrent write of a key it read or wrote;
    /// retrying it from the start may succeed.
    #[error("transaction conflict: {0}")]
    Conflict(String),
    /// A write would take the provider past its `max_entries`.
    #[error("provider {provider} is full: {max_entries} entries (max_entries)")]
    CapacityExceeded {
        /// The provider's name.
        provider: String,
        /// Its limit.
        max_entries: usize,
    },
    /// No transaction has this id (never begun, or already ended).
    #[error("unknown transaction {0}")]
    UnknownTransaction(TransactionId),
    /// The registry has no provider of this name.
    #[error("unknown persistence provider \"{0}\"")]
    UnknownProvider(String),
    /// The configuration names a provider type this build lacks.
    #[error("provider {name} (type {kind}) is not available in this build")]
    NotAvailable {
        /// The provider's name in the configuration.
        name: String,
        /// Its type, as `type =` spells it.
        kind: String,
    },
    /// The configuration is invalid.
    #[error("invalid persistence configuration: {0}")]
    Config(String),
    /// A memory provider's disk backup could not be read back.
    #[error("memory provider backup {path} is corrupt: {reason}")]
    CorruptBackup {
        /// The backup file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A stored record could not be decoded.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// The provider has been shut down, or was never initialized.
    #[error("provider {0} is not running")]
    NotRunning(String),
    /// The underlying store failed.
    #[error("{provider}: {message}")]
    Backend {
        /// The provider's name.
        provider: String,
        /// The store's message.
        message: String,
    },
    /// A file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl PersistenceError {
    /// Whether retrying the whole transaction may succeed.
    pub fn is_conflict(&self) -> bool {
        matches!(self, PersistenceError::Conflict(_))
    }
}
