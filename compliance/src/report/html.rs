//! The report as one self-contained HTML page: inline CSS and SVG, no script and no
//! external resource (fonts, images, styles), so it opens offline and can be archived
//! with the audit. Charts: each asset's positions over time per participant, the flows
//! between participants per asset, and the largest transactions.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::svg::{bar_chart, colour, escape, matrix, step_chart, Line, BAR};
use super::text::amount;
use super::Report;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:24px;color:#111;max-width:1100px}\
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:4px 8px;font-size:13px}\
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f4f4f4;text-align:left}\
.alert{color:#a00}.chart{display:block;margin:8px 0}";

fn table(out: &mut String, header: &[&str], rows: &[Vec<(String, bool)>]) {
    out.push_str("<table><tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr>");
    for row in rows {
        out.push_str("<tr>");
        for (cell, numeric) in row {
            let class = if *numeric { r#" class="n""# } else { "" };
            let _ = write!(out, "<td{class}>{}</td>", escape(cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
}

fn text(s: &str) -> (String, bool) {
    (s.to_string(), false)
}

fn num(v: u128) -> (String, bool) {
    (amount(v), true)
}

impl Report {
    /// The report as a self-contained HTML page.
    pub fn to_html(&self) -> String {
        // One colour per participant across every chart.
        let participants: BTreeSet<&str> = self
            .series
            .iter()
            .map(|s| s.participant.as_str())
            .chain(self.positions.iter().map(|p| p.participant.as_str()))
            .collect();
        let colour_of: BTreeMap<&str, &str> = participants
            .iter()
            .enumerate()
            .map(|(i, p)| (*p, colour(i)))
            .collect();
        let mut out = String::new();
        let title = format!("Sable audit report: {}", self.scope);
        let _ = write!(
            out,
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body><h1>{}</h1>",
            escape(&title),
            escape(&title)
        );
        let _ = write!(
            out,
            "<p id=\"summary\">Up to block {}: {} transactions, {} notes, {} spends, {} alerts.</p>",
            self.height,
            self.totals.transactions,
            self.totals.notes,
            self.totals.spends,
            self.alerts.len()
        );

        out.push_str("<h2>Supply per asset</h2>");
        let rows: Vec<_> = self
            .supply
            .iter()
            .map(|s| {
                vec![
                    text(&s.asset),
                    num(s.issued),
                    num(s.deposited),
                    num(s.burnt),
                    num(s.held),
                ]
            })
            .collect();
        table(
            &mut out,
            &["asset", "issued", "deposited", "burnt", "held"],
            &rows,
        );

        out.push_str("<h2>Positions over time</h2>");
        let assets: BTreeSet<&str> = self.series.iter().map(|s| s.asset.as_str()).collect();
        for asset in &assets {
            let mut of_asset: Vec<_> = self.series.iter().filter(|s| s.asset == *asset).collect();
            of_asset.sort_by(|a, b| a.participant.cmp(&b.participant));
            let lines: Vec<Line<'_>> = of_asset
                .into_iter()
                .map(|s| Line {
                    label: &s.participant,
                    colour: colour_of
                        .get(s.participant.as_str())
                        .copied()
                        .unwrap_or("#000"),
                    points: &s.points,
                })
                .collect();
            let _ = write!(out, "<h3>{}</h3>", escape(asset));
            out.push_str(&step_chart(
                &format!("Positions in {asset}"),
                "block height",
                &lines,
            ));
        }

        out.push_str("<h2>Flows between participants</h2>");
        let flow_assets: BTreeSet<&str> = self.flows.iter().map(|f| f.asset.as_str()).collect();
        for asset in &flow_assets {
            let mut names: BTreeSet<&str> = BTreeSet::new();
            let mut sums: BTreeMap<(&str, &str), u128> = BTreeMap::new();
            for f in self.flows.iter().filter(|f| f.asset == *asset) {
                names.insert(&f.from);
                names.insert(&f.to);
                *sums.entry((&f.from, &f.to)).or_default() += f.value;
            }
            let names: Vec<String> = names.into_iter().map(str::to_string).collect();
            let _ = write!(out, "<h3>{} (sender → recipient)</h3>", escape(asset));
            out.push_str(&matrix(&format!("Flows of {asset}"), &names, |i, j| {
                sums.get(&(names[i].as_str(), names[j].as_str()))
                    .copied()
                    .unwrap_or(0)
            }));
        }

        out.push_str("<h2>Largest transactions</h2>");
        let bars: Vec<(String, u128, &str)> = self
            .largest
            .iter()
            .map(|m| {
                (
                    format!("block {}: {} → {} ({})", m.height, m.from, m.to, m.asset),
                    m.value,
                    BAR,
                )
            })
            .collect();
        out.push_str(&bar_chart("Largest transactions", &bars));
        let rows: Vec<_> = self
            .largest
            .iter()
            .map(|m| {
                vec![
                    (m.height.to_string(), true),
                    text(&m.tx),
                    text(&m.from),
                    text(&m.to),
                    text(&m.asset),
                    num(m.value),
                ]
            })
            .collect();
        table(
            &mut out,
            &["block", "transaction", "from", "to", "asset", "value"],
            &rows,
        );

        out.push_str("<h2>Positions now</h2>");
        let rows: Vec<_> = self
            .positions
            .iter()
            .map(|p| vec![text(&p.participant), text(&p.asset), num(p.value)])
            .collect();
        table(&mut out, &["participant", "asset", "value"], &rows);

        let _ = write!(out, "<h2>Alerts ({})</h2>", self.alerts.len());
        out.push_str("<ul id=\"alerts\">");
        for a in &self.alerts {
            let _ = write!(
                out,
                "<li class=\"alert\">[{}] block {}: {}</li>",
                a.kind.as_str(),
                a.height,
                escape(&a.detail)
            );
        }
        out.push_str("</ul></body></html>\n");
        out
    }
}
