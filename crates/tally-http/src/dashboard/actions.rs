//! `/programs/{id}/actions`: the action listing (SPEC §10), read by the same parameter
//! reader as the native API (`tally_app::listing`), so both show the same numbers. The
//! filter form is a GET form whose field names are the API's parameter names.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use tally_app::catalog::ProgramEntry;
use tally_app::listing::{self, Listing};
use tally_app::ports::ActionRecord;

use super::format::{event_type_name, minute, money, number, owner_name};
use super::layout::{Layout, Section};
use super::session::Session;
use super::{PageError, html, query_pairs, query_string, with_pair};
use crate::AppState;

#[derive(Template)]
#[template(path = "dashboard/actions.html")]
struct ActionsPage {
    layout: Layout,
    program_id: u64,
    filters: Filters,
    error: Option<String>,
    rows: Vec<ActionRow>,
    total: String,
    page: u64,
    pages: u64,
    previous: Option<String>,
    next: Option<String>,
    csv_href: String,
    partner_view: bool,
    several_event_types: bool,
    sort: SortHeaders,
}

/// The sortable columns' headers.
struct SortHeaders {
    created: SortHeader,
    event: SortHeader,
    locking: SortHeader,
    sale: SortHeader,
    payout: SortHeader,
}

/// A choice of a select.
pub(crate) struct Choice {
    pub(crate) value: String,
    pub(crate) label: String,
    pub(crate) selected: bool,
}

/// The choices of a select: "any" first (the empty value), then `list`.
pub(crate) fn choices(any: &str, list: Vec<(String, String)>, current: &str) -> Vec<Choice> {
    let mut all = vec![Choice { value: String::new(), label: any.to_owned(), selected: current.is_empty() }];
    all.extend(list.into_iter().map(|(value, label)| {
        let selected = value == current;
        Choice { value, label, selected }
    }));
    all
}

/// The form's fields, filled with what was asked.
struct Filters {
    /// Shown unfolded: when something is asked, so that it can be seen and changed.
    open: bool,
    /// How many filters are in use.
    active: usize,
    event_from: String,
    event_to: String,
    locking_from: String,
    locking_to: String,
    promo_code: String,
    order_id: String,
    sku: String,
    states: Vec<Choice>,
    partners: Vec<Choice>,
    event_types: Vec<Choice>,
    tests: Vec<Choice>,
    sorts: Vec<Choice>,
    page_sizes: Vec<Choice>,
}

struct ActionRow {
    href: String,
    created: String,
    event: String,
    locking: String,
    order_id: String,
    partner: String,
    event_type: String,
    state: String,
    state_class: &'static str,
    sale_amount: String,
    payout: String,
    promo_code: String,
    shared_id: String,
    sub_ids: String,
    test: bool,
}

/// A sortable column's header: a link that sorts by it, descending first.
struct SortHeader {
    label: &'static str,
    href: String,
    sorted: &'static str,
}

const SORTS: &[(&str, &str)] = &[
    ("creationDate", "Created"),
    ("eventDate", "Event date"),
    ("lockingDate", "Locking date"),
    ("saleAmount", "Sale amount"),
    ("payout", "Payout"),
];

/// `GET /programs/{id}/actions`.
pub(crate) async fn page(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let catalog = state.catalog.get();
    let entry = session.scope.program(&catalog, &id).ok_or(PageError::NotFound)?;
    let program = &entry.program;
    let pairs = query_pairs(raw.as_deref());
    let layout = Layout::new(&session, &catalog, Some(&entry), Section::Actions, "Actions");
    let mut page = ActionsPage {
        layout,
        program_id: program.id().0,
        filters: filters(&entry, &pairs, session.scope.is_brand()),
        error: None,
        rows: Vec::new(),
        total: "0".into(),
        page: 1,
        pages: 1,
        previous: None,
        next: None,
        csv_href: format!("/programs/{}/actions.csv{}", program.id(), query_string(&export_pairs(&pairs))),
        partner_view: !session.scope.is_brand(),
        several_event_types: program.document().event_types.len() > 1,
        sort: sort_headers(&pairs),
    };
    let listing = match listing::read(&pairs, program.id(), program.time_zone(), session.scope.viewer()) {
        Ok(listing) => listing,
        Err(error) => {
            page.error = Some(error.to_string());
            return Ok(html(StatusCode::BAD_REQUEST, &page));
        }
    };
    let (actions, total) =
        tokio::join!(state.store.list_actions(&listing.query), state.store.count_actions(&listing.query));
    let (actions, total) = (actions?, total?);
    page.rows = actions.iter().map(|action| row(&entry, action, !session.scope.is_brand())).collect();
    page.total = number(total.into(), 0);
    paging(&mut page, &pairs, &listing, total);
    Ok(html(StatusCode::OK, &page))
}

fn paging(page: &mut ActionsPage, pairs: &[(String, String)], listing: &Listing, total: u64) {
    let size = u64::from(listing.page_size);
    page.page = listing.page;
    page.pages = total.div_ceil(size).max(1);
    let link = |number: u64| {
        let base = format!("/programs/{}/actions", page.program_id);
        format!("{base}{}", query_string(&with_pair(pairs, "page", Some(&number.to_string()))))
    };
    page.previous = (listing.page > 1).then(|| link(listing.page - 1));
    page.next = (listing.page < page.pages).then(|| link(listing.page + 1));
}

/// The export's parameters: the same filters and order, every page.
pub(crate) fn export_pairs(pairs: &[(String, String)]) -> Vec<(String, String)> {
    pairs.iter().filter(|(name, _)| name != "page" && name != "pageSize").cloned().collect()
}

fn sort_headers(pairs: &[(String, String)]) -> SortHeaders {
    let current = pairs.iter().find(|(name, _)| name == "sort").map_or("-creationDate", |(_, value)| value.as_str());
    let header = |key: &str, label: &'static str| {
        let descending = format!("-{key}");
        let (sorted, next) = if current == descending {
            ("descending", key.to_owned())
        } else if current == key {
            ("ascending", descending)
        } else {
            ("", descending)
        };
        let changed = with_pair(&with_pair(pairs, "page", None), "sort", Some(&next));
        // Relative to the listing itself: only the query changes.
        let href = if changed.is_empty() { "?".to_owned() } else { query_string(&changed) };
        SortHeader { label, href, sorted }
    };
    SortHeaders {
        created: header("creationDate", "Created"),
        event: header("eventDate", "Event date"),
        locking: header("lockingDate", "Locking date"),
        sale: header("saleAmount", "Sale amount"),
        payout: header("payout", "Payout"),
    }
}

fn filters(entry: &ProgramEntry, pairs: &[(String, String)], brand: bool) -> Filters {
    let value = |name: &str| pairs.iter().find(|(key, _)| key == name).map_or("", |(_, value)| value.as_str());
    let document = entry.program.document();
    let states = ["PENDING", "APPROVED", "REVERSED"].map(|state| (state.to_owned(), super::format::words(state)));
    let mut owners: Vec<(String, String)> = Vec::new();
    if brand {
        owners.extend(document.partners.iter().map(|p| (p.id.to_string(), format!("{} ({})", p.name, p.id))));
        owners.extend(document.media_sources.iter().map(|m| (m.id.to_string(), format!("{} ({})", m.name, m.id))));
    }
    let event_types = document.event_types.iter().map(|t| (t.id.to_string(), t.name.clone())).collect();
    let tests = vec![("include".to_owned(), "Real and test".to_owned()), ("only".to_owned(), "Test only".to_owned())];
    let sorts = SORTS
        .iter()
        .flat_map(|(key, label)| {
            [
                (format!("-{key}"), format!("{label}, newest or largest first")),
                (key.to_string(), format!("{label}, oldest or smallest first")),
            ]
        })
        .filter(|(key, _)| key != "-creationDate")
        .collect();
    let sizes = ["25", "100", "250", "1000"].map(|size| (size.to_owned(), format!("{size} a page"))).to_vec();
    let active = pairs.iter().filter(|(name, _)| !["sort", "page", "pageSize"].contains(&name.as_str())).count();
    Filters {
        open: active > 0,
        active,
        event_from: value("eventDateFrom").to_owned(),
        event_to: value("eventDateTo").to_owned(),
        locking_from: value("lockingDateFrom").to_owned(),
        locking_to: value("lockingDateTo").to_owned(),
        promo_code: value("promoCode").to_owned(),
        order_id: value("orderId").to_owned(),
        sku: value("sku").to_owned(),
        states: choices("Any state", states.to_vec(), &value("state").to_ascii_uppercase()),
        partners: choices("Every partner", owners, value("partner")),
        event_types: choices("Every event type", event_types, value("eventType")),
        tests: choices("Real only", tests, value("test")),
        sorts: choices("Created, newest first", sorts, value("sort")),
        page_sizes: choices("50 a page", sizes, value("pageSize")),
    }
}

/// The class of a state's badge.
pub(crate) fn state_class(state: &str) -> &'static str {
    match state {
        "APPROVED" => "badge-approved",
        "REVERSED" => "badge-reversed",
        _ => "badge-pending",
    }
}

fn row(entry: &ProgramEntry, action: &ActionRecord, partner_view: bool) -> ActionRow {
    let program = &entry.program;
    let time_zone = program.time_zone();
    let sub_ids = if partner_view {
        action.sub_ids.iter().flatten().map(String::as_str).collect::<Vec<_>>().join(" · ")
    } else {
        String::new()
    };
    ActionRow {
        href: format!("/programs/{}/actions/{}", program.id(), action.action_id),
        created: minute(action.created_at, time_zone),
        event: minute(action.event_at, time_zone),
        locking: action.locking_at.map(|at| at.to_zoned(time_zone.clone()).date().to_string()).unwrap_or_default(),
        order_id: action.order_id.clone(),
        partner: owner_name(program, action.owner),
        event_type: event_type_name(program, action.event_type),
        state: super::format::words(&action.state),
        state_class: state_class(&action.state),
        sale_amount: money(action.sale_amount, action.currency),
        payout: money(action.payout, action.currency),
        promo_code: action.promo_code.clone().unwrap_or_default(),
        shared_id: action.shared_id.clone().unwrap_or_default(),
        sub_ids,
        test: action.test,
    }
}
