//! The MySQL endpoint's settings.

use serde::{Deserialize, Serialize};

/// A user and password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MysqlUser {
    /// User name.
    pub name: String,
    /// Password (may be empty).
    pub password: String,
}

/// The endpoint's settings.
#[derive(Debug, Clone, Default)]
pub struct MysqlConfig {
    /// Users and passwords. With none, the endpoint is a fresh MariaDB:
    /// `root` with an empty password gets in, and no one else.
    pub users: Vec<MysqlUser>,
}

impl MysqlConfig {
    /// The password `user` must prove, or `None` if `user` may not connect.
    pub(crate) fn password_of(&self, user: &str) -> Option<&str> {
        if self.users.is_empty() {
            return (user == "root").then_some("");
        }
        self.users.iter().find(|u| u.name == user).map(|u| u.password.as_str())
    }
}
