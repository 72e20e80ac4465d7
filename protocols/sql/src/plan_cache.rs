//! Plans for statements sent as text, reused across their literals.
//!
//! A client on the simple protocol sends each statement as text, so each
//! one would be parsed and planned afresh: a fifth of the CPU of a
//! pgbench select-only run. A session instead plans each statement's
//! shape once, with a parameter where each literal stood, and runs later
//! texts of that shape on the same plan with their literals as parameter
//! values, as if the client had prepared it.
//!
//! A literal and a parameter mean the same only in some places. A
//! template is used only where every parameter is an operand of a
//! comparison or of arithmetic, an `IN` list item, a `BETWEEN` bound, a
//! `VALUES` item of an INSERT or an UPDATE's new value, and where planning
//! gave every parameter a type; elsewhere (`ORDER BY 1`, a function's
//! argument, a cast) the statement takes the ordinary path. String
//! literals are read with the type the planner settled on, exactly as it
//! reads a string literal of that type. Anything that fails on the way,
//! planning included, sends the text down the ordinary path, which reports
//! errors as it always has.

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;
use std::sync::Arc;

use orbit_storage::DataType;
use sqlparser::ast::{self, BinaryOperator, Expr, SetExpr, Statement, UnaryOperator};

use super::{Outcome, Plan, Session, Tx, parse_pg};
use crate::error::SqlResult;
use crate::literals::{self, Shape};

/// Shapes a session remembers; past this the cache starts over, so a
/// client that never repeats a shape costs a bounded amount of memory.
const MAX_SHAPES: usize = 64;

/// A session's plans by statement shape.
#[derive(Debug, Default)]
pub(super) struct PlanCache {
    shapes: HashMap<String, Entry>,
}

#[derive(Debug)]
enum Entry {
    Planned(Arc<Template>),
    /// The shape cannot be run from a template; asked again after the
    /// schema changes (a table it names may exist now).
    Refused {
        version: u64,
    },
}

/// A shape's statement with placeholders, and its plan.
#[derive(Debug)]
struct Template {
    stmt: Statement,
    plan: Arc<Plan>,
    types: Vec<DataType>,
    /// The schema version the plan was made under.
    version: u64,
}

impl PlanCache {
    fn insert(&mut self, key: &str, entry: Entry) {
        if self.shapes.len() >= MAX_SHAPES {
            self.shapes.clear();
        }
        self.shapes.insert(key.to_string(), entry);
    }
}

/// Whether `sql` starts like a statement a template can serve.
fn data_statement(sql: &str) -> bool {
    let text = sql.trim_start().as_bytes();
    let word = &text[..text.iter().take_while(|b| b.is_ascii_alphabetic()).count()];
    [&b"select"[..], b"insert", b"update", b"delete", b"with"].iter().any(|w| word.eq_ignore_ascii_case(w))
}

impl Session {
    /// Runs one PostgreSQL statement on its shape's plan. `None`: the
    /// statement has no usable template and must take the ordinary path.
    pub(super) async fn run_by_shape(&mut self, sql: &str) -> Option<SqlResult<Outcome>> {
        // An aborted block refuses the statement before planning it.
        if matches!(self.tx, Tx::Failed(_)) || !data_statement(sql) {
            return None;
        }
        let shape = literals::shape(sql)?;
        let version = self.engine.schema_version();
        let template = match self.plan_cache.shapes.get(shape.key()) {
            Some(Entry::Planned(t)) if t.version == version => t.clone(),
            Some(Entry::Refused { version: v }) if *v == version => return None,
            _ => {
                let planned = self.plan_shape(&shape, version).await;
                let entry = planned.clone().map_or(Entry::Refused { version }, Entry::Planned);
                self.plan_cache.insert(shape.key(), entry);
                planned?
            }
        };
        // A literal that does not read as its parameter's type fails on the
        // ordinary path, with the planner's own error.
        let params = shape.values(sql, &template.types).ok()?;
        let mut types = template.types.iter().cloned().map(Some).collect();
        Some(self.run_statement_with(&template.stmt, sql, &mut types, &params, Some(template.plan.clone())).await)
    }

    async fn plan_shape(&self, shape: &Shape, version: u64) -> Option<Arc<Template>> {
        let mut stmts = parse_pg(shape.template()).ok()?;
        if stmts.len() != 1 {
            return None;
        }
        let stmt = stmts.pop()?;
        let data =
            matches!(stmt, Statement::Query(_) | Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_));
        if !data || !params_in_plain_places(&stmt, shape.len()) {
            return None;
        }
        let mut params = shape.hints();
        let mut arrays = BTreeMap::new();
        let plan = self.plan_with_arrays(&stmt, shape.template(), &mut params, &mut arrays).await.ok()?;
        let planned_data = matches!(plan, Plan::Select(_) | Plan::Insert(_) | Plan::Update(_) | Plan::Delete(_));
        if !planned_data || !arrays.is_empty() || params.len() != shape.len() {
            return None;
        }
        let types = params.into_iter().collect::<Option<Vec<_>>>()?;
        Some(Arc::new(Template { stmt, plan: Arc::new(plan), types, version }))
    }
}

/// Whether the template has `count` placeholders, each where a parameter
/// means what the literal it replaced meant.
fn params_in_plain_places(stmt: &Statement, count: usize) -> bool {
    let (mut total, mut plain) = (0, 0);
    let _ = ast::visit_expressions(stmt, |e| {
        match e {
            Expr::Value(v) if matches!(v.value, ast::Value::Placeholder(_)) => total += 1,
            Expr::BinaryOp { left, op, right } if operand_of(op) => plain += slot(left) + slot(right),
            Expr::In { expr, target: ast::InTarget::List(list), .. } => {
                plain += slot(expr) + list.iter().map(slot).sum::<usize>();
            }
            Expr::Between { expr, low, high, .. } => plain += slot(expr) + slot(low) + slot(high),
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    match stmt {
        Statement::Insert(ins) => {
            if let Some(q) = &ins.source
                && let SetExpr::Values(v) = &*q.body
            {
                plain += v.rows.iter().flat_map(|r| &r.content).map(slot).sum::<usize>();
            }
        }
        Statement::Update(u) => plain += u.assignments.iter().map(|a| slot(&a.value)).sum::<usize>(),
        _ => {}
    }
    total == count && plain == count
}

/// Operators whose operands may be parameters.
fn operand_of(op: &BinaryOperator) -> bool {
    use BinaryOperator as B;
    matches!(
        op,
        B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq | B::Plus | B::Minus | B::Multiply | B::Divide | B::Modulo
    )
}

/// 1 if `e` is a placeholder, alone or signed (`-$1`), else 0.
fn slot(e: &Expr) -> usize {
    let e = match e {
        Expr::UnaryOp { op: UnaryOperator::Minus | UnaryOperator::Plus, expr } => expr,
        other => other,
    };
    usize::from(matches!(e, Expr::Value(v) if matches!(v.value, ast::Value::Placeholder(_))))
}

#[cfg(test)]
mod tests {
    use orbit_storage::{Protocol, Store, StoreOptions, TableStorage};

    use super::*;
    use crate::SqlEngine;

    const SETUP: &str = "CREATE TABLE t (id INT PRIMARY KEY, name TEXT, score NUMERIC(6,2), big BIGINT, \
        born DATE, flag BOOLEAN, c CHAR(3), v VARCHAR(5));
        INSERT INTO t VALUES (1, 'ann', 10.5, 5000000000, '2000-01-02', true, 'ab', 'x'), \
        (-1, 'it''s', -2.25, -7, '1999-12-31', false, 'abc', 'yy'), (2, 'bob', NULL, NULL, NULL, NULL, NULL, NULL)";

    /// A session on a fresh in-memory database holding [`SETUP`]. The
    /// store must outlive the session.
    async fn session() -> (Arc<Store>, Session) {
        let store = Arc::new(Store::in_memory(Protocol::Postgresql, &StoreOptions::default()).expect("store"));
        let tables: Arc<dyn TableStorage> = Arc::new(store.tables().clone());
        let mut s = Session::open(SqlEngine::new(tables), "postgres", "postgres").await.expect("session");
        for stmt in SETUP.split(';') {
            s.run(stmt).await.pop().expect("result").expect("setup");
        }
        (store, s)
    }

    /// What a statement gives, compared across the two paths.
    async fn outcome(s: &mut Session, sql: &str) -> String {
        match s.run(sql).await.pop() {
            Some(Ok(Outcome::Rows { columns, rows, tag })) => format!("{tag} {columns:?} {rows:?}"),
            Some(Ok(other)) => format!("{other:?}"),
            Some(Err(e)) => format!("error {:?}", e.code),
            None => "nothing".into(),
        }
    }

    fn planned(s: &Session) -> usize {
        s.plan_cache.shapes.values().filter(|e| matches!(e, Entry::Planned(_))).count()
    }

    /// Every statement gives the same on a template (run twice, so that
    /// the second run takes a plan made for other literals) as on the
    /// ordinary path, which a leading comment forces.
    #[tokio::test]
    async fn templates_give_what_literals_give() {
        let (_a, mut shaped) = session().await;
        let (_b, mut plain) = session().await;
        let statements = [
            ("SELECT name FROM t WHERE id = 1", "SELECT name FROM t WHERE id = 2"),
            ("SELECT name FROM t WHERE id = -1", "SELECT name FROM t WHERE id = -2"),
            ("SELECT name FROM t WHERE id = '2'", "SELECT name FROM t WHERE id = 'x'"),
            ("SELECT name FROM t WHERE id = 1.0", "SELECT name FROM t WHERE id = 1.5"),
            ("SELECT name FROM t WHERE id = 10000000000", "SELECT name FROM t WHERE id = 1"),
            ("SELECT id FROM t WHERE big > 2147483648", "SELECT id FROM t WHERE big > -8"),
            ("SELECT id FROM t WHERE score > 1.25", "SELECT id FROM t WHERE score = '-2.25'"),
            ("SELECT id FROM t WHERE born > '2000-01-01'", "SELECT id FROM t WHERE born = 'garbage'"),
            ("SELECT id FROM t WHERE c = 'ab'", "SELECT id FROM t WHERE c = 'abcd'"),
            ("SELECT id FROM t WHERE v = 'x'", "SELECT id FROM t WHERE v = 'toolongvalue'"),
            ("SELECT id FROM t WHERE flag = 'true'", "SELECT id FROM t WHERE flag = 'maybe'"),
            ("SELECT id FROM t WHERE name = 'it''s'", "SELECT id FROM t WHERE name = ''"),
            ("SELECT id FROM t WHERE id IN (1, 2, '-1')", "SELECT id FROM t WHERE id IN (5, 6, 'z')"),
            ("SELECT id FROM t WHERE id BETWEEN -1 AND 1", "SELECT id FROM t WHERE id BETWEEN 2 AND 1.5"),
            ("SELECT id FROM t WHERE id + 1 = 3", "SELECT id FROM t WHERE id * 2 > 2147483647 + 1"),
            ("SELECT id FROM t WHERE 5 / 2 = id", "SELECT id FROM t WHERE 5 / 0 = id"),
            (
                "SELECT id FROM t WHERE id = (SELECT max(id) FROM t WHERE id < 2)",
                "SELECT id FROM t WHERE id = (SELECT max(id) FROM t WHERE id < -5)",
            ),
            (
                "UPDATE t SET score = score + 1.5, big = big - 3 WHERE id = 1",
                "UPDATE t SET score = score + -0.125, big = big - 3 WHERE id = -1",
            ),
            ("UPDATE t SET score = 99999.5 WHERE id = 2", "UPDATE t SET score = 123456 WHERE id = 2"),
            ("UPDATE t SET v = 'abcde' WHERE id = 2", "UPDATE t SET v = 'abcdef' WHERE id = 2"),
            (
                "INSERT INTO t (id, name, score) VALUES (10, 'x', 1.234)",
                "INSERT INTO t (id, name, score) VALUES (11, 'y', 2)",
            ),
            ("INSERT INTO t (id, big) VALUES (12, 1)", "INSERT INTO t (id, big) VALUES (13, 3000000000)"),
            ("INSERT INTO t (id, name) VALUES (14, 'a')", "INSERT INTO t (id, name) VALUES (3000000000, 'a')"),
            (
                "INSERT INTO t (id, born) VALUES (15, '2020-02-29')",
                "INSERT INTO t (id, born) VALUES (16, '2021-02-29')",
            ),
            ("INSERT INTO t (id) VALUES (10)", "DELETE FROM t WHERE id = 10"),
            ("SELECT count(*) FROM t", "SELECT id FROM t WHERE now() > '2000-01-01' AND id = 1"),
            ("DELETE FROM t WHERE id BETWEEN 11 AND 12", "SELECT id, name, score, big, born, v FROM t WHERE id > -100"),
        ];
        for (first, second) in statements {
            for sql in [first, second, first, second] {
                let ours = outcome(&mut shaped, sql).await;
                let theirs = outcome(&mut plain, &format!("/* plain */ {sql}")).await;
                assert_eq!(ours, theirs, "{sql}");
            }
        }
        // Each pair has one or two shapes (literal types differ), and
        // every one is planned; the plain session planned only SETUP's.
        assert!(planned(&shaped) > statements.len(), "{} shapes planned", planned(&shaped));
        assert_eq!(planned(&plain), 1);
    }

    #[tokio::test]
    async fn schema_changes_replan() {
        let (_store, mut s) = session().await;
        let count = |o: &str| o.matches("Column {").count();
        let before = outcome(&mut s, "SELECT * FROM t WHERE id = 1").await;
        s.run("ALTER TABLE t ADD COLUMN extra INT").await.pop().expect("result").expect("alter");
        let after = outcome(&mut s, "SELECT * FROM t WHERE id = 2").await;
        assert_eq!((count(&before), count(&after)), (8, 9));

        // A shape refused because its table was missing is tried again
        // once the table exists.
        assert_eq!(outcome(&mut s, "SELECT a FROM u WHERE a = 1").await, "error UndefinedTable");
        s.run("CREATE TABLE u (a TEXT)").await.pop().expect("result").expect("create");
        s.run("/* */ INSERT INTO u VALUES ('1')").await.pop().expect("result").expect("insert");
        let planned_before = planned(&s);
        assert_eq!(
            outcome(&mut s, "SELECT a FROM u WHERE a = '1'").await,
            outcome(&mut s, "/* */ SELECT a FROM u WHERE a = '1'").await
        );
        assert_eq!(planned(&s), planned_before + 1);
    }

    fn plain(sql: &str) -> bool {
        let shape = literals::shape(sql).expect("shape");
        let stmt = parse_pg(shape.template()).expect("parses").pop().expect("one statement");
        params_in_plain_places(&stmt, shape.len())
    }

    #[test]
    fn parameters_stand_only_where_literals_mean_values() {
        for sql in [
            "UPDATE pgbench_accounts SET abalance = abalance + -42 WHERE aid = 7",
            "SELECT abalance FROM pgbench_accounts WHERE aid = 7",
            "INSERT INTO h (tid, bid, mtime) VALUES (1, 2, CURRENT_TIMESTAMP), (3, 4, now())",
            "DELETE FROM t WHERE a IN (1, 2, 3) AND b BETWEEN 'a' AND 'b'",
            "SELECT a FROM t WHERE b = (SELECT max(c) FROM u WHERE d > 5)",
        ] {
            assert!(plain(sql), "{sql}");
        }
        for sql in [
            "SELECT 1",
            "SELECT a FROM t ORDER BY 1",
            "SELECT a FROM t GROUP BY 1",
            "SELECT a FROM t LIMIT 5",
            "SELECT substr(a, 2) FROM t",
            "SELECT a FROM t WHERE a = '5'::int",
            "SELECT a FROM t WHERE a LIKE 'x%'",
            "SELECT a FROM t WHERE b = 'x' || 'y'",
            "INSERT INTO t VALUES (1) ON CONFLICT (a) DO UPDATE SET b = 2",
        ] {
            assert!(!plain(sql), "{sql}");
        }
    }

    #[test]
    fn only_data_statements_are_tried() {
        assert!(data_statement("  select 1"));
        assert!(data_statement("WITH x AS (SELECT 1) SELECT * FROM x"));
        assert!(!data_statement("BEGIN"));
        assert!(!data_statement("selectx"));
        assert!(!data_statement("CREATE TABLE t (a int)"));
    }
}
