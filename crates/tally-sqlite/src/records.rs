//! Rows of the small tables (accounts, tokens, users, programs) and their records.

use rusqlite::Connection;
use tally_app::ports::{AccountRecord, ApiTokenRecord, StoredProgram, UserRecord};
use tally_core::ids::{PartnerId, ProgramId};

use crate::rows::{id_from_sql, timestamp};

pub(crate) fn account_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<AccountRecord> {
    Ok(AccountRecord {
        account_sid: row.get(0)?,
        name: row.get(1)?,
        auth_token_hash: row.get(2)?,
        created_at: timestamp(row.get(3)?)?,
    })
}

pub(crate) fn program_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredProgram> {
    Ok(StoredProgram {
        program_id: ProgramId(id_from_sql(row.get(0)?)),
        account_sid: row.get(1)?,
        revision: row.get(2)?,
        document: row.get(3)?,
        updated_at: timestamp(row.get(4)?)?,
        created_at: timestamp(row.get(5)?)?,
    })
}

pub(crate) const PROGRAM_COLUMNS: &str = "program_id, account_sid, revision, document, updated_at, created_at";

pub(crate) fn api_token_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ApiTokenRecord> {
    Ok(ApiTokenRecord {
        token_id: row.get(0)?,
        account_sid: row.get(1)?,
        partner: row.get::<_, Option<i64>>(2)?.map(|id| PartnerId(id_from_sql(id))),
        name: row.get(3)?,
        secret_hash: row.get(4)?,
        created_at: timestamp(row.get(5)?)?,
    })
}

pub(crate) fn user_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        username: row.get(0)?,
        password_hash: row.get(1)?,
        role: row.get(2)?,
        account_sid: row.get(3)?,
        partner: row.get::<_, Option<i64>>(4)?.map(|id| PartnerId(id_from_sql(id))),
        created_at: timestamp(row.get(5)?)?,
        sessions_since: row.get::<_, Option<i64>>(6)?.map(timestamp).transpose()?,
    })
}

pub(crate) const ACCOUNT_COLUMNS: &str = "account_sid, name, auth_token_hash, created_at";
pub(crate) const API_TOKEN_COLUMNS: &str = "token_id, account_sid, partner_id, name, secret_hash, created_at";
pub(crate) const USER_COLUMNS: &str =
    "username, password_hash, role, account_sid, partner_id, created_at, sessions_since";

/// Reads every row of a query without parameters.
pub(crate) fn all<T>(
    connection: &Connection,
    sql: &str,
    map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut statement = connection.prepare(sql)?;
    let rows = statement.query_map([], map)?;
    rows.collect()
}
