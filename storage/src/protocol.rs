//! The protocols that own a store, and the column families of each store.
//!
//! Each protocol's data lives in its own RocksDB instance under
//! `<data-dir>/<protocol>/rocksdb`, so one protocol's compactions, caches and
//! corruption never touch another's. Column family names are constants so
//! that a typo is a compile error, not a silently empty column family.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Column family names. RocksDB's own `default` family always exists too.
pub mod cf {
    /// RocksDB's built-in family; every instance has it.
    pub const DEFAULT: &str = "default";

    /// Table definitions of [`TableStorage`](crate::TableStorage), keyed by table name.
    pub const TABLE_CATALOG: &str = "catalog";
    /// Table rows, keyed by table id and the order-preserving primary key.
    pub const TABLE_ROWS: &str = "rows";
    /// Secondary index entries of tables.
    pub const TABLE_INDEXES: &str = "indexes";
    /// Sequence and auto-increment counters.
    pub const SEQUENCES: &str = "sequences";

    /// Redis: one record per key with its type, expiry and version.
    pub const REDIS_METADATA: &str = "metadata";
    /// Redis: hash fields, set members and list elements, under the key's version.
    pub const REDIS_SUBKEYS: &str = "subkeys";
    /// Redis: sorted-set members ordered by score.
    pub const REDIS_ZSET_SCORES: &str = "zset_scores";
    /// Redis: keys ordered by expiry time, for active expiration.
    pub const REDIS_EXPIRY: &str = "expiry";
    /// Redis: sub-key ranges of deleted collections, reclaimed in the background.
    pub const REDIS_GARBAGE: &str = "garbage";

    /// Graph nodes (Cypher) keyed by node id.
    pub const GRAPH_NODES: &str = "nodes";
    /// Graph relationships keyed by relationship id.
    pub const GRAPH_RELATIONSHIPS: &str = "relationships";
    /// Adjacency lists: node id and direction to relationship ids.
    pub const GRAPH_ADJACENCY: &str = "adjacency";
    /// Label to node index.
    pub const GRAPH_LABELS: &str = "labels";

    /// AQL collections and their properties.
    pub const AQL_COLLECTIONS: &str = "collections";
    /// AQL documents keyed by collection and `_key`.
    pub const AQL_DOCUMENTS: &str = "documents";
    /// AQL edge index: `_from` and `_to` to edge keys.
    pub const AQL_EDGES: &str = "edges";
    /// AQL named graphs.
    pub const AQL_GRAPHS: &str = "graphs";

    /// GraphRAG entities.
    pub const GRAPHRAG_ENTITIES: &str = "entities";
    /// GraphRAG relationships between entities.
    pub const GRAPHRAG_RELATIONSHIPS: &str = "relationships";
    /// GraphRAG embedding vectors.
    pub const GRAPHRAG_EMBEDDINGS: &str = "embeddings";
    /// GraphRAG source documents and chunks.
    pub const GRAPHRAG_DOCUMENTS: &str = "documents";

    /// The families every store has, so each protocol can keep tables.
    pub const TABLE_FAMILIES: &[&str] = &[TABLE_CATALOG, TABLE_ROWS, TABLE_INDEXES, SEQUENCES];
}

/// A protocol that owns a store of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// PostgreSQL wire protocol.
    Postgresql,
    /// MySQL wire protocol.
    Mysql,
    /// Cassandra native protocol (CQL).
    Cql,
    /// Redis RESP2/RESP3.
    Redis,
    /// Neo4j Bolt with Cypher.
    Cypher,
    /// ArangoDB HTTP API with AQL.
    Aql,
    /// GraphRAG, reached through the other protocols.
    Graphrag,
}

impl Protocol {
    /// Every protocol, in the order stores are opened and listed.
    pub const ALL: [Protocol; 7] = [
        Protocol::Postgresql,
        Protocol::Mysql,
        Protocol::Cql,
        Protocol::Redis,
        Protocol::Cypher,
        Protocol::Aql,
        Protocol::Graphrag,
    ];

    /// The name used in paths, config sections and metric labels.
    pub const fn name(self) -> &'static str {
        match self {
            Protocol::Postgresql => "postgresql",
            Protocol::Mysql => "mysql",
            Protocol::Cql => "cql",
            Protocol::Redis => "redis",
            Protocol::Cypher => "cypher",
            Protocol::Aql => "aql",
            Protocol::Graphrag => "graphrag",
        }
    }

    /// Where this protocol's RocksDB instance lives under `data_dir`.
    pub fn store_path(self, data_dir: &Path) -> PathBuf {
        data_dir.join(self.name()).join("rocksdb")
    }

    /// The column families of this protocol's store, `default` excluded.
    pub fn column_families(self) -> Vec<&'static str> {
        let own: &[&str] = match self {
            Protocol::Postgresql | Protocol::Mysql | Protocol::Cql => &[],
            Protocol::Redis => {
                &[cf::REDIS_METADATA, cf::REDIS_SUBKEYS, cf::REDIS_ZSET_SCORES, cf::REDIS_EXPIRY, cf::REDIS_GARBAGE]
            }
            Protocol::Cypher => &[cf::GRAPH_NODES, cf::GRAPH_RELATIONSHIPS, cf::GRAPH_ADJACENCY, cf::GRAPH_LABELS],
            Protocol::Aql => &[cf::AQL_COLLECTIONS, cf::AQL_DOCUMENTS, cf::AQL_EDGES, cf::AQL_GRAPHS],
            Protocol::Graphrag => {
                &[cf::GRAPHRAG_ENTITIES, cf::GRAPHRAG_RELATIONSHIPS, cf::GRAPHRAG_EMBEDDINGS, cf::GRAPHRAG_DOCUMENTS]
            }
        };
        cf::TABLE_FAMILIES.iter().chain(own).copied().collect()
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name given was not a protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown protocol '{0}' (expected one of postgresql, mysql, cql, redis, cypher, aql, graphrag)")]
pub struct UnknownProtocol(pub String);

impl FromStr for Protocol {
    type Err = UnknownProtocol;

    /// Accepts the canonical names and the names people use for them
    /// (`postgres`, `bolt`, `neo4j`, `arangodb`, `cassandra`, ...).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "postgresql" | "postgres" | "pg" => Protocol::Postgresql,
            "mysql" | "mariadb" => Protocol::Mysql,
            "cql" | "cassandra" => Protocol::Cql,
            "redis" | "resp" => Protocol::Redis,
            "cypher" | "bolt" | "neo4j" => Protocol::Cypher,
            "aql" | "arangodb" | "http" => Protocol::Aql,
            "graphrag" => Protocol::Graphrag,
            _ => return Err(UnknownProtocol(s.to_string())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_aliases_parse() {
        for p in Protocol::ALL {
            assert_eq!(p.name().parse::<Protocol>(), Ok(p));
        }
        assert_eq!("Bolt".parse::<Protocol>(), Ok(Protocol::Cypher));
        assert!("oracle".parse::<Protocol>().is_err());
    }

    #[test]
    fn every_store_has_table_families_and_no_duplicates() {
        for p in Protocol::ALL {
            let cfs = p.column_families();
            for t in cf::TABLE_FAMILIES {
                assert!(cfs.contains(t), "{p} lacks {t}");
            }
            let mut sorted = cfs.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), cfs.len(), "{p} names a family twice");
            assert!(!cfs.contains(&cf::DEFAULT));
        }
    }
}
