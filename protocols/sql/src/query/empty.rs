//! Queries over catalog relations that are always empty here.
//!
//! psql's `\d TABLE` and GUI tools ask about row security policies,
//! extended statistics, publications and inheritance, features Orbit does
//! not have, with expressions over arrays and set-returning functions that
//! the engine does not evaluate. The answer is known without evaluating
//! anything: a query that inner-joins one of those empty relations has no
//! rows. Such a query is planned as a stand-in with the same column names
//! and no rows.

use sqlparser::ast::{self, Expr, JoinOperator, SelectItem, SetExpr, SetOperator, TableFactor, TableWithJoins};

use crate::expr::compile::ident_name;

/// A stand-in for `q` if `q` provably has no rows.
pub(crate) fn empty_stand_in(q: &ast::Query) -> Option<ast::Query> {
    if !set_is_empty(&q.body) {
        return None;
    }
    let names = column_names(&q.body)?;
    let items: Vec<String> =
        names.iter().map(|n| format!("CAST(NULL AS TEXT) AS \"{}\"", n.replace('"', "\"\""))).collect();
    let sql = format!("SELECT {} WHERE false", items.join(", "));
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    match sqlparser::parser::Parser::parse_sql(&dialect, &sql).ok()?.pop()? {
        ast::Statement::Query(q) => Some(*q),
        _ => None,
    }
}

fn set_is_empty(body: &SetExpr) -> bool {
    match body {
        SetExpr::Select(s) => select_is_empty(s),
        SetExpr::Query(q) => set_is_empty(&q.body),
        SetExpr::SetOperation { op, left, right, .. } => match op {
            SetOperator::Union => set_is_empty(left) && set_is_empty(right),
            SetOperator::Except | SetOperator::Minus => set_is_empty(left),
            SetOperator::Intersect => set_is_empty(left) || set_is_empty(right),
        },
        _ => false,
    }
}

fn select_is_empty(s: &ast::Select) -> bool {
    // An aggregate without GROUP BY answers one row even over nothing.
    let grouped = !matches!(&s.group_by, ast::GroupByExpr::Expressions(e, _) if e.is_empty());
    if !grouped && s.projection.iter().any(has_aggregate) {
        return false;
    }
    s.from.iter().any(from_is_empty)
}

fn has_aggregate(item: &SelectItem) -> bool {
    match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => expr_aggregates(e),
        _ => false,
    }
}

/// Whether `e` aggregates at this query level. Subqueries are their own
/// level, and not looked into; an expression form not listed here is taken
/// to aggregate, which only ever means "plan it normally".
fn expr_aggregates(e: &Expr) -> bool {
    match e {
        Expr::Function(f) => {
            let name = f.name.0.last().and_then(|p| p.as_ident()).map(ident_name).unwrap_or_default();
            crate::agg::AggFunc::lookup(&name).is_some()
                || match &f.args {
                    ast::FunctionArguments::List(l) => l.args.iter().any(|a| match a {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e))
                        | ast::FunctionArg::Named { arg: ast::FunctionArgExpr::Expr(e), .. } => expr_aggregates(e),
                        _ => false,
                    }),
                    _ => false,
                }
        }
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) | Expr::Value(_) | Expr::TypedString(_) => false,
        Expr::Subquery(_) | Expr::Exists { .. } => false,
        Expr::Nested(e) | Expr::UnaryOp { expr: e, .. } | Expr::Cast { expr: e, .. } => expr_aggregates(e),
        Expr::IsNull(e) | Expr::IsNotNull(e) | Expr::IsTrue(e) | Expr::IsFalse(e) => expr_aggregates(e),
        Expr::BinaryOp { left, right, .. } => expr_aggregates(left) || expr_aggregates(right),
        Expr::AnyOp { left, right, .. } | Expr::AllOp { left, right, .. } => {
            expr_aggregates(left) || expr_aggregates(right)
        }
        Expr::Case { operand, conditions, else_result, .. } => {
            operand.as_deref().is_some_and(expr_aggregates)
                || conditions.iter().any(|c| expr_aggregates(&c.condition) || expr_aggregates(&c.result))
                || else_result.as_deref().is_some_and(expr_aggregates)
        }
        _ => true,
    }
}

/// Whether a FROM item has no rows: its first relation is empty (and every
/// join keeps only rows of it, or is inner), or an inner-joined one is.
fn from_is_empty(t: &TableWithJoins) -> bool {
    if is_empty_relation(&t.relation) {
        return t.joins.iter().all(|j| {
            matches!(
                j.join_operator,
                JoinOperator::Join(_)
                    | JoinOperator::Inner(_)
                    | JoinOperator::Left(_)
                    | JoinOperator::LeftOuter(_)
                    | JoinOperator::CrossJoin(_)
            )
        });
    }
    t.joins.iter().any(|j| {
        matches!(j.join_operator, JoinOperator::Join(_) | JoinOperator::Inner(_) | JoinOperator::CrossJoin(_))
            && is_empty_relation(&j.relation)
    })
}

fn is_empty_relation(f: &TableFactor) -> bool {
    let TableFactor::Table { name, .. } = f else { return false };
    let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident().map(ident_name)).collect();
    match parts.as_slice() {
        [schema, rel] if schema == "pg_catalog" => crate::pgdescribe::is_empty_relation(rel),
        [rel] => crate::pgdescribe::is_empty_relation(rel),
        _ => false,
    }
}

/// The output column names of a query body, as PostgreSQL names them.
fn column_names(body: &SetExpr) -> Option<Vec<String>> {
    match body {
        SetExpr::Select(s) => s
            .projection
            .iter()
            .map(|item| match item {
                SelectItem::ExprWithAlias { alias, .. } => Some(ident_name(alias)),
                SelectItem::UnnamedExpr(e) => Some(expr_name(e)),
                _ => None,
            })
            .collect(),
        SetExpr::Query(q) => column_names(&q.body),
        SetExpr::SetOperation { left, .. } => column_names(left),
        _ => None,
    }
}

fn expr_name(e: &Expr) -> String {
    match e {
        Expr::Identifier(i) => ident_name(i),
        Expr::CompoundIdentifier(parts) => parts.last().map(ident_name).unwrap_or_default(),
        Expr::Function(f) => f.name.0.last().and_then(|p| p.as_ident()).map(ident_name).unwrap_or_default(),
        Expr::Cast { expr, .. } => match &**expr {
            inner @ (Expr::Identifier(_) | Expr::CompoundIdentifier(_) | Expr::Function(_)) => expr_name(inner),
            _ => "?column?".into(),
        },
        _ => "?column?".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(sql: &str) -> ast::Query {
        match sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, sql)
            .expect("parses")
            .remove(0)
        {
            ast::Statement::Query(q) => *q,
            other => panic!("not a query: {other}"),
        }
    }

    #[test]
    fn empty_relations_make_empty_queries() {
        let q =
            query("SELECT pol.polname, array_to_string(array(select 1), ',') AS roles FROM pg_catalog.pg_policy pol");
        let stand_in = empty_stand_in(&q).expect("empty");
        assert_eq!(
            stand_in.to_string(),
            r#"SELECT CAST(NULL AS TEXT) AS "polname", CAST(NULL AS TEXT) AS "roles" WHERE false"#
        );
        assert!(
            empty_stand_in(&query("SELECT c.oid FROM pg_class c, pg_inherits i WHERE c.oid = i.inhparent")).is_some()
        );
        assert!(empty_stand_in(&query("SELECT c.oid FROM pg_class c LEFT JOIN pg_inherits i ON true")).is_none());
        assert!(empty_stand_in(&query("SELECT count(*) FROM pg_policy")).is_none(), "one row: 0");
        assert!(empty_stand_in(&query("SELECT 1 FROM pg_policy UNION SELECT 2 FROM pg_class")).is_none());
        assert!(empty_stand_in(&query("SELECT 1 FROM pg_policy UNION SELECT 2 FROM pg_inherits")).is_some());
    }
}
