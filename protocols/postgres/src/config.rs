//! The PostgreSQL endpoint's settings.

use serde::{Deserialize, Serialize};

/// How clients prove who they are (pg_hba.conf's methods).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMethod {
    /// No password.
    Trust,
    /// Cleartext password.
    Password,
    /// MD5 challenge.
    Md5,
    /// SCRAM-SHA-256, PostgreSQL's default.
    #[default]
    #[serde(rename = "scram-sha-256")]
    ScramSha256,
}

/// A user and password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgUser {
    /// Role name.
    pub name: String,
    /// Password.
    pub password: String,
}

/// The endpoint's settings.
#[derive(Debug, Clone, Default)]
pub struct PostgresConfig {
    /// The method for configured users; with no users everyone gets in.
    pub auth: AuthMethod,
    /// Users and passwords.
    pub users: Vec<PgUser>,
}
