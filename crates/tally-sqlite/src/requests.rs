//! Rows of partners' test action requests.

use rusqlite::{Connection, Row, params};
use tally_app::ports::TestActionRequestRecord;
use tally_core::ids::{PartnerId, ProgramId};

use crate::rows::{id_from_sql, id_to_sql, micros, timestamp};

const REQUEST_COLUMNS: &str = "request_id, program_id, partner_id, note, state, action_id, created_at, resolved_at";

fn request_row(row: &Row<'_>) -> rusqlite::Result<TestActionRequestRecord> {
    Ok(TestActionRequestRecord {
        request_id: row.get(0)?,
        program: ProgramId(id_from_sql(row.get(1)?)),
        partner: PartnerId(id_from_sql(row.get(2)?)),
        note: row.get(3)?,
        state: row.get(4)?,
        action_id: row.get(5)?,
        created_at: timestamp(row.get(6)?)?,
        resolved_at: row.get::<_, Option<i64>>(7)?.map(timestamp).transpose()?,
    })
}

pub(crate) fn insert(connection: &Connection, request: &TestActionRequestRecord) -> rusqlite::Result<()> {
    let sql = format!("INSERT INTO test_action_request ({REQUEST_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    connection.execute(
        &sql,
        params![
            request.request_id,
            id_to_sql(request.program.0),
            id_to_sql(request.partner.0),
            request.note,
            request.state,
            request.action_id,
            micros(request.created_at),
            request.resolved_at.map(micros),
        ],
    )?;
    Ok(())
}

pub(crate) fn of_program(
    connection: &Connection,
    program: ProgramId,
) -> rusqlite::Result<Vec<TestActionRequestRecord>> {
    let sql = format!(
        "SELECT {REQUEST_COLUMNS} FROM test_action_request WHERE program_id = ?1 ORDER BY created_at DESC, request_id"
    );
    connection.prepare_cached(&sql)?.query_map([id_to_sql(program.0)], request_row)?.collect()
}

pub(crate) fn all(connection: &Connection) -> rusqlite::Result<Vec<TestActionRequestRecord>> {
    let sql = format!("SELECT {REQUEST_COLUMNS} FROM test_action_request ORDER BY request_id");
    connection.prepare(&sql)?.query_map([], request_row)?.collect()
}

pub(crate) fn resolve(
    connection: &Connection,
    (program, request_id): (ProgramId, &str),
    (state, action_id): (&str, Option<&str>),
    at: jiff::Timestamp,
) -> rusqlite::Result<bool> {
    let changed = connection.execute(
        "UPDATE test_action_request SET state = ?3, action_id = ?4, resolved_at = ?5
         WHERE program_id = ?1 AND request_id = ?2 AND state = 'OPEN'",
        params![id_to_sql(program.0), request_id, state, action_id, micros(at)],
    )?;
    Ok(changed == 1)
}
