//! How big a browser query becomes once SQLite expands its CTEs, measured before SQLite sees it. SQLite
//! copies a CTE's body for every place that names it, and copies of copies for a CTE naming another:
//! a chain of CTEs each naming the one before twice is 2^depth copies, built while the statement is
//! prepared, where neither the progress handler nor the program-size limit reaches. Depth 20 took 25 s;
//! depth 26 grew Atlas to 24 GB and the kernel killed it. So the SQL is parsed first (sqlparser's SQLite
//! dialect) and every CTE weighed: 1 + the weight of each CTE its body names, counted per mention.
//! Only named reuse multiplies; text without `WITH` grows at most with its own length, so only SQL that
//! mentions `WITH` is parsed, and such SQL the parser cannot read is refused rather than guessed at.

use sqlparser::ast::{visit_relations, ObjectName, ObjectNamePart, Query, Visit, Visitor};
use sqlparser::dialect::SQLiteDialect;
use sqlparser::parser::Parser;
use std::collections::HashMap;
use std::ops::ControlFlow;

/// The most CTE copies a browser query may expand to. Ordinary queries stay in single digits; a CTE
/// named three times by a CTE named three times by a third is 40.
pub const MAX_EXPANSION: u64 = 10_000;

/// Why a query's shape is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// It would expand to more than `MAX_EXPANSION` copies of its CTEs.
    TooBig(u64),
    /// It has a WITH clause the parser could not read, so its expansion cannot be bounded.
    Unreadable(String),
}

/// The last part of a table name, as SQLite compares names: ASCII letters fold, nothing else does.
fn name_of(relation: &ObjectName) -> Option<String> {
    match relation.0.last()? {
        ObjectNamePart::Identifier(ident) => Some(ident.value.to_ascii_lowercase()),
        _ => None,
    }
}

/// Walks every query in pre-order, so a CTE is weighed after the CTEs it can name. Each WITH opens a
/// scope for the query it belongs to, as in SQLite: an inner CTE of the same name shadows an outer one
/// only inside that query. A name is weighed as the heaviest CTE of that name in any open scope, so a
/// shadowing CTE can never make a heavy one look light.
#[derive(Default)]
struct Weigher {
    scopes: Vec<HashMap<String, u64>>,
    heaviest: u64,
}

impl Weigher {
    fn weight_of(&self, name: &str) -> Option<u64> {
        self.scopes.iter().filter_map(|scope| scope.get(name)).copied().max()
    }

    /// 1 + the weight of every known CTE `node` names (each mention counts).
    fn weigh(&self, node: &impl Visit) -> u64 {
        let mut total: u64 = 1;
        let _ = visit_relations(node, |relation| {
            if let Some(weight) = name_of(relation).and_then(|name| self.weight_of(&name)) {
                total = total.saturating_add(weight);
            }
            ControlFlow::<()>::Continue(())
        });
        total
    }
}

impl Visitor for Weigher {
    type Break = u64;

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<u64> {
        self.scopes.push(HashMap::new());
        for cte in query.with.iter().flat_map(|with| &with.cte_tables) {
            // A recursive CTE names itself; it is not yet known here, so that mention weighs nothing.
            let weight = self.weigh(&*cte.query);
            if weight > MAX_EXPANSION {
                return ControlFlow::Break(weight);
            }
            let scope = self.scopes.last_mut().expect("pushed above");
            let name = cte.alias.name.value.to_ascii_lowercase();
            let kept = scope.get(&name).copied().unwrap_or(0).max(weight);
            scope.insert(name, kept);
        }
        // The query's own body, with its CTEs known: a statement's main query is weighed here too.
        self.heaviest = self.heaviest.max(self.weigh(&*query.body));
        if self.heaviest > MAX_EXPANSION {
            return ControlFlow::Break(self.heaviest);
        }
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<u64> {
        self.scopes.pop();
        ControlFlow::Continue(())
    }
}

/// Whether `sql` mentions WITH as a word (it may then define CTEs).
fn mentions_with(sql: &str) -> bool {
    sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).any(|word| word.eq_ignore_ascii_case("with"))
}

/// Checks the query's expansion; `Ok` with its weight (1 without CTEs).
pub fn check(sql: &str) -> Result<u64, Shape> {
    if !mentions_with(sql) {
        return Ok(1);
    }
    let statements = Parser::parse_sql(&SQLiteDialect {}, sql).map_err(|err| Shape::Unreadable(err.to_string()))?;
    let mut weigher = Weigher { heaviest: 1, ..Weigher::default() };
    for statement in &statements {
        if let ControlFlow::Break(weight) = statement.visit(&mut weigher) {
            return Err(Shape::TooBig(weight));
        }
    }
    Ok(weigher.heaviest)
}

/// A chain of CTEs, each naming the one before twice: `depth` levels expand to 2^(depth+1) - 1 copies.
#[cfg(test)]
pub(super) fn doubling(depth: usize) -> String {
    let mut parts = vec!["c0(x) AS (SELECT 1)".to_owned()];
    for i in 1..=depth {
        parts.push(format!("c{i}(x) AS (SELECT a.x FROM c{} a UNION ALL SELECT b.x FROM c{} b)", i - 1, i - 1));
    }
    format!("WITH {} SELECT count(*) FROM c{depth}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_doubling_chain_is_weighed_and_refused_past_the_limit() {
        assert_eq!(check(&doubling(3)), Ok(1 + 15), "c3 weighs 15 and the statement names it once");
        assert!(matches!(check(&doubling(14)), Err(Shape::TooBig(_))));
        assert!(matches!(check(&doubling(60)), Err(Shape::TooBig(_))), "no overflow at any depth");
    }

    #[test]
    fn names_compare_like_sqlites_and_nested_withs_count() {
        let nested = "WITH a AS (SELECT 1) SELECT * FROM (WITH b AS (SELECT * FROM A, \"a\", a) SELECT * FROM b, B)";
        assert_eq!(check(nested), Ok(1 + 4 + 4), "b weighs 1 + 3 mentions of a, and the inner query names it twice");
    }

    #[test]
    fn a_shadowing_cte_or_a_unicode_lookalike_cannot_hide_a_heavy_one() {
        // SQLite folds ASCII only: cÄ and cä are two names, so the light cä must not replace cÄ's weight.
        let mut parts = vec!["cÄ0(x) AS (SELECT 1)".to_owned()];
        for i in 1..=14 {
            parts.push(format!("cä{}(x) AS (SELECT 1)", i - 1));
            parts.push(format!("cÄ{i}(x) AS (SELECT a.x FROM cÄ{} a UNION ALL SELECT b.x FROM cÄ{} b)", i - 1, i - 1));
        }
        let lookalikes = format!("WITH {} SELECT count(*) FROM cÄ14", parts.join(", "));
        assert!(matches!(check(&lookalikes), Err(Shape::TooBig(_))), "{:?}", check(&lookalikes));
        // An inner WITH of the same name, in a sibling subquery, must not lighten the outer chain.
        let mut inner = "SELECT count(*) FROM c14".to_owned();
        for i in (1..=14).rev() {
            inner = format!(
                "WITH c{i}(x) AS (SELECT a.x FROM c{} a UNION ALL SELECT b.x FROM c{} b) \
                 SELECT * FROM (WITH c{i}(x) AS (SELECT 1) SELECT 1) s{i}, ({inner}) n{i}",
                i - 1,
                i - 1
            );
        }
        let shadowed = format!("WITH c0(x) AS (SELECT 1) SELECT * FROM ({inner})");
        assert!(matches!(check(&shadowed), Err(Shape::TooBig(_))), "{:?}", check(&shadowed));
    }

    #[test]
    fn ordinary_queries_pass_and_unreadable_withs_are_refused() {
        assert_eq!(check("SELECT * FROM tasks WHERE title = 'with'"), Ok(1));
        let recursive = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10) SELECT i FROM n";
        assert_eq!(check(recursive), Ok(2));
        assert!(matches!(check("WITH x AS (SELEC 1) SELECT 1"), Err(Shape::Unreadable(_))));
    }
}
