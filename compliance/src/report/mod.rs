//! One report engine over an audit ledger, for two scopes: the whole network (the
//! regulator) and one participant (a compliance officer's bank, or the regulator
//! looking at one bank). [`Report::build`] gathers the figures once; the renderers
//! write them as JSON ([`Report::to_json`]), CSV tables ([`Report::csv_tables`]), a
//! terminal summary ([`Report::to_text`]) and a self-contained HTML page with inline
//! SVG charts ([`Report::to_html`]).

mod build;
mod csv;
mod html;
mod svg;
mod text;

use serde::Serialize;

use crate::audit::OwnerTag;

/// The colour the HTML report gives the `i`-th participant (in name order) in every
/// chart.
pub fn palette_colour(i: usize) -> &'static str {
    svg::colour(i)
}

/// What the report covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every participant.
    Network,
    /// One participant: its positions, and the flows and transactions it took part in.
    Participant(OwnerTag),
}

/// What the report flags and how it groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportConfig {
    /// A transfer or burn of at least this value is a large transaction (any asset
    /// without its own threshold).
    pub large_transaction: u64,
    /// Per-asset thresholds, by asset name (overriding `large_transaction`).
    pub large_by_asset: Vec<(String, u64)>,
    /// Blocks per period for the flows between participants.
    pub period_blocks: u64,
    /// How many of the largest transactions to list.
    pub largest: usize,
    /// The most points per position series (the chart's resolution); changes are
    /// sampled evenly past it.
    pub series_points: usize,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig {
            large_transaction: 1_000_000,
            large_by_asset: Vec::new(),
            period_blocks: 100,
            largest: 10,
            series_points: 200,
        }
    }
}

/// Why a report cannot be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReportError {
    /// Periods of zero blocks.
    #[error("a period must span at least one block")]
    EmptyPeriod,
    /// The participant to report on never appears in the ledger or the registry.
    #[error("participant {0} appears neither in the registry nor in any note")]
    UnknownParticipant(String),
}

/// An asset's supply in scope: what entered (issued, deposited), what left (burnt),
/// and what is held. For the network, `issued + deposited = held + burnt` on any
/// consistent chain; for a participant, what was issued or minted to it, what it
/// burnt and what it holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AssetSupply {
    /// The asset's name.
    pub asset: String,
    /// Its tag (hex).
    pub tag: String,
    /// Created by issuances.
    pub issued: u128,
    /// Minted by bridge deposits.
    pub deposited: u128,
    /// Burnt (withdrawn to L1 or destroyed).
    pub burnt: u128,
    /// Held in unspent notes.
    pub held: u128,
}

/// A participant's holding of an asset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Position {
    /// The participant's label.
    pub participant: String,
    /// The asset's name.
    pub asset: String,
    /// The value held.
    pub value: u128,
}

/// One participant's holding of one asset over time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PositionSeries {
    /// The participant's label.
    pub participant: String,
    /// The asset's name.
    pub asset: String,
    /// `(height, value)` at each sampled change, in height order.
    pub points: Vec<(u64, u128)>,
}

/// Value moved from one participant to another in one asset during one period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Flow {
    /// The period's first block.
    pub from_height: u64,
    /// Its last block.
    pub to_height: u64,
    /// The sender.
    pub from: String,
    /// The recipient.
    pub to: String,
    /// The asset.
    pub asset: String,
    /// The value moved.
    pub value: u128,
}

/// One transaction's movement of one asset between distinct participants (or out of
/// the chain, for a burn).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Movement {
    /// The transaction (hex).
    pub tx: String,
    /// Its block.
    pub height: u64,
    /// Its block's time (Unix milliseconds; 0 when unknown).
    pub time_ms: u64,
    /// The sender.
    pub from: String,
    /// The recipient (for a burn: `burn`, or the L1 address it withdraws to).
    pub to: String,
    /// The asset.
    pub asset: String,
    /// The value.
    pub value: u128,
}

/// What a report flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A movement at or above its asset's threshold.
    LargeTransaction,
    /// A participant sent or received after the registry removed it.
    ActivityAfterRemoval,
}

impl AlertKind {
    /// The kind as the JSON and CSV write it.
    pub fn as_str(&self) -> &'static str {
        match self {
            AlertKind::LargeTransaction => "large_transaction",
            AlertKind::ActivityAfterRemoval => "activity_after_removal",
        }
    }
}

/// One flagged event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// What kind.
    pub kind: AlertKind,
    /// The transaction (hex).
    pub tx: String,
    /// Its block.
    pub height: u64,
    /// The participant concerned.
    pub participant: String,
    /// The asset.
    pub asset: String,
    /// The value.
    pub value: u128,
    /// Why it is flagged, in words.
    pub detail: String,
}

/// Counts over the scope.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Transactions with any note or burn in scope.
    pub transactions: u64,
    /// Notes in scope.
    pub notes: u64,
    /// Spends in scope (splits included).
    pub spends: u64,
    /// Value moved between distinct participants, per asset name.
    pub moved: Vec<(String, u128)>,
}

/// A report (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// `network`, or `participant <label>`.
    pub scope: String,
    /// The last block the ledger applied.
    pub height: u64,
    /// The first and last block times seen (Unix milliseconds).
    pub time_range_ms: (u64, u64),
    /// Supply per asset.
    pub supply: Vec<AssetSupply>,
    /// Positions at `height`, by participant then asset.
    pub positions: Vec<Position>,
    /// Positions over time.
    pub series: Vec<PositionSeries>,
    /// Flows per period between distinct participants.
    pub flows: Vec<Flow>,
    /// The largest movements, largest first.
    pub largest: Vec<Movement>,
    /// Flagged events, in chain order.
    pub alerts: Vec<Alert>,
    /// Counts.
    pub totals: Totals,
}

impl Report {
    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // Serializing plain structs of strings and integers cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
