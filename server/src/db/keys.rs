//! A text column matched against a list of keys, as a statement that is prepared once per
//! connection and list size class. diesel's `eq_any` marks its `IN (?, ?, …)` as never to be
//! cached, because its length varies, so every execution prepared it anew: 10 % of a
//! lookup's time. Here the list is padded to the next power of two by repeating its last key
//! (a repeated key matches nothing twice), so a few statement texts serve every length.

use diesel::expression::{AppearsOnTable, Expression, ValidGrouping};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Bool, Text};
use diesel::QueryResult;

/// `column IN (?, …)` over `keys`, padded; see the module.
#[derive(Debug, Clone)]
pub struct InKeys<C> {
    column: C,
    keys: Vec<String>,
}

impl<C> InKeys<C> {
    /// At least one key: an empty list is the caller's to short-circuit.
    pub fn new<K: AsRef<str>>(column: C, keys: &[K]) -> InKeys<C> {
        let mut keys: Vec<String> = keys.iter().map(|k| k.as_ref().to_owned()).collect();
        if let Some(last) = keys.last().cloned() {
            keys.resize(keys.len().next_power_of_two(), last);
        }
        InKeys { column, keys }
    }
}

impl<C: Expression<SqlType = Text>> Expression for InKeys<C> {
    type SqlType = Bool;
}

impl<C: AppearsOnTable<QS> + Expression<SqlType = Text>, QS> AppearsOnTable<QS> for InKeys<C> {}

impl<C: ValidGrouping<G>, G> ValidGrouping<G> for InKeys<C> {
    type IsAggregate = C::IsAggregate;
}

impl<C: QueryId> QueryId for InKeys<C> {
    type QueryId = ();
    // The statement text depends on the list's size class: found in the cache by its text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C: QueryFragment<DB>, DB: diesel::backend::Backend> QueryFragment<DB> for InKeys<C>
where
    DB: diesel::sql_types::HasSqlType<Text>,
    String: diesel::serialize::ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        if self.keys.is_empty() {
            out.push_sql("1=0");
            return Ok(());
        }
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (");
        for (i, key) in self.keys.iter().enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            out.push_bind_param::<Text, String>(key)?;
        }
        out.push_sql(")");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_padded_to_a_power_of_two_with_their_last_key() {
        let k = InKeys::new((), &["a", "b", "c"]);
        assert_eq!(k.keys, ["a", "b", "c", "c"]);
        assert_eq!(InKeys::new((), &["a"]).keys, ["a"]);
        assert_eq!(InKeys::new((), &["a"; 5]).keys.len(), 8);
        assert!(InKeys::new((), &[] as &[&str]).keys.is_empty());
    }
}
