//! `[protocols.postgresql]`: the common protocol keys plus authentication.

use orbit_postgres::{AuthMethod, PgUser};

use super::section::protocol_section;

protocol_section! {
    /// The PostgreSQL endpoint's section.
    PostgresSection, PostgresSectionFile, "PostgresSectionFile" {
        /// How configured users authenticate: `trust`, `password`, `md5` or
        /// `scram-sha-256`.
        [] auth: AuthMethod = AuthMethod::default(),
        /// Users and passwords; with none, anyone connects without a
        /// password, as after `initdb -A trust`.
        [serde(skip_serializing_if = "Vec::is_empty")] users: Vec<PgUser> = Vec::new(),
    }
}
