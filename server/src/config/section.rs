//! `protocol_section!`: a protocol's section with the common keys
//! (`enabled`, `port`, `sync`, `sync_interval_ms`) plus its own.
//!
//! In code the common keys sit in a [`super::ProtocolSection`] so that
//! they are handled alike for every protocol; in files they are flat,
//! beside the protocol's own keys. serde's `flatten` would do that but
//! cannot be combined with `deny_unknown_fields`, so each section is read
//! through a flat twin that this macro writes, with the conversions both
//! ways.

/// Declares `$section` (for code) and `$file` (for files; its name again as
/// `$file_name` for serde) with the extra fields given as
/// `[serde attributes] name: Type = default`.
macro_rules! protocol_section {
    (
        $(#[$doc:meta])*
        $section:ident, $file:ident, $file_name:literal {
            $(
                $(#[doc = $fdoc:literal])*
                [$($fattr:meta),*] $field:ident : $ty:ty = $default:expr
            ),* $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(from = $file_name, into = $file_name)]
        pub struct $section {
            /// `enabled`, `port`, `sync`, `sync_interval_ms`.
            pub common: $crate::config::ProtocolSection,
            $( $(#[doc = $fdoc])* pub $field: $ty, )*
        }

        impl Default for $section {
            fn default() -> Self {
                $file::default().into()
            }
        }

        /// The section as written in files: flat, every key known.
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $file {
            enabled: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            port: Option<u16>,
            #[serde(skip_serializing_if = "Option::is_none")]
            sync: Option<$crate::config::SyncMode>,
            #[serde(skip_serializing_if = "Option::is_none")]
            sync_interval_ms: Option<u64>,
            $( $(#[$fattr])* $field: $ty, )*
        }

        impl Default for $file {
            fn default() -> Self {
                $file {
                    enabled: $crate::config::ProtocolSection::default().enabled,
                    port: None,
                    sync: None,
                    sync_interval_ms: None,
                    $( $field: $default, )*
                }
            }
        }

        impl From<$file> for $section {
            fn from(f: $file) -> Self {
                $section {
                    common: $crate::config::ProtocolSection {
                        enabled: f.enabled,
                        port: f.port,
                        sync: f.sync,
                        sync_interval_ms: f.sync_interval_ms,
                    },
                    $( $field: f.$field, )*
                }
            }
        }

        impl From<$section> for $file {
            fn from(s: $section) -> Self {
                $file {
                    enabled: s.common.enabled,
                    port: s.common.port,
                    sync: s.common.sync,
                    sync_interval_ms: s.common.sync_interval_ms,
                    $( $field: s.$field, )*
                }
            }
        }
    };
}

pub(super) use protocol_section;
