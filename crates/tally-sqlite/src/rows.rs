//! Mapping between rows and records.

use jiff::Timestamp;
use rusqlite::{Row, Transaction, params};
use tally_app::ports::{ClickCursor, StoredClick};
use tally_core::click::{Click, DeviceType, OwnerKind, TouchSource};
use tally_core::ids::{AdId, PartnerId, ProgramId};

pub(crate) fn micros(at: Timestamp) -> i64 {
    at.as_microsecond()
}

pub(crate) fn timestamp(micros: i64) -> rusqlite::Result<Timestamp> {
    Timestamp::from_microsecond(micros).map_err(|error| corrupt(error.to_string()))
}

pub(crate) fn corrupt(message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Null, message.into())
}

/// SQLite stores unsigned ids as signed 64-bit integers; numeric ids are at most twelve
/// digits, so the cast is exact.
pub(crate) fn id_to_sql(id: u64) -> i64 {
    id as i64
}

pub(crate) fn id_from_sql(value: i64) -> u64 {
    value as u64
}

const INSERT_CLICK: &str = "INSERT INTO click (click_id, created_at, program_id, owner_id, owner_kind, ad_id, source,
    visitor_id, ip_hash, country, user_agent, device, os, browser, referrer_url, referrer_domain, landing_page,
    sub_id1, sub_id2, sub_id3, shared_id, is_unique, is_bot, is_malformed, is_creditable, is_flood)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25,
    ?26)";

pub(crate) const CLICK_COLUMNS: &str =
    "click_seq, click_id, created_at, program_id, owner_id, owner_kind, ad_id, source,
    visitor_id, ip_hash, country, user_agent, device, os, browser, referrer_url, referrer_domain, landing_page,
    sub_id1, sub_id2, sub_id3, shared_id, is_unique, is_bot, is_malformed, is_creditable, is_flood";

pub(crate) fn insert_clicks(transaction: &Transaction<'_>, clicks: &[Click]) -> rusqlite::Result<()> {
    let mut statement = transaction.prepare_cached(INSERT_CLICK)?;
    for click in clicks {
        let [sub_id1, sub_id2, sub_id3] = &click.sub_ids;
        statement.execute(params![
            click.click_id.as_str(),
            micros(click.at),
            id_to_sql(click.program.0),
            id_to_sql(click.owner.0),
            click.owner_kind.as_str(),
            click.ad.map(|ad| id_to_sql(ad.0)),
            click.source.as_str(),
            click.visitor.as_str(),
            click.ip_hash,
            click.country,
            click.user_agent,
            click.device.as_str(),
            click.os,
            click.browser,
            click.referrer_url,
            click.referrer_domain,
            click.landing_page,
            sub_id1,
            sub_id2,
            sub_id3,
            click.shared_id,
            click.unique,
            click.bot,
            click.malformed,
            click.creditable,
            click.flood,
        ])?;
    }
    Ok(())
}

fn parsed<T>(value: Option<T>, what: &str, text: &str) -> rusqlite::Result<T> {
    value.ok_or_else(|| corrupt(format!("unknown {what} {text:?}")))
}

/// Reads a row selected with [`CLICK_COLUMNS`]. Columns are read by position: looking
/// them up by name costs a third of an export's time.
pub(crate) fn stored_click(row: &Row<'_>) -> rusqlite::Result<StoredClick> {
    let seq: i64 = row.get(0)?;
    let click_id: String = row.get(1)?;
    let at = timestamp(row.get(2)?)?;
    let owner_kind: String = row.get(5)?;
    let source: String = row.get(7)?;
    let visitor: String = row.get(8)?;
    let device: String = row.get(12)?;
    let click = Click {
        click_id: click_id.parse().map_err(|_| corrupt(format!("bad click id {click_id:?}")))?,
        at,
        program: ProgramId(id_from_sql(row.get(3)?)),
        owner: PartnerId(id_from_sql(row.get(4)?)),
        owner_kind: parsed(OwnerKind::parse(&owner_kind), "owner kind", &owner_kind)?,
        ad: row.get::<_, Option<i64>>(6)?.map(|ad| AdId(id_from_sql(ad))),
        source: parsed(TouchSource::parse(&source), "source", &source)?,
        visitor: visitor.parse().map_err(|_| corrupt(format!("bad visitor id {visitor:?}")))?,
        ip_hash: row.get(9)?,
        country: row.get(10)?,
        user_agent: row.get(11)?,
        device: parsed(DeviceType::parse(&device), "device", &device)?,
        os: row.get(13)?,
        browser: row.get(14)?,
        referrer_url: row.get(15)?,
        referrer_domain: row.get(16)?,
        landing_page: row.get(17)?,
        sub_ids: [row.get(18)?, row.get(19)?, row.get(20)?],
        shared_id: row.get(21)?,
        unique: row.get(22)?,
        bot: row.get(23)?,
        malformed: row.get(24)?,
        creditable: row.get(25)?,
        flood: row.get(26)?,
    };
    Ok(StoredClick { cursor: ClickCursor { at, seq }, click })
}
