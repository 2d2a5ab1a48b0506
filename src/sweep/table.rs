//! A sweep's rows as a CSV table.

use crate::error::{Error, Result};
use crate::sweep::Row;

/// The CSV table's columns.
const COLUMNS: [&str; 12] = [
    "candidate",
    "branch",
    "new_layers",
    "freeze_below",
    "reused",
    "frozen",
    "new",
    "params_trained",
    "best_epoch",
    "val_accuracy",
    "test_accuracy",
    "seconds",
];

/// `rows` as CSV: a header, then a line per candidate (no test accuracy without a test split).
pub fn to_csv(rows: &[Row]) -> Result<Vec<u8>> {
    let bad = |e: &dyn std::fmt::Display| Error::Invalid(format!("cannot write the sweep's table as CSV: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS).map_err(|e| bad(&e))?;
    for r in rows {
        let c = &r.candidate;
        let num = |v: f64| v.to_string();
        w.write_record([
            c.name.clone(),
            c.branch.clone(),
            c.new_layers.clone(),
            c.freeze_below.clone().unwrap_or_default(),
            c.reused.to_string(),
            c.frozen.to_string(),
            c.new.to_string(),
            r.params_trained.to_string(),
            r.best_epoch.to_string(),
            num(r.val_accuracy),
            r.test_accuracy.map(num).unwrap_or_default(),
            num(r.seconds),
        ])
        .map_err(|e| bad(&e))?;
    }
    w.into_inner().map_err(|e| bad(&e))
}
