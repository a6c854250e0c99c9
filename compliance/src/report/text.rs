//! The report as a terminal summary: aligned tables, largest values first, at most a
//! screenful per section (the JSON and CSV carry everything).

use std::fmt::Write;

use super::Report;

/// Rows shown per section.
const ROWS: usize = 15;

/// Groups digits in threes (`1 234 567`), as a reader scans amounts.
pub(crate) fn amount(v: u128) -> String {
    let digits = v.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Left-aligned text columns, right-aligned numbers (cells starting with a digit).
fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&width)
            .map(|(c, w)| {
                if c.starts_with(|ch: char| ch.is_ascii_digit()) {
                    format!("{c:>w$}")
                } else {
                    format!("{c:<w$}")
                }
            })
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let _ = writeln!(out, "  {}", line(header.to_vec()));
    for row in rows.iter().take(ROWS) {
        let _ = writeln!(out, "  {}", line(row.iter().map(String::as_str).collect()));
    }
    if rows.len() > ROWS {
        let _ = writeln!(out, "  … and {} more", rows.len() - ROWS);
    }
}

impl Report {
    /// The report as a terminal summary.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Audit report: {}, up to block {} ({} transactions, {} notes, {} spends)",
            self.scope,
            self.height,
            self.totals.transactions,
            self.totals.notes,
            self.totals.spends
        );
        let _ = writeln!(out, "\nSupply per asset");
        let rows: Vec<Vec<String>> = self
            .supply
            .iter()
            .map(|s| {
                vec![
                    s.asset.clone(),
                    amount(s.issued),
                    amount(s.deposited),
                    amount(s.burnt),
                    amount(s.held),
                ]
            })
            .collect();
        table(
            &mut out,
            &["asset", "issued", "deposited", "burnt", "held"],
            &rows,
        );

        let _ = writeln!(out, "\nPositions at block {}", self.height);
        let rows: Vec<Vec<String>> = self
            .positions
            .iter()
            .map(|p| vec![p.participant.clone(), p.asset.clone(), amount(p.value)])
            .collect();
        table(&mut out, &["participant", "asset", "value"], &rows);

        let _ = writeln!(out, "\nValue moved between participants");
        let rows: Vec<Vec<String>> = self
            .totals
            .moved
            .iter()
            .map(|(a, v)| vec![a.clone(), amount(*v)])
            .collect();
        table(&mut out, &["asset", "moved"], &rows);

        let _ = writeln!(out, "\nLargest transactions");
        let rows: Vec<Vec<String>> = self
            .largest
            .iter()
            .map(|m| {
                vec![
                    m.height.to_string(),
                    m.tx[..16.min(m.tx.len())].to_string(),
                    m.from.clone(),
                    m.to.clone(),
                    m.asset.clone(),
                    amount(m.value),
                ]
            })
            .collect();
        table(
            &mut out,
            &["block", "tx", "from", "to", "asset", "value"],
            &rows,
        );

        let _ = writeln!(out, "\nAlerts: {}", self.alerts.len());
        for a in self.alerts.iter().take(ROWS) {
            let _ = writeln!(
                out,
                "  [{}] block {}: {}",
                a.kind.as_str(),
                a.height,
                a.detail
            );
        }
        if self.alerts.len() > ROWS {
            let _ = writeln!(out, "  … and {} more", self.alerts.len() - ROWS);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_grouped_in_threes() {
        assert_eq!(amount(0), "0");
        assert_eq!(amount(999), "999");
        assert_eq!(amount(1000), "1 000");
        assert_eq!(amount(1_234_567), "1 234 567");
    }
}
