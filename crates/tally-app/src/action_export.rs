//! The action listing as CSV, the whole result of a question, chunk by chunk: pages
//! are read after a (creation time, id) cursor, so memory stays flat and no row is
//! skipped or read twice however many there are. The rows are in creation order.

use std::sync::Arc;

use crate::csv_text::{end_line, push_field, push_text};
use crate::ports::{ActionQuery, ActionRecord, ActionSortKey, Store, StoreResult};

/// Rows read per page.
const PAGE: u32 = 5_000;

/// The CSV header, with sub ids for a partner only.
pub fn csv_header(with_sub_ids: bool) -> String {
    let sub_ids = if with_sub_ids { "sub_id1,sub_id2,sub_id3," } else { "" };
    format!(
        "action_id,creation_date,event_date,locking_date,state,partner_id,owner_kind,rule,event_type_id,order_id,\
         currency,sale_amount,payout,promo_code,customer_status,shared_id,{sub_ids}statement_id,test\n"
    )
}

/// Appends one action as a CSV line.
pub fn write_csv(action: &ActionRecord, with_sub_ids: bool, out: &mut String) {
    let time = |at: Option<jiff::Timestamp>| at.map(|at| at.to_string()).unwrap_or_default();
    push_field(out, &action.action_id);
    push_field(out, &action.created_at.to_string());
    push_field(out, &action.event_at.to_string());
    push_field(out, &time(action.locking_at));
    push_field(out, &action.state);
    push_field(out, &action.owner.0.to_string());
    push_field(out, action.owner_kind.as_str());
    push_field(out, &action.rule);
    push_field(out, &action.event_type.0.to_string());
    push_text(out, &action.order_id);
    push_field(out, action.currency.code());
    push_field(out, &action.sale_amount.to_string());
    push_field(out, &action.payout.to_string());
    push_text(out, action.promo_code.as_deref().unwrap_or(""));
    push_text(out, action.customer_status.as_deref().unwrap_or(""));
    push_text(out, action.shared_id.as_deref().unwrap_or(""));
    if with_sub_ids {
        for sub_id in &action.sub_ids {
            push_text(out, sub_id.as_deref().unwrap_or(""));
        }
    }
    push_field(out, action.statement_id.as_deref().unwrap_or(""));
    push_field(out, if action.test { "true" } else { "false" });
    end_line(out);
}

/// An export in progress.
pub struct ActionExport {
    store: Arc<dyn Store>,
    query: ActionQuery,
    with_sub_ids: bool,
    started: bool,
    done: bool,
}

impl ActionExport {
    /// Exports every action `query` matches (its page and order are replaced), with sub
    /// ids only when `with_sub_ids` (a partner's own export).
    pub fn new(store: Arc<dyn Store>, query: ActionQuery, with_sub_ids: bool) -> Self {
        let query = ActionQuery {
            sort: ActionSortKey::CreatedAt,
            descending: false,
            offset: 0,
            limit: PAGE,
            after: None,
            ..query
        };
        ActionExport { store, query, with_sub_ids, started: false, done: false }
    }

    /// The next chunk of CSV text; `None` when the export is complete.
    pub async fn next_chunk(&mut self) -> StoreResult<Option<String>> {
        if self.done {
            return Ok(None);
        }
        let mut chunk = String::new();
        if !self.started {
            self.started = true;
            chunk.push_str(&csv_header(self.with_sub_ids));
        }
        let page = self.store.list_actions(&self.query).await?;
        self.done = page.len() < PAGE as usize;
        for action in &page {
            write_csv(action, self.with_sub_ids, &mut chunk);
        }
        self.query.after = page.last().map(|last| (last.created_at, last.action_id.clone()));
        Ok(Some(chunk))
    }
}
