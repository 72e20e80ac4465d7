//! One conformance suite, run on every engine (and, for tables, with and
//! without the hot tier).

mod suite;

macro_rules! kv_suite {
    ($engine:ident: $($test:ident),* $(,)?) => {
        mod $engine {
            $(
                #[test]
                fn $test() {
                    crate::suite::kv::$test(crate::suite::$engine());
                }
            )*
        }
    };
}

macro_rules! txn_suite {
    ($engine:ident: $($test:ident),* $(,)?) => {
        mod $engine {
            $(
                #[test]
                fn $test() {
                    crate::suite::txn::$test(crate::suite::$engine());
                }
            )*
        }
    };
}

macro_rules! table_suite {
    ($name:ident, $engine:ident, $hot:literal: $($test:ident),* $(,)?) => {
        mod $name {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    crate::suite::table::$test(crate::suite::$engine(), $hot).await;
                }
            )*
        }
    };
}

macro_rules! all_engines {
    ($suite:ident: $($test:ident),* $(,)?) => {
        mod $suite {
            kv_or_txn!($suite, memory: $($test),*);
            kv_or_txn!($suite, rocks: $($test),*);
        }
    };
}

macro_rules! kv_or_txn {
    (kv, $engine:ident: $($test:ident),*) => { kv_suite!($engine: $($test),*); };
    (txn, $engine:ident: $($test:ident),*) => { txn_suite!($engine: $($test),*); };
}

all_engines!(kv:
    point_ops,
    unknown_family_is_an_error,
    batches_are_atomic_across_families,
    scans_respect_bounds_and_direction,
    range_deletes,
    snapshots_are_frozen,
    maintenance_keeps_data,
    checkpoints_copy_everything,
    concurrent_writers,
    cached_reads_answer_from_memory_or_refuse,
);

all_engines!(txn:
    reads_see_own_writes_merged_in_order,
    snapshot_isolation,
    write_write_conflicts_are_detected,
    watched_keys_and_ranges_conflict,
    refresh_sees_new_commits_but_keeps_conflicts,
    rollback_and_drop_discard,
    atomic_read_modify_write,
    no_lost_updates_under_contention,
    in_memory_runs_undo_themselves_when_refused,
);

macro_rules! all_table_configs {
    ($($test:ident),* $(,)?) => {
        mod table {
            table_suite!(memory_plain, memory, 0: $($test),*);
            table_suite!(memory_hot, memory, 1000: $($test),*);
            table_suite!(rocks_plain, rocks, 0: $($test),*);
            table_suite!(rocks_hot, rocks, 1000: $($test),*);
        }
    };
}

all_table_configs!(
    schemas,
    rows_come_back_in_key_order_and_filters_apply,
    constraints_are_enforced,
    updates_and_deletes,
    tables_without_a_key_keep_insertion_order,
    transactions_isolate_and_conflict,
    concurrent_increments_lose_nothing,
    metrics_count_operations,
    secondary_indexes_find_rows_and_stay_in_step,
    unique_indexes_refuse_duplicates,
    alter_table_rewrites_rows_keys_and_indexes,
    savepoints_roll_back_part_of_a_transaction,
    settled_transactions_read_every_acknowledged_write,
    point_reads_follow_every_change,
    small_key_ranges_read_what_scans_read,
    statements_too_big_for_memory_finish_on_the_pool,
);
