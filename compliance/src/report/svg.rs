//! Inline SVG charts for the HTML report: no script, no external resource, so the
//! page renders the same offline, in any browser, years later.

use std::fmt::Write;

/// Series colours, distinct for readers with the common colour-vision deficiencies
/// (Okabe–Ito), then a few more.
pub(crate) const PALETTE: [&str; 10] = [
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000",
    "#7f7f7f", "#8c564b",
];

/// The colour of the largest transactions' bars (none of the palette's).
pub(crate) const BAR: &str = "#4d4d4d";

/// The colour of series `i`.
pub(crate) fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// Text made safe inside SVG and HTML elements and attributes.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const W: f64 = 720.0;
const H: f64 = 260.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 32.0;

/// One line of a step chart: its label, colour and `(x, y)` points in x order.
pub(crate) struct Line<'a> {
    pub label: &'a str,
    pub colour: &'a str,
    pub points: &'a [(u64, u128)],
}

/// A step chart of `lines` (a holding keeps its value until the next change), with
/// the x range, the y range from 0, and a legend.
pub(crate) fn step_chart(title: &str, x_label: &str, lines: &[Line<'_>]) -> String {
    let xs = lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
    let (x0, x1) = xs.fold((u64::MAX, 0), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let y1 = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .max()
        .unwrap_or(0)
        .max(1);
    let (x0, x1) = if x0 > x1 {
        (0, 1)
    } else {
        (x0, x1.max(x0 + 1))
    };
    let px = |x: u64| LEFT + (x - x0) as f64 / (x1 - x0) as f64 * (W - LEFT - RIGHT);
    let py = |y: u128| H - BOTTOM - y as f64 / y1 as f64 * (H - TOP - BOTTOM);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" role="img" viewBox="0 0 {W} {H}" width="{W}" height="{H}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        escape(title)
    );
    axes(&mut s, &super::text::amount(y1), x0, x1, x_label);
    for (i, l) in lines.iter().enumerate() {
        let mut d = String::new();
        for (j, (x, y)) in l.points.iter().enumerate() {
            if j == 0 {
                let _ = write!(d, "M{:.1},{:.1}", px(*x), py(*y));
            } else {
                let _ = write!(d, " H{:.1} V{:.1}", px(*x), py(*y));
            }
        }
        if let Some((_, y)) = l.points.last() {
            let _ = write!(d, " H{:.1} V{:.1}", px(x1), py(*y));
        }
        let _ = write!(
            s,
            r#"<path class="series" d="{d}" fill="none" stroke="{}" stroke-width="3"><title>{}</title></path>"#,
            l.colour,
            escape(l.label)
        );
        legend(&mut s, i, l.label, l.colour);
    }
    s.push_str("</svg>");
    s
}

fn axes(s: &mut String, y_max: &str, x0: u64, x1: u64, x_label: &str) {
    let (xl, xr, yb, yt) = (LEFT, W - RIGHT, H - BOTTOM, TOP);
    let _ = write!(
        s,
        r##"<path d="M{xl},{yt} V{yb} H{xr}" fill="none" stroke="#444" stroke-width="1"/><text x="{}" y="{}" text-anchor="end" font-size="11">{}</text><text x="{}" y="{}" text-anchor="end" font-size="11">0</text><text x="{xl}" y="{}" font-size="11">{x0}</text><text x="{xr}" y="{}" text-anchor="end" font-size="11">{x1}</text><text x="{}" y="{}" text-anchor="middle" font-size="11">{}</text>"##,
        xl - 6.0,
        yt + 10.0,
        escape(y_max),
        xl - 6.0,
        yb,
        yb + 14.0,
        yb + 14.0,
        (xl + xr) / 2.0,
        yb + 26.0,
        escape(x_label)
    );
}

fn legend(s: &mut String, i: usize, label: &str, colour: &str) {
    let y = TOP + 18.0 * i as f64;
    let _ = write!(
        s,
        r#"<rect class="key" x="{}" y="{y}" width="14" height="10" fill="{colour}"/><text x="{}" y="{}" font-size="12">{}</text>"#,
        W - RIGHT + 12.0,
        W - RIGHT + 32.0,
        y + 10.0,
        escape(label)
    );
}

/// Horizontal bars, one per `(label, value, colour)`, longest first as given.
pub(crate) fn bar_chart(title: &str, bars: &[(String, u128, &str)]) -> String {
    let row = 22.0;
    let h = TOP + row * bars.len().max(1) as f64 + 8.0;
    let (label_w, max) = (300.0, bars.iter().map(|b| b.1).max().unwrap_or(0).max(1));
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" role="img" viewBox="0 0 {W} {h}" width="{W}" height="{h}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        escape(title)
    );
    for (i, (label, value, colour)) in bars.iter().enumerate() {
        let y = TOP + row * i as f64;
        let len = (*value as f64 / max as f64 * (W - label_w - 110.0)).max(1.0);
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end" font-size="12">{}</text><rect class="bar" x="{label_w}" y="{y}" width="{len:.1}" height="16" fill="{colour}"/><text x="{:.1}" y="{}" font-size="12">{}</text>"#,
            label_w - 8.0,
            y + 12.0,
            escape(label),
            label_w + len + 6.0,
            y + 12.0,
            super::text::amount(*value)
        );
    }
    s.push_str("</svg>");
    s
}

/// A from × to matrix of values, each cell shaded by its share of the largest.
pub(crate) fn matrix(title: &str, names: &[String], cell: impl Fn(usize, usize) -> u128) -> String {
    let (cw, ch, lw, th) = (96.0, 28.0, 150.0, 40.0);
    let n = names.len();
    let (w, h) = (lw + cw * n as f64 + 8.0, th + ch * n as f64 + 8.0);
    let max = (0..n)
        .flat_map(|i| (0..n).map(move |j| (i, j)))
        .map(|(i, j)| cell(i, j))
        .max()
        .unwrap_or(0)
        .max(1);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" role="img" viewBox="0 0 {w} {h}" width="{w}" height="{h}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        escape(title)
    );
    for (j, name) in names.iter().enumerate() {
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{}" text-anchor="middle" font-size="11">→ {}</text>"#,
            lw + cw * (j as f64 + 0.5),
            th - 10.0,
            escape(name)
        );
    }
    for (i, from) in names.iter().enumerate() {
        let y = th + ch * i as f64;
        let _ = write!(
            s,
            r#"<text x="{}" y="{:.1}" text-anchor="end" font-size="11">{}</text>"#,
            lw - 8.0,
            y + ch / 2.0 + 4.0,
            escape(from)
        );
        for j in 0..n {
            let v = cell(i, j);
            let share = v as f64 / max as f64;
            let _ = write!(
                s,
                r##"<rect class="cell" x="{:.1}" y="{y:.1}" width="{}" height="{}" fill="#0072b2" fill-opacity="{:.3}" stroke="#ccc"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="11">{}</text>"##,
                lw + cw * j as f64,
                cw - 2.0,
                ch - 2.0,
                if v == 0 { 0.0 } else { 0.1 + 0.9 * share },
                lw + cw * (j as f64 + 0.5),
                y + ch / 2.0 + 4.0,
                if v == 0 {
                    String::new()
                } else {
                    super::text::amount(v)
                }
            );
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_cannot_break_out_of_the_markup() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        let chart = bar_chart("t", &[("<b>Bank</b>".into(), 5, colour(0))]);
        assert!(chart.contains("&lt;b&gt;Bank&lt;/b&gt;") && !chart.contains("<b>"));
    }
}
