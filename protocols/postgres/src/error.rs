//! The engine's errors as PostgreSQL ErrorResponses.

use orbit_sql::{ErrorCode, SqlError};
use pgwire::error::{ErrorInfo, PgWireError};

/// The SQLSTATE of each engine error code.
pub(crate) fn sqlstate(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::Syntax => "42601",
        ErrorCode::UndefinedTable => "42P01",
        ErrorCode::UndefinedColumn => "42703",
        ErrorCode::UndefinedFunction => "42883",
        ErrorCode::AmbiguousColumn => "42702",
        ErrorCode::DuplicateTable => "42P07",
        ErrorCode::DependentObjects => "2BP01",
        ErrorCode::DuplicateColumn => "42701",
        ErrorCode::UniqueViolation => "23505",
        ErrorCode::NotNullViolation => "23502",
        ErrorCode::CheckViolation => "23514",
        ErrorCode::InvalidTextRepresentation => "22P02",
        ErrorCode::NumericOutOfRange => "22003",
        ErrorCode::StringTooLong => "22001",
        // PostgreSQL's code for a value outside an enum type.
        ErrorCode::DataTruncated => "22P02",
        ErrorCode::DivisionByZero => "22012",
        ErrorCode::DatatypeMismatch => "42804",
        ErrorCode::Grouping => "42803",
        ErrorCode::InvalidTableDefinition => "42P16",
        ErrorCode::InvalidParameter => "22023",
        ErrorCode::InvalidColumnReference => "42P10",
        ErrorCode::UndefinedObject => "42704",
        ErrorCode::InFailedTransaction => "25P02",
        ErrorCode::SerializationFailure => "40001",
        ErrorCode::DeadlockDetected => "40P01",
        ErrorCode::InvalidTransactionState => "25001",
        ErrorCode::NoActiveTransaction => "25P01",
        ErrorCode::ActiveTransaction => "25001",
        ErrorCode::InvalidSavepoint => "3B001",
        ErrorCode::CardinalityViolation => "21000",
        ErrorCode::QueryCanceled => "57014",
        ErrorCode::SequenceLimit => "2200H",
        ErrorCode::ObjectNotInPrerequisiteState => "55000",
        ErrorCode::SequenceRefill => "XX000",
        ErrorCode::BadCopyFormat => "22P04",
        ErrorCode::InvalidRegularExpression => "2201B",
        ErrorCode::NotSupported => "0A000",
        ErrorCode::UndefinedDatabase => "3D000",
        ErrorCode::UndefinedSchema => "3F000",
        ErrorCode::DuplicateSchema => "42P06",
        ErrorCode::NoDatabaseSelected => "3D000",
        ErrorCode::UndefinedPreparedStatement => "26000",
        ErrorCode::EmptyQuery => "42601",
        ErrorCode::ProgramLimitExceeded => "54000",
        ErrorCode::NotPreparable => "0A000",
        ErrorCode::Internal => "XX000",
    }
}

/// An ERROR-severity response; the message's first line is the message,
/// a `DETAIL:` line becomes the detail field.
pub(crate) fn error_info(e: &SqlError) -> ErrorInfo {
    let (rest, context) = match e.message.split_once("\nCONTEXT: ") {
        Some((m, c)) => (m.to_string(), Some(c.to_string())),
        None => (e.message.clone(), None),
    };
    let (message, detail) = match rest.split_once("\nDETAIL: ") {
        Some((m, d)) => (m.to_string(), Some(d.to_string())),
        None => (rest, None),
    };
    let mut info = ErrorInfo::new("ERROR".into(), sqlstate(e.code).into(), message);
    info.detail = detail;
    info.where_context = context;
    info.position = e.position.map(|p| p.to_string());
    info
}

/// A FATAL error, which ends the connection (failed startup).
pub(crate) fn fatal(code: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new("FATAL".into(), code.into(), message)))
}

/// An engine error as pgwire's error type.
pub(crate) fn to_pgwire(e: &SqlError) -> PgWireError {
    PgWireError::UserError(Box::new(error_info(e)))
}
