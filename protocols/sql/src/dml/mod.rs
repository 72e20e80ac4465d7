//! INSERT, UPDATE and DELETE.

mod exec;
mod plan;

pub(crate) use exec::{Args, Inserted, Locking, insert, modify};
#[cfg(test)]
pub(crate) use exec::{has_subqueries, insert_rows_bounded};
pub(crate) use plan::{
    InsertPlan, InsertSource, ModifyPlan, OnConflict, compile_checks, default_of, plan_delete, plan_insert, plan_update,
};
