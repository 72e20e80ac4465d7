//! Table definitions.

use serde::{Deserialize, Serialize};

use crate::error::{Result, StorageError};
use crate::value::DataType;

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnDef {
    /// Column name, unique within the table.
    pub name: String,
    /// Declared type.
    pub data_type: DataType,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// The column's default as the SQL text its engine wrote; storage
    /// keeps it with the schema and never interprets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// The type as its engine's dialect declared it, when that says more
    /// than `data_type` (MySQL's `tinyint(1)`, `enum('a','b')`), for
    /// catalogs that show it; storage never interprets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared: Option<String>,
}

impl ColumnDef {
    /// A nullable column.
    pub fn new(name: impl Into<String>, data_type: DataType) -> Self {
        ColumnDef { name: name.into(), data_type, nullable: true, default: None, declared: None }
    }

    /// The same column with NOT NULL.
    pub fn not_null(mut self) -> Self {
        self.nullable = false;
        self
    }
}

/// A secondary index: rows ordered by `columns`, kept in step with every
/// write. A unique index refuses a second row with the same non-NULL values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexDef {
    /// Name, unique within the table.
    pub name: String,
    /// Indexed columns, in index order.
    pub columns: Vec<String>,
    /// Whether two rows may not share the values (NULLs never clash).
    pub unique: bool,
    /// Whether the index backs a UNIQUE or PRIMARY KEY constraint rather
    /// than standing alone (`CREATE UNIQUE INDEX`). Storage ignores it;
    /// catalogs show the difference.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub constraint: bool,
}

/// A CHECK constraint: SQL text its engine evaluates; storage keeps it with
/// the schema and never interprets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckDef {
    /// Constraint name.
    pub name: String,
    /// The boolean expression, as SQL text.
    pub expr: String,
}

/// A table's shape as callers give and get it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSchema {
    /// Table name, unique within the store. Callers that have databases and
    /// schemas qualify it (`db.schema.table`); storage treats it as opaque.
    pub name: String,
    /// Columns in declaration order.
    pub columns: Vec<ColumnDef>,
    /// Names of the primary key columns in key order; empty means rows are
    /// keyed by a hidden, increasing row id.
    pub primary_key: Vec<String>,
    /// Secondary indexes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<IndexDef>,
    /// CHECK constraints, for the engine to enforce.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckDef>,
}

impl TableSchema {
    /// A schema with the given columns and primary key.
    pub fn new(name: impl Into<String>, columns: Vec<ColumnDef>, primary_key: &[&str]) -> Self {
        TableSchema {
            name: name.into(),
            columns,
            primary_key: primary_key.iter().map(|s| (*s).to_string()).collect(),
            indexes: Vec::new(),
            checks: Vec::new(),
        }
    }

    /// Position of column `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Checks names are unique, the key names real columns, and key columns
    /// have types that can be keys.
    pub fn validate(&self) -> Result<()> {
        let invalid = |m: String| Err(StorageError::InvalidValue(m));
        if self.name.is_empty() {
            return invalid("a table needs a name".into());
        }
        for (i, c) in self.columns.iter().enumerate() {
            if self.columns[..i].iter().any(|o| o.name == c.name) {
                return invalid(format!("column \"{}\" specified more than once", c.name));
            }
        }
        for (i, k) in self.primary_key.iter().enumerate() {
            let Some(col) = self.columns.iter().find(|c| &c.name == k) else {
                return invalid(format!("column \"{k}\" named in key does not exist"));
            };
            if col.data_type == DataType::Json {
                return invalid(format!("column \"{k}\" of type json cannot be part of a primary key"));
            }
            if self.primary_key[..i].contains(k) {
                return invalid(format!("column \"{k}\" appears twice in primary key"));
            }
        }
        for (i, ix) in self.indexes.iter().enumerate() {
            if ix.columns.is_empty() {
                return invalid(format!("index \"{}\" names no columns", ix.name));
            }
            if self.indexes[..i].iter().any(|o| o.name == ix.name) {
                return invalid(format!("index \"{}\" is defined twice", ix.name));
            }
            for c in &ix.columns {
                match self.columns.iter().find(|col| &col.name == c) {
                    None => return invalid(format!("column \"{c}\" named in index \"{}\" does not exist", ix.name)),
                    Some(col) if col.data_type == DataType::Json => {
                        return invalid(format!("column \"{c}\" of type json cannot be indexed"));
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(())
    }
}

/// A table as the catalog stores it: the schema plus the ids storage assigns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TableDef {
    /// Prefix of every row key of this table; never reused.
    pub id: u32,
    pub schema: TableSchema,
    /// Stable id of each column, parallel to `schema.columns`.
    pub column_ids: Vec<u32>,
    /// Positions of the primary key columns.
    pub key_positions: Vec<usize>,
    /// Positions of each index's columns, parallel to `schema.indexes`.
    #[serde(default)]
    pub index_positions: Vec<Vec<usize>>,
}

impl TableDef {
    pub(crate) fn new(id: u32, schema: TableSchema) -> Result<Self> {
        schema.validate()?;
        let column_ids = (1..=schema.columns.len() as u32).collect();
        let key_positions = schema.primary_key.iter().filter_map(|k| schema.column_index(k)).collect();
        let index_positions = schema
            .indexes
            .iter()
            .map(|ix| ix.columns.iter().filter_map(|c| schema.column_index(c)).collect())
            .collect();
        Ok(TableDef { id, schema, column_ids, key_positions, index_positions })
    }

    pub(crate) fn has_hidden_key(&self) -> bool {
        self.key_positions.is_empty()
    }
}
