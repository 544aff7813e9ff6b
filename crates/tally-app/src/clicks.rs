//! The click export (SPEC §2): a program's clicks in a time range, page by page, as
//! JSON or CSV. Sub ids belong to the partner: only partner viewers see them.

use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;
use tally_core::click::Click;
use tally_core::ids::{PartnerId, ProgramId};

use crate::catalog::CatalogHandle;
use crate::csv_text::{end_line, push_field, push_text};
use crate::ports::{ClickCursor, ClickQuery, Store, StoreResult};

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// The operator on the command line: every click, no sub ids.
    Operator,
    /// A brand: its programs' clicks, no sub ids.
    Brand {
        /// The brand's account.
        account_sid: String,
    },
    /// A partner: its own clicks, with sub ids.
    Partner {
        /// The brand's account.
        account_sid: String,
        /// The partner.
        partner: PartnerId,
    },
}

impl Viewer {
    fn sees_sub_ids(&self) -> bool {
        matches!(self, Viewer::Partner { .. })
    }
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// A JSON array of objects.
    Json,
    /// CSV with a header line.
    Csv,
}

impl ExportFormat {
    /// Parses `json` or `csv`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "json" => Some(Self::Json),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }
}

/// Why an export cannot start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// No such program for this viewer (another brand's program looks the same).
    #[error("program {0} not found")]
    NotFound(ProgramId),
    /// `since` is not before `until`.
    #[error("since must be before until")]
    InvertedRange,
}

/// One exported click.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClickRow {
    /// Click id.
    pub click_id: String,
    /// RFC 3339 time.
    pub time: String,
    /// Partner or media source id.
    pub partner_id: u64,
    /// `partner` or `media_source`.
    pub partner_kind: &'static str,
    /// Ad id.
    pub ad_id: Option<u64>,
    /// Link, vanity, unique_url, stat or impression.
    pub source: &'static str,
    /// Sub id 1: `Some` (a value or null) for partner viewers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_id1: Option<Option<String>>,
    /// Sub id 2: `Some` (a value or null) for partner viewers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_id2: Option<Option<String>>,
    /// Sub id 3: `Some` (a value or null) for partner viewers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_id3: Option<Option<String>>,
    /// Shared id.
    pub shared_id: Option<String>,
    /// First click of its session.
    pub unique: bool,
    /// Automated client.
    pub bot: bool,
    /// Something in the link was dropped or refused.
    pub malformed: bool,
    /// Can earn credit.
    pub creditable: bool,
    /// Device type.
    pub device: &'static str,
    /// Operating system.
    pub os: String,
    /// Browser.
    pub browser: String,
    /// Part of a click flood from one address.
    pub flood: bool,
    /// The client's country (ISO 3166-1 alpha-2), when a proxy or CDN named it.
    pub country: Option<String>,
}

impl ClickRow {
    fn new(click: Click, with_sub_ids: bool) -> ClickRow {
        let [sub_id1, sub_id2, sub_id3] = click.sub_ids.map(|sub_id| with_sub_ids.then_some(sub_id));
        ClickRow {
            click_id: click.click_id.to_string(),
            time: click.at.to_string(),
            partner_id: click.owner.0,
            partner_kind: click.owner_kind.as_str(),
            ad_id: click.ad.map(|ad| ad.0),
            source: click.source.as_str(),
            sub_id1,
            sub_id2,
            sub_id3,
            shared_id: click.shared_id,
            unique: click.unique,
            bot: click.bot,
            malformed: click.malformed,
            creditable: click.creditable,
            device: click.device.as_str(),
            os: click.os,
            browser: click.browser,
            flood: click.flood,
            country: click.country,
        }
    }

    /// The CSV header for a viewer. Columns added later go at the end, so that readers
    /// that take columns by position keep working.
    fn csv_header(with_sub_ids: bool) -> String {
        let sub_ids = if with_sub_ids { "sub_id1,sub_id2,sub_id3," } else { "" };
        format!(
            "click_id,time,partner_id,partner_kind,ad_id,source,{sub_ids}shared_id,unique,bot,malformed,creditable,device,os,browser,flood,country\n"
        )
    }

    /// Appends the row as one CSV line to `out`.
    fn write_csv(&self, with_sub_ids: bool, out: &mut String) {
        push_field(out, &self.click_id);
        push_field(out, &self.time);
        push_field(out, &self.partner_id.to_string());
        push_field(out, self.partner_kind);
        push_field(out, &self.ad_id.map(|id| id.to_string()).unwrap_or_default());
        push_field(out, self.source);
        if with_sub_ids {
            for sub_id in [&self.sub_id1, &self.sub_id2, &self.sub_id3] {
                push_text(out, sub_id.as_ref().and_then(|value| value.as_deref()).unwrap_or(""));
            }
        }
        push_text(out, self.shared_id.as_deref().unwrap_or(""));
        for flag in [self.unique, self.bot, self.malformed, self.creditable] {
            push_field(out, if flag { "true" } else { "false" });
        }
        push_field(out, self.device);
        push_text(out, &self.os);
        push_text(out, &self.browser);
        push_field(out, if self.flood { "true" } else { "false" });
        push_field(out, self.country.as_deref().unwrap_or(""));
        end_line(out);
    }
}

/// An export in progress: the encoded text, chunk by chunk, in (time, insertion)
/// order, so memory stays flat however many clicks there are.
pub struct ClickExport {
    store: Arc<dyn Store>,
    query: ClickQuery,
    format: ExportFormat,
    with_sub_ids: bool,
    after: Option<ClickCursor>,
    stage: Stage,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Opening,
    Rows { first: bool },
    Closing,
    Done,
}

/// Rows read per store call.
const PAGE_SIZE: u32 = 2_000;

impl ClickExport {
    /// Starts an export for a viewer, after checking it may see the program.
    pub fn start(
        store: Arc<dyn Store>,
        catalog: &CatalogHandle,
        viewer: &Viewer,
        request: ExportRequest,
    ) -> Result<ClickExport, ExportError> {
        let ExportRequest { program, since, until, format } = request;
        if since >= until {
            return Err(ExportError::InvertedRange);
        }
        let visible = match viewer {
            Viewer::Operator => true,
            Viewer::Brand { account_sid } | Viewer::Partner { account_sid, .. } => {
                catalog.get().program(program).is_some_and(|entry| &entry.account_sid == account_sid)
            }
        };
        if !visible {
            return Err(ExportError::NotFound(program));
        }
        let owner = match viewer {
            Viewer::Partner { partner, .. } => Some(*partner),
            _ => None,
        };
        let query = ClickQuery { program, since, until, owner };
        Ok(ClickExport {
            store,
            query,
            format,
            with_sub_ids: viewer.sees_sub_ids(),
            after: None,
            stage: Stage::Opening,
        })
    }

    /// The next chunk of encoded text; `None` when the export is complete.
    pub async fn next_chunk(&mut self) -> StoreResult<Option<String>> {
        let chunk = match self.stage {
            Stage::Opening => {
                self.stage = Stage::Rows { first: true };
                match self.format {
                    ExportFormat::Json => "[".to_owned(),
                    ExportFormat::Csv => ClickRow::csv_header(self.with_sub_ids),
                }
            }
            Stage::Rows { first } => {
                let page = self.store.clicks_page(&self.query, self.after, PAGE_SIZE).await?;
                let more = page.len() == PAGE_SIZE as usize;
                self.stage = if more { Stage::Rows { first: false } } else { Stage::Closing };
                self.after = page.last().map(|stored| stored.cursor).or(self.after);
                let mut chunk = String::new();
                for (index, stored) in page.into_iter().enumerate() {
                    let row = ClickRow::new(stored.click, self.with_sub_ids);
                    match self.format {
                        ExportFormat::Json => {
                            if !(first && index == 0) {
                                chunk.push(',');
                            }
                            chunk.push_str(&serde_json::to_string(&row).unwrap_or_default());
                        }
                        ExportFormat::Csv => row.write_csv(self.with_sub_ids, &mut chunk),
                    }
                }
                chunk
            }
            Stage::Closing => {
                self.stage = Stage::Done;
                match self.format {
                    ExportFormat::Json => "]\n".to_owned(),
                    ExportFormat::Csv => String::new(),
                }
            }
            Stage::Done => return Ok(None),
        };
        Ok(Some(chunk))
    }
}

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportRequest {
    /// The program.
    pub program: ProgramId,
    /// From (inclusive).
    pub since: Timestamp,
    /// Until (exclusive).
    pub until: Timestamp,
    /// JSON or CSV.
    pub format: ExportFormat,
}
