//! The engine's errors as MySQL error packets: one code per engine error
//! kind, by one exhaustive `match`, with MySQL's wording for the errors
//! clients parse.

use orbit_sql::{ErrorCode, SqlError};

/// A MySQL error: its number and SQLSTATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MyError(pub u16, pub &'static str);

/// Access denied (at the handshake).
pub(crate) const ACCESS_DENIED: MyError = MyError(1045, "28000");
/// A query string with no statement in it.
pub(crate) const EMPTY_QUERY: MyError = MyError(1065, "42000");
/// A command byte this server does not know.
pub(crate) const UNKNOWN_COMMAND: MyError = MyError(1047, "08S01");
/// A client message over `max_allowed_packet`.
pub(crate) const PACKET_TOO_LARGE: MyError = MyError(1153, "08S01");
/// A message that does not parse.
pub(crate) const MALFORMED: MyError = MyError(1835, "HY000");
/// COM_STMT_EXECUTE of a statement id never prepared.
pub(crate) const UNKNOWN_STATEMENT: MyError = MyError(1243, "HY000");
/// Parameters that do not fit the statement.
pub(crate) const WRONG_ARGUMENTS: MyError = MyError(1210, "HY000");

/// MySQL's error for an engine error kind.
pub(crate) fn my_error(code: ErrorCode) -> MyError {
    match code {
        ErrorCode::Syntax => MyError(1064, "42000"),
        ErrorCode::UndefinedTable => MyError(1146, "42S02"),
        ErrorCode::UndefinedColumn | ErrorCode::InvalidColumnReference => MyError(1054, "42S22"),
        ErrorCode::UndefinedFunction => MyError(1305, "42000"),
        ErrorCode::AmbiguousColumn => MyError(1052, "23000"),
        ErrorCode::DependentObjects => MyError(1451, "23000"),
        ErrorCode::DuplicateTable => MyError(1050, "42S01"),
        ErrorCode::DuplicateColumn => MyError(1060, "42S21"),
        ErrorCode::UniqueViolation => MyError(1062, "23000"),
        ErrorCode::NotNullViolation => MyError(1048, "23000"),
        ErrorCode::CheckViolation => MyError(3819, "HY000"),
        ErrorCode::InvalidTextRepresentation => MyError(1366, "HY000"),
        ErrorCode::NumericOutOfRange => MyError(1264, "22003"),
        ErrorCode::StringTooLong => MyError(1406, "22001"),
        ErrorCode::DataTruncated => MyError(1265, "01000"),
        ErrorCode::DivisionByZero => MyError(1365, "22012"),
        ErrorCode::DatatypeMismatch => WRONG_ARGUMENTS,
        ErrorCode::Grouping => MyError(1055, "42000"),
        ErrorCode::InvalidTableDefinition => MyError(1068, "42000"),
        ErrorCode::InvalidParameter => MyError(1231, "42000"),
        ErrorCode::UndefinedObject => MyError(1193, "HY000"),
        ErrorCode::InFailedTransaction => MyError(1213, "40001"),
        ErrorCode::SerializationFailure | ErrorCode::DeadlockDetected => MyError(1213, "40001"),
        ErrorCode::InvalidTransactionState | ErrorCode::ActiveTransaction => MyError(1568, "25001"),
        ErrorCode::NoActiveTransaction | ErrorCode::InvalidSavepoint => MyError(1305, "42000"),
        ErrorCode::CardinalityViolation => MyError(1242, "21000"),
        ErrorCode::QueryCanceled => MyError(1317, "70100"),
        ErrorCode::SequenceLimit => MyError(1467, "HY000"),
        ErrorCode::InvalidRegularExpression => MyError(1139, "42000"),
        ErrorCode::NotSupported => MyError(1235, "42000"),
        ErrorCode::UndefinedDatabase | ErrorCode::UndefinedSchema => MyError(1049, "42000"),
        ErrorCode::DuplicateSchema => MyError(1007, "HY000"),
        ErrorCode::NoDatabaseSelected => MyError(1046, "3D000"),
        ErrorCode::UndefinedPreparedStatement => UNKNOWN_STATEMENT,
        ErrorCode::EmptyQuery => EMPTY_QUERY,
        ErrorCode::ProgramLimitExceeded => MyError(1461, "42000"),
        ErrorCode::NotPreparable => MyError(1295, "HY000"),
        ErrorCode::ObjectNotInPrerequisiteState
        | ErrorCode::SequenceRefill
        | ErrorCode::BadCopyFormat
        | ErrorCode::Internal => MyError(1105, "HY000"),
    }
}

/// The message MySQL would give; `db` is the session's database, which
/// MySQL names in "Table 'db.t' doesn't exist".
pub(crate) fn message(e: &SqlError, db: &str) -> String {
    let first = e.message.lines().next().unwrap_or_default();
    let quoted = |s: &str| s.split('"').nth(1).map(str::to_string);
    match e.code {
        ErrorCode::UndefinedTable if first.starts_with("relation ") => match quoted(first) {
            Some(t) if t.contains('.') => format!("Table '{t}' doesn't exist"),
            Some(t) => format!("Table '{db}.{t}' doesn't exist"),
            None => first.to_string(),
        },
        ErrorCode::UndefinedColumn if first.starts_with("column ") => match quoted(first) {
            Some(c) => format!("Unknown column '{c}' in 'field list'"),
            None => first.to_string(),
        },
        ErrorCode::NotNullViolation if first.starts_with("null value in column") => match quoted(first) {
            Some(c) => format!("Column '{c}' cannot be null"),
            None => first.to_string(),
        },
        ErrorCode::UniqueViolation => duplicate_entry(&e.message).unwrap_or_else(|| first.to_string()),
        ErrorCode::DuplicateTable if first.starts_with("relation ") => match quoted(first) {
            Some(t) => format!("Table '{t}' already exists"),
            None => first.to_string(),
        },
        _ => first.to_string(),
    }
}

/// "Duplicate entry '1' for key 't.PRIMARY'" from the engine's
/// "duplicate key value violates unique constraint "t_pkey"" with its
/// "DETAIL: Key (id)=(1) already exists."
fn duplicate_entry(message: &str) -> Option<String> {
    let constraint = message.split('"').nth(1)?;
    let detail = message.split_once("DETAIL: Key (")?.1;
    let values = detail.split_once(")=(")?.1.rsplit_once(") already exists")?.0;
    let values = values.replace(", ", "-");
    let key = match constraint.strip_suffix("_pkey") {
        Some(table) => format!("{table}.PRIMARY"),
        None => constraint.to_string(),
    };
    Some(format!("Duplicate entry '{values}' for key '{key}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_messages_read_as_mysql_words_them() {
        let e = SqlError::new(ErrorCode::UndefinedTable, "relation \"nope\" does not exist");
        assert_eq!(message(&e, "shop"), "Table 'shop.nope' doesn't exist");
        let e = SqlError::new(ErrorCode::UndefinedColumn, "column \"x\" does not exist");
        assert_eq!(message(&e, "shop"), "Unknown column 'x' in 'field list'");
        let e = SqlError::new(
            ErrorCode::UniqueViolation,
            "duplicate key value violates unique constraint \"t_pkey\"\nDETAIL: Key (id)=(1) already exists.",
        );
        assert_eq!(message(&e, "shop"), "Duplicate entry '1' for key 't.PRIMARY'");
        assert_eq!(my_error(ErrorCode::UniqueViolation), MyError(1062, "23000"));
        assert_eq!(my_error(ErrorCode::Syntax), MyError(1064, "42000"));
        assert_eq!(my_error(ErrorCode::NoDatabaseSelected), MyError(1046, "3D000"));
    }
}
