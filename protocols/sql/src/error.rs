//! Errors of the SQL engine: one code per kind of failure, mapped to each
//! protocol's codes by one exhaustive `match` per protocol (SQLSTATE here;
//! the MySQL endpoint adds its own mapping).

use orbit_storage::StorageError;

/// What went wrong, independent of the wire protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The statement does not parse.
    Syntax,
    /// A table or relation does not exist.
    UndefinedTable,
    /// A column does not exist.
    UndefinedColumn,
    /// A function does not exist for these arguments.
    UndefinedFunction,
    /// A column reference matches more than one column.
    AmbiguousColumn,
    /// Other objects depend on the one being dropped.
    DependentObjects,
    /// A table of that name exists already.
    DuplicateTable,
    /// A column of that name appears twice.
    DuplicateColumn,
    /// A row's key is taken.
    UniqueViolation,
    /// NULL in a NOT NULL column.
    NotNullViolation,
    /// A row fails a CHECK constraint.
    CheckViolation,
    /// Text that does not read as the wanted type.
    InvalidTextRepresentation,
    /// A number outside its type's range.
    NumericOutOfRange,
    /// A string longer than its column allows.
    StringTooLong,
    /// A value its column's type cannot hold, such as a string that is not
    /// one of an ENUM's members.
    DataTruncated,
    /// Division by zero.
    DivisionByZero,
    /// An operator or assignment between types that do not fit.
    DatatypeMismatch,
    /// A column used outside GROUP BY and outside an aggregate.
    Grouping,
    /// A table definition that cannot be (two primary keys, a key on a
    /// missing column).
    InvalidTableDefinition,
    /// Any other statement that makes no sense as written.
    InvalidParameter,
    /// A column list that matches nothing (ON CONFLICT target).
    InvalidColumnReference,
    /// A named constraint or index that does not exist.
    UndefinedObject,
    /// A statement in a transaction that already failed.
    InFailedTransaction,
    /// A concurrent transaction changed what this one wrote.
    SerializationFailure,
    /// Transactions waiting on each other's row locks.
    DeadlockDetected,
    /// BEGIN inside a transaction block, and the like.
    InvalidTransactionState,
    /// SAVEPOINT outside a transaction block.
    NoActiveTransaction,
    /// A statement that cannot run inside a transaction block.
    ActiveTransaction,
    /// ROLLBACK TO or RELEASE of an unknown savepoint.
    InvalidSavepoint,
    /// A subquery returned more rows than its place allows.
    CardinalityViolation,
    /// The statement was cancelled by the client.
    QueryCanceled,
    /// A sequence reached its bound.
    SequenceLimit,
    /// currval before nextval, and the like.
    ObjectNotInPrerequisiteState,
    /// Internal: a sequence needs a new block of values before the
    /// statement can run (never sent to clients; the session retries).
    SequenceRefill,
    /// Malformed COPY data.
    BadCopyFormat,
    /// A regular expression that does not compile.
    InvalidRegularExpression,
    /// Valid SQL this engine does not run.
    NotSupported,
    /// A database that does not exist.
    UndefinedDatabase,
    /// A schema that does not exist.
    UndefinedSchema,
    /// A schema of that name exists already.
    DuplicateSchema,
    /// An unqualified name in a MySQL session before `USE`.
    NoDatabaseSelected,
    /// EXECUTE or DEALLOCATE of a prepared statement name never prepared.
    UndefinedPreparedStatement,
    /// A query string with no statement in it where one is needed.
    EmptyQuery,
    /// A per-session limit, such as the number of prepared statements.
    ProgramLimitExceeded,
    /// A statement that cannot itself be prepared (PREPARE, EXECUTE).
    NotPreparable,
    /// The store failed.
    Internal,
}

/// An error with a message a person can act on, and where in the statement
/// it arose when that is known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SqlError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// The message, worded as PostgreSQL words it where there is one.
    pub message: String,
    /// 1-based character position in the statement text.
    pub position: Option<usize>,
}

impl SqlError {
    /// An error of kind `code`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        SqlError { code, message: message.into(), position: None }
    }

    /// The same error pointing at a position.
    pub fn at(mut self, position: Option<usize>) -> Self {
        if self.position.is_none() {
            self.position = position;
        }
        self
    }

    /// Valid SQL that this engine does not run.
    pub fn unsupported(what: impl std::fmt::Display) -> Self {
        SqlError::new(ErrorCode::NotSupported, format!("{what} is not supported"))
    }

    pub(crate) fn syntax(message: impl Into<String>) -> Self {
        SqlError::new(ErrorCode::Syntax, message)
    }

    pub(crate) fn mismatch(message: impl Into<String>) -> Self {
        SqlError::new(ErrorCode::DatatypeMismatch, message)
    }

    pub(crate) fn invalid_text(type_name: impl std::fmt::Display, text: &str) -> Self {
        SqlError::new(
            ErrorCode::InvalidTextRepresentation,
            format!("invalid input syntax for type {type_name}: \"{text}\""),
        )
    }

    pub(crate) fn out_of_range(type_name: &str) -> Self {
        SqlError::new(ErrorCode::NumericOutOfRange, format!("{type_name} out of range"))
    }
}

/// The storage layer's errors, as SQL sees them. Table names are qualified
/// in storage (`db.schema.table`); messages show the part a user typed.
impl From<StorageError> for SqlError {
    fn from(e: StorageError) -> Self {
        let short = |t: &str| t.rsplit('.').next().unwrap_or(t).to_string();
        match e {
            StorageError::WriteConflict => {
                SqlError::new(ErrorCode::SerializationFailure, "could not serialize access due to concurrent update")
            }
            StorageError::NoSuchTable(t) => {
                SqlError::new(ErrorCode::UndefinedTable, format!("relation \"{}\" does not exist", short(&t)))
            }
            StorageError::TableExists(t) => {
                SqlError::new(ErrorCode::DuplicateTable, format!("relation \"{}\" already exists", short(&t)))
            }
            StorageError::NoSuchColumn { table, column } => SqlError::new(
                ErrorCode::UndefinedColumn,
                format!("column \"{column}\" of relation \"{}\" does not exist", short(&table)),
            ),
            StorageError::DuplicateKey { table, key } => SqlError::new(
                ErrorCode::UniqueViolation,
                format!(
                    "duplicate key value violates unique constraint \"{}_pkey\"\nDETAIL: Key {key} already exists.",
                    short(&table)
                ),
            ),
            StorageError::UniqueViolation { index, key, .. } => SqlError::new(
                ErrorCode::UniqueViolation,
                format!(
                    "duplicate key value violates unique constraint \"{index}\"\nDETAIL: Key {key} already exists."
                ),
            ),
            StorageError::NotNull { table, column } => SqlError::new(
                ErrorCode::NotNullViolation,
                format!(
                    "null value in column \"{column}\" of relation \"{}\" violates not-null constraint",
                    short(&table)
                ),
            ),
            StorageError::InvalidValue(m) if m.contains("out of range") => {
                SqlError::new(ErrorCode::NumericOutOfRange, m)
            }
            StorageError::InvalidValue(m) if m.starts_with("value too long") => {
                SqlError::new(ErrorCode::StringTooLong, m)
            }
            StorageError::InvalidValue(m) => SqlError::new(ErrorCode::DatatypeMismatch, m),
            other => SqlError::new(ErrorCode::Internal, other.to_string()),
        }
    }
}

/// Results of the engine.
pub type SqlResult<T> = Result<T, SqlError>;
