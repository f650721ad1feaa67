//! What a filtered view holds, read in one pass over at most [`COUNT_CAP`] + 1 matching rows: how many
//! rows match (capped as the table list's counts are) and the facets, the columns with few distinct values
//! there (a status, a severity, an outcome), each value with its count. A view whose pass outruns the
//! time limit has no summary; its rows are still shown. A viewer's counts are of text as shown to them.

use super::filter::View;
use super::guard::{Guarded, Secrets};
use super::rows::{failed, RowsRefusal};
use super::tables::{quoted, ColumnInfo, COUNT_CAP};
use super::value::to_json;
use rusqlite::Connection;
use std::collections::HashMap;
use std::time::Duration;

/// A column is a facet when it has from 2 to this many distinct values among the rows read.
pub const MAX_FACET_VALUES: usize = 20;
/// A text longer than this is prose, not a category: its column is no facet.
const MAX_FACET_TEXT: usize = 120;

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Facet {
    pub column: String,
    /// Each value with how many of the rows read hold it, most first.
    pub values: Vec<(serde_json::Value, u64)>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Matching rows, at most `COUNT_CAP`.
    pub rows: i64,
    /// More than `COUNT_CAP` rows match; facet counts are of the first `COUNT_CAP`.
    pub rows_capped: bool,
    pub facets: Vec<Facet>,
}

/// One column's tally while the rows are read; None once it has too many values to be a facet.
type Tally = Option<HashMap<String, (serde_json::Value, u64)>>;

/// The summary of the view `filters` make of `table`, or None when reading it took too long.
pub fn summarize(
    conn: &Connection,
    table: &str,
    filters: &[(String, String)],
    hide_payloads: bool,
    time_limit: Duration,
) -> Result<Option<Summary>, RowsRefusal> {
    let view = View::open(conn, table, filters, hide_payloads)?;
    let (columns, params) = (&view.columns, &view.params);
    let candidates: Vec<&ColumnInfo> = columns
        .iter()
        .filter(|c| c.readable(table, hide_payloads) && !c.primary_key)
        .filter(|c| !c.declared_type.eq_ignore_ascii_case("BLOB"))
        .collect();
    // A viewer's facets count the values as shown to them (redacted), never what redaction hides.
    let selected = if candidates.is_empty() {
        "1".to_owned()
    } else {
        candidates.iter().map(|c| c.expr(hide_payloads)).collect::<Vec<_>>().join(", ")
    };
    let filter = view.where_clause();
    let sql = format!("SELECT {selected} FROM {}{filter} LIMIT {}", quoted(table), COUNT_CAP + 1);
    let guarded = Guarded::new(conn, time_limit, Secrets::Hide, hide_payloads).map_err(failed)?;
    let read = || -> rusqlite::Result<(i64, Vec<Tally>)> {
        let mut statement = guarded.conn().prepare(&sql)?;
        let mut rows = statement.query(rusqlite::params_from_iter(params.iter()))?;
        let mut tallies: Vec<Tally> = candidates.iter().map(|_| Some(HashMap::new())).collect();
        let mut count = 0;
        while let Some(row) = rows.next()? {
            count += 1;
            if count > COUNT_CAP {
                break;
            }
            for (i, tally) in tallies.iter_mut().enumerate() {
                let Some(seen) = tally else { continue };
                let value = to_json(row.get_ref(i)?);
                let prose = value.as_str().is_some_and(|text| text.chars().count() > MAX_FACET_TEXT);
                let key = value.to_string();
                if !seen.contains_key(&key) && (prose || seen.len() == MAX_FACET_VALUES) {
                    *tally = None;
                    continue;
                }
                seen.entry(key).or_insert((value, 0)).1 += 1;
            }
        }
        Ok((count, tallies))
    };
    let (count, tallies) = match read() {
        Ok(read) => read,
        Err(_) if guarded.timed_out() => return Ok(None),
        Err(e) => return Err(failed(e)),
    };
    let read_rows = count.min(COUNT_CAP) as u64;
    let facets = candidates
        .iter()
        .zip(tallies)
        .filter_map(|(column, tally)| {
            let mut values: Vec<(serde_json::Value, u64)> = tally?.into_values().collect();
            // Two values at least (one says nothing), and fewer than the rows (an id-like column is no facet).
            if values.len() < 2 || values.len() as u64 >= read_rows {
                return None;
            }
            values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.to_string().cmp(&b.0.to_string())));
            Some(Facet { column: column.name.clone(), values })
        })
        .collect();
    Ok(Some(Summary { rows: count.min(COUNT_CAP), rows_capped: count > COUNT_CAP, facets }))
}
