//! Sequences: nextval, currval and setval, SERIAL and identity columns.
//!
//! Values come from memory and are made durable in blocks, as PostgreSQL
//! logs sequences ahead: before a value is handed out, a value at least as
//! far along is committed as the sequence's `reserved` mark, so after a
//! crash the sequence resumes past everything it may have handed out (with
//! a gap, never a repeat). Evaluation is synchronous, so when a block runs
//! out `nextval` fails with an internal "refill" error; the session
//! reserves a new block and runs the statement again. That is safe because
//! statements compute every value before they write anything.
//!
//! Like PostgreSQL's, sequence changes are not transactional: a rolled-back
//! nextval stays used.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use orbit_storage::table::{ColumnDef, Filter, TableSchema, Update};
use orbit_storage::{DataType, StorageError, TableStorage, Value};

use crate::error::{ErrorCode, SqlError, SqlResult};

/// The table holding every sequence of the store.
const SEQUENCES: &str = "orbit_catalog.sequences";

/// A sequence's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SeqDef {
    pub increment: i64,
    pub min: i64,
    pub max: i64,
    pub start: i64,
    pub cycle: bool,
    /// The table whose column owns it (SERIAL, identity): dropped with it.
    pub owner: Option<String>,
}

impl SeqDef {
    /// PostgreSQL's defaults for an ascending or descending sequence of
    /// `ty` (smallint, integer or bigint).
    pub(crate) fn defaults(increment: i64, ty: &DataType) -> SeqDef {
        let top = match ty {
            DataType::SmallInt => i64::from(i16::MAX),
            DataType::Integer => i64::from(i32::MAX),
            _ => i64::MAX,
        };
        let (min, max) = if increment > 0 { (1, top) } else { (-top - 1, -1) };
        SeqDef { increment, min, max, start: if increment > 0 { min } else { max }, cycle: false, owner: None }
    }
}

#[derive(Debug)]
struct SeqState {
    def: SeqDef,
    /// What nextval returns next (before bounds and cycling).
    next: i64,
    /// Every value up to here (in the direction of the increment) is
    /// durable as possibly handed out.
    reserved: i64,
    /// Values handed out since the last refill: a statement that ran out
    /// is run again, and needs at least as many.
    used: i64,
}

/// Asked for by nextval when a sequence has no values ready: the session
/// reserves more and runs the statement again.
pub(crate) fn refill_error(name: &str) -> SqlError {
    SqlError::new(ErrorCode::SequenceRefill, name.to_string())
}

/// Sequence state shared by every session of an engine.
#[derive(Debug)]
pub(crate) struct Sequences {
    storage: Arc<dyn TableStorage>,
    state: Mutex<HashMap<String, SeqState>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn schema() -> TableSchema {
    TableSchema::new(
        SEQUENCES,
        vec![
            ColumnDef::new("name", DataType::Text).not_null(),
            ColumnDef::new("increment", DataType::BigInt).not_null(),
            ColumnDef::new("min", DataType::BigInt).not_null(),
            ColumnDef::new("max", DataType::BigInt).not_null(),
            ColumnDef::new("start", DataType::BigInt).not_null(),
            ColumnDef::new("cycle", DataType::Boolean).not_null(),
            ColumnDef::new("reserved", DataType::BigInt).not_null(),
            ColumnDef::new("owner", DataType::Text),
        ],
        &["name"],
    )
}

fn int(v: &Value) -> i64 {
    if let Value::Int(i) = v { *i } else { 0 }
}

fn not_found(name: &str) -> SqlError {
    let short = name.rsplit('.').next().unwrap_or(name);
    SqlError::new(ErrorCode::UndefinedTable, format!("relation \"{short}\" does not exist"))
}

impl Sequences {
    pub(crate) fn new(storage: Arc<dyn TableStorage>) -> Self {
        Sequences { storage, state: Mutex::new(HashMap::new()) }
    }

    async fn ensure_table(&self) -> SqlResult<()> {
        if self.storage.get_table_schema(SEQUENCES).await?.is_none() {
            match self.storage.create_table(&schema()).await {
                Ok(()) | Err(StorageError::TableExists(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Creates sequence `name` (stored name); `false` if it exists and
    /// `if_not_exists`.
    pub(crate) async fn create(&self, name: &str, def: SeqDef, if_not_exists: bool) -> SqlResult<bool> {
        if def.increment == 0 {
            return Err(SqlError::new(ErrorCode::InvalidParameter, "INCREMENT must not be zero"));
        }
        if def.min >= def.max || def.start < def.min || def.start > def.max {
            return Err(SqlError::new(
                ErrorCode::InvalidParameter,
                format!(
                    "START value ({}) must be between MINVALUE ({}) and MAXVALUE ({})",
                    def.start, def.min, def.max
                ),
            ));
        }
        self.ensure_table().await?;
        let row = vec![
            Value::Text(name.to_string()),
            Value::Int(def.increment),
            Value::Int(def.min),
            Value::Int(def.max),
            Value::Int(def.start),
            Value::Bool(def.cycle),
            Value::Int(def.start - def.increment),
            def.owner.clone().map_or(Value::Null, Value::Text),
        ];
        match self.storage.insert(None, SEQUENCES, row).await {
            Ok(()) => {
                lock(&self.state).remove(name);
                Ok(true)
            }
            Err(StorageError::DuplicateKey { .. }) if if_not_exists => Ok(false),
            Err(StorageError::DuplicateKey { .. }) => {
                let short = name.rsplit('.').next().unwrap_or(name);
                Err(SqlError::new(ErrorCode::DuplicateTable, format!("relation \"{short}\" already exists")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Drops sequence `name`; `false` if there was none.
    pub(crate) async fn drop(&self, name: &str) -> SqlResult<bool> {
        lock(&self.state).remove(name);
        if self.storage.get_table_schema(SEQUENCES).await?.is_none() {
            return Ok(false);
        }
        Ok(self.storage.delete(None, SEQUENCES, &Filter::eq("name", Value::Text(name.into()))).await? > 0)
    }

    /// Drops the sequences owned by table `table`.
    pub(crate) async fn drop_owned_by(&self, table: &str) -> SqlResult<()> {
        if self.storage.get_table_schema(SEQUENCES).await?.is_none() {
            return Ok(());
        }
        let owned = self
            .storage
            .select(
                None,
                &orbit_storage::table::SelectQuery::all(SEQUENCES)
                    .filter(Filter::eq("owner", Value::Text(table.into()))),
            )
            .await?;
        for row in owned {
            if let Some(Value::Text(name)) = row.first() {
                self.drop(name).await?;
            }
        }
        Ok(())
    }

    /// Whether sequence `name` exists.
    pub(crate) async fn exists(&self, name: &str) -> SqlResult<bool> {
        if lock(&self.state).contains_key(name) {
            return Ok(true);
        }
        if self.storage.get_table_schema(SEQUENCES).await?.is_none() {
            return Ok(false);
        }
        Ok(self.storage.get(None, SEQUENCES, &[Value::Text(name.into())]).await?.is_some())
    }

    /// Makes more values of `name` durable and ready: a larger block each
    /// time, so a long INSERT needs few rounds.
    pub(crate) async fn refill(&self, name: &str) -> SqlResult<()> {
        if self.storage.get_table_schema(SEQUENCES).await?.is_none() {
            return Err(not_found(name));
        }
        let row =
            self.storage.get(None, SEQUENCES, &[Value::Text(name.into())]).await?.ok_or_else(|| not_found(name))?;
        let def = SeqDef {
            increment: int(&row[1]),
            min: int(&row[2]),
            max: int(&row[3]),
            start: int(&row[4]),
            cycle: matches!(row[5], Value::Bool(true)),
            owner: match &row[7] {
                Value::Text(t) => Some(t.clone()),
                _ => None,
            },
        };
        let durable = int(&row[6]);
        let (next, block) = {
            let st = lock(&self.state);
            match st.get(name) {
                Some(s) => (s.next, s.used.saturating_mul(2).saturating_add(32)),
                None => (durable.saturating_add(def.increment), 32),
            }
        };
        let reserved = next.saturating_add(def.increment.saturating_mul(block - 1));
        let reserved = reserved.clamp(def.min.saturating_sub(1), def.max.saturating_add(1));
        self.write_reserved(name, reserved).await?;
        lock(&self.state).insert(name.to_string(), SeqState { def, next, reserved, used: 0 });
        Ok(())
    }

    async fn write_reserved(&self, name: &str, reserved: i64) -> SqlResult<()> {
        let n = self
            .storage
            .update(
                None,
                SEQUENCES,
                &[Update::set("reserved", Value::Int(reserved))],
                &Filter::eq("name", Value::Text(name.into())),
            )
            .await?;
        if n == 0 {
            return Err(not_found(name));
        }
        Ok(())
    }

    /// The next value of `name`, or the refill error.
    pub(crate) fn nextval(&self, name: &str) -> SqlResult<i64> {
        let mut st = lock(&self.state);
        let Some(s) = st.get_mut(name) else { return Err(refill_error(name)) };
        let inc = s.def.increment;
        let mut v = s.next;
        if v > s.def.max || v < s.def.min {
            if !s.def.cycle {
                let short = name.rsplit('.').next().unwrap_or(name);
                let bound = if inc > 0 {
                    format!("maximum value ({})", s.def.max)
                } else {
                    format!("minimum value ({})", s.def.min)
                };
                return Err(SqlError::new(
                    ErrorCode::SequenceLimit,
                    format!("nextval: reached {bound} of sequence \"{short}\""),
                ));
            }
            // Wrap around. The durable mark stays near the end, so a
            // restart wraps again: a cycling sequence repeats values anyway.
            v = if inc > 0 { s.def.min } else { s.def.max };
        } else {
            let ready = if inc > 0 { v <= s.reserved } else { v >= s.reserved };
            if !ready {
                return Err(refill_error(name));
            }
        }
        s.next = v.saturating_add(inc);
        s.used += 1;
        Ok(v)
    }

    /// Gives back the values `first..=last` that a
    /// statement took and then abandoned before writing anything, unless
    /// another session took values since: so a retried statement leaves no
    /// gap.
    fn rewind(&self, name: &str, first: i64, last: i64) {
        if let Some(s) = lock(&self.state).get_mut(name)
            && s.next == last.saturating_add(s.def.increment)
        {
            // `used` keeps counting the values given back: it sizes the
            // next block, which must outgrow what the retried statement
            // needs (else a statement needing more than one block would
            // refill and retry forever).
            s.next = first;
        }
    }

    /// setval: the next nextval returns `v + increment` (or `v` when
    /// `is_called` is false). Durable before it returns.
    pub(crate) async fn setval(&self, name: &str, v: i64, is_called: bool) -> SqlResult<i64> {
        self.refill(name).await?;
        let (min, max, inc) = {
            let st = lock(&self.state);
            let s = st.get(name).ok_or_else(|| not_found(name))?;
            (s.def.min, s.def.max, s.def.increment)
        };
        if v < min || v > max {
            let short = name.rsplit('.').next().unwrap_or(name);
            return Err(SqlError::new(
                ErrorCode::NumericOutOfRange,
                format!("setval: value {v} is out of bounds for sequence \"{short}\" ({min}..{max})"),
            ));
        }
        let next = if is_called { v.saturating_add(inc) } else { v };
        self.write_reserved(name, next - inc).await?;
        if let Some(s) = lock(&self.state).get_mut(name) {
            s.next = next;
            s.reserved = next - inc;
            s.used = 0;
        }
        Ok(v)
    }

    /// MySQL's AUTO_INCREMENT after an explicit value `v`: later values
    /// come after it, durably, unless the sequence is past it already.
    pub(crate) async fn raise(&self, name: &str, v: i64) -> SqlResult<()> {
        if !lock(&self.state).contains_key(name) {
            self.refill(name).await?;
        }
        let reserve = {
            let mut st = lock(&self.state);
            let Some(s) = st.get_mut(name) else { return Err(not_found(name)) };
            if s.def.increment <= 0 || v < s.next {
                return Ok(());
            }
            s.next = v.saturating_add(s.def.increment);
            (s.next > s.reserved).then_some(s.next)
        };
        // The durable mark must cover `v`, or a restart would hand it out.
        if let Some(mark) = reserve {
            self.write_reserved(name, mark).await?;
            if let Some(s) = lock(&self.state).get_mut(name) {
                s.reserved = s.reserved.max(mark);
            }
        }
        Ok(())
    }
}

/// A session's view of sequences: where unqualified names resolve, the
/// values its nextval calls returned (for currval), and setval calls to
/// make durable when the statement ends.
#[derive(Debug)]
pub(crate) struct SeqSession {
    pub sequences: Arc<Sequences>,
    pub database: String,
    currval: Mutex<HashMap<String, i64>>,
    pending_setval: Mutex<Vec<(String, i64, bool)>>,
    /// AUTO_INCREMENT sequences to move past explicit values when the
    /// statement ends.
    pending_raise: Mutex<Vec<(String, i64)>>,
    /// Per sequence, the first and last value the running statement took,
    /// and how many: given back if the statement is abandoned.
    taken: Mutex<HashMap<String, (i64, i64, i64)>>,
    /// MySQL's insert ids: the first value drawn by the last statement that
    /// drew any (LAST_INSERT_ID()), and by the last statement, if it did.
    insert_ids: Mutex<(Option<i64>, Option<i64>)>,
}

impl SeqSession {
    pub(crate) fn new(sequences: Arc<Sequences>, database: String) -> Self {
        SeqSession {
            sequences,
            database,
            currval: Mutex::new(HashMap::new()),
            pending_setval: Mutex::new(Vec::new()),
            pending_raise: Mutex::new(Vec::new()),
            taken: Mutex::new(HashMap::new()),
            insert_ids: Mutex::new((None, None)),
        }
    }

    /// The stored name of a sequence named in SQL text (`'s'`, `'sch.s'`,
    /// `'"S"'`): unquoted parts fold to lower case, as in PostgreSQL.
    pub(crate) fn stored(&self, text: &str) -> String {
        let parts: Vec<String> = text
            .split('.')
            .map(|p| {
                let p = p.trim();
                match p.strip_prefix('"').and_then(|q| q.strip_suffix('"')) {
                    Some(q) => q.to_string(),
                    None => p.to_lowercase(),
                }
            })
            .collect();
        match parts.as_slice() {
            [n] => format!("{}.public.{n}", self.database),
            [s, n] => format!("{}.{s}.{n}", self.database),
            _ => parts.join("."),
        }
    }

    pub(crate) fn nextval(&self, text: &str) -> SqlResult<i64> {
        let name = self.stored(text);
        let v = self.sequences.nextval(&name)?;
        lock(&self.taken)
            .entry(name.clone())
            .and_modify(|t| {
                t.1 = v;
                t.2 += 1;
            })
            .or_insert((v, v, 1));
        lock(&self.currval).insert(name, v);
        Ok(v)
    }

    pub(crate) fn currval(&self, text: &str) -> SqlResult<i64> {
        let name = self.stored(text);
        lock(&self.currval).get(&name).copied().ok_or_else(|| {
            let short = name.rsplit('.').next().unwrap_or(&name).to_string();
            SqlError::new(
                ErrorCode::ObjectNotInPrerequisiteState,
                format!("currval of sequence \"{short}\" is not yet defined in this session"),
            )
        })
    }

    /// Records a setval, applied (durably) when the statement ends.
    pub(crate) fn setval(&self, text: &str, v: i64, is_called: bool) -> i64 {
        let name = self.stored(text);
        if is_called {
            lock(&self.currval).insert(name.clone(), v);
        }
        lock(&self.pending_setval).push((name, v, is_called));
        v
    }

    /// Records that a row took `v` explicitly in the AUTO_INCREMENT column
    /// drawing from sequence `text`.
    pub(crate) fn raise(&self, text: &str, v: i64) {
        let name = self.stored(text);
        lock(&self.pending_raise).push((name, v));
    }

    /// Applies the statement's setval calls.
    pub(crate) async fn flush(&self) -> SqlResult<()> {
        let first = std::mem::take(&mut *lock(&self.taken)).values().map(|t| t.0).min();
        {
            let mut ids = lock(&self.insert_ids);
            ids.1 = first;
            if first.is_some() {
                ids.0 = first;
            }
        }
        let pending = std::mem::take(&mut *lock(&self.pending_setval));
        for (name, v, called) in pending {
            self.sequences.setval(&name, v, called).await?;
        }
        let raises = std::mem::take(&mut *lock(&self.pending_raise));
        for (name, v) in raises {
            self.sequences.raise(&name, v).await?;
        }
        Ok(())
    }

    /// LAST_INSERT_ID(): the first value the last statement drawing any drew.
    pub(crate) fn last_insert_id(&self) -> Option<i64> {
        lock(&self.insert_ids).0
    }

    /// The first value the last statement drew, if it drew any.
    pub(crate) fn statement_insert_id(&self) -> Option<i64> {
        lock(&self.insert_ids).1
    }

    /// Forgets a statement that will not run to the end: its setval calls
    /// are dropped and, when `rewind`, the values it took are given back
    /// (it wrote nothing, and is about to run again).
    pub(crate) fn discard(&self, rewind: bool) {
        lock(&self.pending_setval).clear();
        lock(&self.pending_raise).clear();
        let taken = std::mem::take(&mut *lock(&self.taken));
        if rewind {
            for (name, (first, last, _)) in taken {
                self.sequences.rewind(&name, first, last);
            }
        }
    }
}
