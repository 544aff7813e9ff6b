//! Mapping between rows and records, the same as tally-sqlite's: ids and times are
//! `BIGINT`, flags `BOOLEAN`.

use jiff::Timestamp;
use tally_app::ports::{ClickCursor, StoreError, StoreResult, StoredClick};
use tally_core::click::{Click, DeviceType, OwnerKind, TouchSource};
use tally_core::ids::{AdId, PartnerId, ProgramId};
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, ToSql};

use crate::connect::describe;

pub(crate) fn micros(at: Timestamp) -> i64 {
    at.as_microsecond()
}

pub(crate) fn timestamp(micros: i64) -> StoreResult<Timestamp> {
    Timestamp::from_microsecond(micros).map_err(|error| StoreError::Corrupt(error.to_string()))
}

/// Ids are stored as signed 64-bit integers; numeric ids are at most twelve digits, so
/// the cast is exact.
pub(crate) fn id_to_sql(id: u64) -> i64 {
    id as i64
}

pub(crate) fn id_from_sql(value: i64) -> u64 {
    value as u64
}

/// Reads column `index`; a value of the wrong type is corrupt data.
pub(crate) fn column<'a, T: FromSql<'a>>(row: &'a Row, index: usize) -> StoreResult<T> {
    row.try_get(index).map_err(|error| StoreError::Corrupt(describe(&error)))
}

pub(crate) fn time_column(row: &Row, index: usize) -> StoreResult<Timestamp> {
    timestamp(column(row, index)?)
}

const CLICK_FIELDS: &str = "click_id, created_at, program_id, owner_id, owner_kind, ad_id, source,
    visitor_id, ip_hash, country, user_agent, device, os, browser, referrer_url, referrer_domain, landing_page,
    sub_id1, sub_id2, sub_id3, shared_id, is_unique, is_bot, is_malformed, is_creditable, is_flood";

pub(crate) const CLICK_COLUMNS: &str =
    "click_seq, click_id, created_at, program_id, owner_id, owner_kind, ad_id, source,
    visitor_id, ip_hash, country, user_agent, device, os, browser, referrer_url, referrer_domain, landing_page,
    sub_id1, sub_id2, sub_id3, shared_id, is_unique, is_bot, is_malformed, is_creditable, is_flood";

/// One statement for a whole batch: one array per column, unnested in order, so the
/// store numbers the clicks (`click_seq`) in log order.
pub(crate) fn insert_clicks_sql() -> String {
    format!(
        "INSERT INTO click ({CLICK_FIELDS})
         SELECT {CLICK_FIELDS} FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[],
             $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
             $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[], $21::text[],
             $22::boolean[], $23::boolean[], $24::boolean[], $25::boolean[], $26::boolean[])
         WITH ORDINALITY AS batch ({CLICK_FIELDS}, position)
         ORDER BY position"
    )
}

/// The clicks as the parameters of [`insert_clicks_sql`], one array per column.
pub(crate) struct ClickArrays<'a> {
    text: [Vec<&'a str>; 9],
    optional_text: [Vec<Option<&'a str>>; 8],
    numbers: [Vec<i64>; 3],
    ads: Vec<Option<i64>>,
    flags: [Vec<bool>; 5],
}

fn each<'a, T>(clicks: &'a [Click], field: impl Fn(&'a Click) -> T) -> Vec<T> {
    clicks.iter().map(field).collect()
}

impl<'a> ClickArrays<'a> {
    pub(crate) fn new(clicks: &'a [Click]) -> Self {
        ClickArrays {
            text: [
                each(clicks, |c| c.click_id.as_str()),
                each(clicks, |c| c.owner_kind.as_str()),
                each(clicks, |c| c.source.as_str()),
                each(clicks, |c| c.visitor.as_str()),
                each(clicks, |c| c.user_agent.as_str()),
                each(clicks, |c| c.device.as_str()),
                each(clicks, |c| c.os.as_str()),
                each(clicks, |c| c.browser.as_str()),
                each(clicks, |c| c.landing_page.as_str()),
            ],
            optional_text: [
                each(clicks, |c| c.ip_hash.as_deref()),
                each(clicks, |c| c.country.as_deref()),
                each(clicks, |c| c.referrer_url.as_deref()),
                each(clicks, |c| c.referrer_domain.as_deref()),
                each(clicks, |c| c.sub_ids[0].as_deref()),
                each(clicks, |c| c.sub_ids[1].as_deref()),
                each(clicks, |c| c.sub_ids[2].as_deref()),
                each(clicks, |c| c.shared_id.as_deref()),
            ],
            numbers: [
                each(clicks, |c| micros(c.at)),
                each(clicks, |c| id_to_sql(c.program.0)),
                each(clicks, |c| id_to_sql(c.owner.0)),
            ],
            ads: each(clicks, |c| c.ad.map(|ad| id_to_sql(ad.0))),
            flags: [
                each(clicks, |c| c.unique),
                each(clicks, |c| c.bot),
                each(clicks, |c| c.malformed),
                each(clicks, |c| c.creditable),
                each(clicks, |c| c.flood),
            ],
        }
    }

    /// The parameters, in the order of [`CLICK_FIELDS`].
    pub(crate) fn params(&self) -> [&(dyn ToSql + Sync); 26] {
        let [click_id, owner_kind, source, visitor, user_agent, device, os, browser, landing_page] = &self.text;
        let [ip_hash, country, referrer_url, referrer_domain, sub_id1, sub_id2, sub_id3, shared_id] =
            &self.optional_text;
        let [created_at, program, owner] = &self.numbers;
        let [unique, bot, malformed, creditable, flood] = &self.flags;
        [
            click_id,
            created_at,
            program,
            owner,
            owner_kind,
            &self.ads,
            source,
            visitor,
            ip_hash,
            country,
            user_agent,
            device,
            os,
            browser,
            referrer_url,
            referrer_domain,
            landing_page,
            sub_id1,
            sub_id2,
            sub_id3,
            shared_id,
            unique,
            bot,
            malformed,
            creditable,
            flood,
        ]
    }
}

fn parsed<T>(value: Option<T>, what: &str, text: &str) -> StoreResult<T> {
    value.ok_or_else(|| StoreError::Corrupt(format!("unknown {what} {text:?}")))
}

/// Reads a row selected with [`CLICK_COLUMNS`], by position.
pub(crate) fn stored_click(row: &Row) -> StoreResult<StoredClick> {
    let seq: i64 = column(row, 0)?;
    let click_id: &str = column(row, 1)?;
    let at = time_column(row, 2)?;
    let owner_kind: &str = column(row, 5)?;
    let source: &str = column(row, 7)?;
    let visitor: &str = column(row, 8)?;
    let device: &str = column(row, 12)?;
    let click = Click {
        click_id: click_id.parse().map_err(|_| StoreError::Corrupt(format!("bad click id {click_id:?}")))?,
        at,
        program: ProgramId(id_from_sql(column(row, 3)?)),
        owner: PartnerId(id_from_sql(column(row, 4)?)),
        owner_kind: parsed(OwnerKind::parse(owner_kind), "owner kind", owner_kind)?,
        ad: column::<Option<i64>>(row, 6)?.map(|ad| AdId(id_from_sql(ad))),
        source: parsed(TouchSource::parse(source), "source", source)?,
        visitor: visitor.parse().map_err(|_| StoreError::Corrupt(format!("bad visitor id {visitor:?}")))?,
        ip_hash: column(row, 9)?,
        country: column(row, 10)?,
        user_agent: column(row, 11)?,
        device: parsed(DeviceType::parse(device), "device", device)?,
        os: column(row, 13)?,
        browser: column(row, 14)?,
        referrer_url: column(row, 15)?,
        referrer_domain: column(row, 16)?,
        landing_page: column(row, 17)?,
        sub_ids: [column(row, 18)?, column(row, 19)?, column(row, 20)?],
        shared_id: column(row, 21)?,
        unique: column(row, 22)?,
        bot: column(row, 23)?,
        malformed: column(row, 24)?,
        creditable: column(row, 25)?,
        flood: column(row, 26)?,
    };
    Ok(StoredClick { cursor: ClickCursor { at, seq }, click })
}
