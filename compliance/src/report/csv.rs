//! The report as CSV tables (RFC 4180: comma-separated, CRLF line ends, fields with a
//! comma, quote or line break quoted, quotes doubled), one per section. A text field
//! that a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a tab
//! or a carriage return) is prefixed with `'`: labels come from operators and asset
//! names from issuers, and a report must not run what they wrote.

use super::Report;

/// A field as CSV writes it.
fn field(s: &str) -> String {
    let formula = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let s = if formula {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut out = header.join(",");
    out.push_str("\r\n");
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| field(c)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

impl Report {
    /// The report's tables as `(file name, CSV)`: `supply.csv`, `positions.csv`,
    /// `series.csv`, `flows.csv`, `largest.csv`, `alerts.csv`.
    pub fn csv_tables(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "supply.csv",
                table(
                    &["asset", "tag", "issued", "deposited", "burnt", "held"],
                    self.supply.iter().map(|s| {
                        vec![
                            s.asset.clone(),
                            s.tag.clone(),
                            s.issued.to_string(),
                            s.deposited.to_string(),
                            s.burnt.to_string(),
                            s.held.to_string(),
                        ]
                    }),
                ),
            ),
            (
                "positions.csv",
                table(
                    &["participant", "asset", "value"],
                    self.positions
                        .iter()
                        .map(|p| vec![p.participant.clone(), p.asset.clone(), p.value.to_string()]),
                ),
            ),
            (
                "series.csv",
                table(
                    &["participant", "asset", "height", "value"],
                    self.series.iter().flat_map(|s| {
                        s.points.iter().map(|(h, v)| {
                            vec![
                                s.participant.clone(),
                                s.asset.clone(),
                                h.to_string(),
                                v.to_string(),
                            ]
                        })
                    }),
                ),
            ),
            (
                "flows.csv",
                table(
                    &["from_height", "to_height", "from", "to", "asset", "value"],
                    self.flows.iter().map(|f| {
                        vec![
                            f.from_height.to_string(),
                            f.to_height.to_string(),
                            f.from.clone(),
                            f.to.clone(),
                            f.asset.clone(),
                            f.value.to_string(),
                        ]
                    }),
                ),
            ),
            (
                "largest.csv",
                table(
                    &["tx", "height", "time_ms", "from", "to", "asset", "value"],
                    self.largest.iter().map(|m| {
                        vec![
                            m.tx.clone(),
                            m.height.to_string(),
                            m.time_ms.to_string(),
                            m.from.clone(),
                            m.to.clone(),
                            m.asset.clone(),
                            m.value.to_string(),
                        ]
                    }),
                ),
            ),
            (
                "alerts.csv",
                table(
                    &[
                        "kind",
                        "tx",
                        "height",
                        "participant",
                        "asset",
                        "value",
                        "detail",
                    ],
                    self.alerts.iter().map(|a| {
                        vec![
                            a.kind.as_str().to_string(),
                            a.tx.clone(),
                            a.height.to_string(),
                            a.participant.clone(),
                            a.asset.clone(),
                            a.value.to_string(),
                            a.detail.clone(),
                        ]
                    }),
                ),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_separators_are_quoted_and_quotes_doubled() {
        assert_eq!(field("Bank A"), "Bank A");
        assert_eq!(field("Bank, A"), "\"Bank, A\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(
            table(&["a", "b"], [vec!["1".into(), "x,y".into()]].into_iter()),
            "a,b\r\n1,\"x,y\"\r\n"
        );
    }
}
