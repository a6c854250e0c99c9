//! The HTML report rendered in a real headless browser (Debian's Chromium, which the
//! test script installs when missing; `SABLE_CHROMIUM` names another binary): the
//! browser's own DOM holds every chart, and its screenshot shows every participant's
//! colour in the position lines, far beyond what the legends alone would paint. With
//! `SABLE_REPORT_OUT=DIR` the page and its screenshot are kept there to look at.
#![allow(clippy::unwrap_used)]

use std::{collections::BTreeMap, path::PathBuf, process::Command};

use sable_circuits::keys::RegulatorSecretKey;
use sable_compliance::{
    audit::{AuditBlock, AuditLedger, SingleKey},
    report::{Report, ReportConfig, Scope},
};
use sable_testkit::synthetic::{SyntheticChain, Workload};

fn chromium() -> PathBuf {
    let path = std::env::var_os("SABLE_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.exists(),
        "{} is missing: `bash scripts/test.sh` installs Debian's chromium \
         (or `apt-get install chromium`; SABLE_CHROMIUM names another binary)",
        path.display()
    );
    path
}

fn browser(args: &[&str]) -> std::process::Output {
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            "--force-device-scale-factor=1",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `#rrggbb` as bytes.
fn rgb(hex: &str) -> [u8; 3] {
    let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap();
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

#[test]
fn the_html_report_renders_every_chart_in_headless_chromium() {
    let chain = SyntheticChain::generate(Workload {
        payments: 120,
        ..Workload::default()
    });
    let key = SingleKey::new(RegulatorSecretKey::from_bytes(&chain.regulator.to_bytes()).unwrap());
    let mut ledger = AuditLedger::new();
    for b in &chain.blocks {
        let mut block = AuditBlock::new(b.height, b.txs.iter().map(|(id, tx)| (*id, tx)));
        block.admin = b.admin.clone();
        ledger.apply_block(block, &key).unwrap();
    }
    let report = Report::build(&ledger, Scope::Network, &ReportConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(&page, report.to_html()).unwrap();
    let url = format!("file://{}", page.display());

    // The DOM the browser parsed: every chart, every series, every bar.
    let dom = String::from_utf8(browser(&["--dump-dom", &url]).stdout).unwrap();
    assert_eq!(
        dom.matches("<svg class=\"chart\"").count(),
        2 * chain.assets.len() + 1,
        "{dom}"
    );
    assert_eq!(dom.matches("class=\"series\"").count(), report.series.len());
    assert_eq!(dom.matches("class=\"bar\"").count(), report.largest.len());
    assert!(dom.contains("Sable audit report: network"));

    // What it painted: each participant's colour covers far more than its legend
    // keys (14 × 10 pixels in each of the asset charts).
    let shot = dir.path().join("report.png");
    browser(&[
        &format!("--screenshot={}", shot.display()),
        "--window-size=1100,5000",
        &url,
    ]);
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buf).unwrap();
    let channels = frame.color_type.samples();
    let mut counts: BTreeMap<[u8; 3], usize> = BTreeMap::new();
    for px in buf[..frame.buffer_size()].chunks(channels) {
        *counts.entry([px[0], px[1], px[2]]).or_default() += 1;
    }
    let legends = 14 * 10 * chain.assets.len();
    let participants: std::collections::BTreeSet<&str> = report
        .series
        .iter()
        .map(|s| s.participant.as_str())
        .collect();
    assert_eq!(participants.len(), chain.banks.len());
    // The HTML gives participants the palette's colours in name order.
    for (i, name) in participants.iter().enumerate() {
        let c = rgb(sable_compliance::report::palette_colour(i));
        let painted = counts.get(&c).copied().unwrap_or(0);
        assert!(
            painted > 2 * legends,
            "{name}'s colour {c:?} covers {painted} pixels, its legends alone {legends}"
        );
    }
    if let Some(out) = std::env::var_os("SABLE_REPORT_OUT") {
        std::fs::create_dir_all(&out).unwrap();
        std::fs::copy(&page, PathBuf::from(&out).join("report.html")).unwrap();
        std::fs::copy(&shot, PathBuf::from(&out).join("report.png")).unwrap();
    }
    // The bars: at least a pixel's width of 16 rows each.
    let bars = counts.get(&rgb("#4d4d4d")).copied().unwrap_or(0);
    assert!(
        bars >= 16 * report.largest.len(),
        "bars cover {bars} pixels"
    );
}
