//! `[protocols.mysql]`: the common protocol keys plus users.

use orbit_mysql::MysqlUser;

use super::section::protocol_section;

protocol_section! {
    /// The MySQL endpoint's section.
    MysqlSection, MysqlSectionFile, "MysqlSectionFile" {
        /// Users and passwords, checked with mysql_native_password or
        /// caching_sha2_password; with none, `root` gets in with an empty
        /// password, as in a fresh MariaDB.
        [serde(skip_serializing_if = "Vec::is_empty")] users: Vec<MysqlUser> = Vec::new(),
    }
}
