//! `/programs/{id}/actions/{actionId}`: everything an action captured (SPEC §10): its
//! facts, its items with their payouts, the journey drawn across devices with the
//! winner and the rule, its identity, its updates and its integrity warnings.
//!
//! A partner sees its own actions only, with its sub ids; the other partners in its
//! journeys are not named, and the customer's identifiers are not shown to it.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::Value;
use tally_app::actions::{ActionError, ActionRef, REVERSAL_REASONS};
use tally_app::catalog::ProgramEntry;
use tally_app::ports::{ActionRecord, ActionUpdateRecord};
use tally_core::click::OwnerKind;
use tally_core::ids::PartnerId;
use tally_core::money::Currency;

use super::actions::state_class;
use super::format::{event_type_name, minute, money, money_text, owner_name, second, words};
use super::journey_svg::{self, Mark};
use super::layout::{Layout, Section};
use super::session::{Form, Session};
use super::warnings::{self, Warning};
use super::{PageError, html};
use crate::AppState;

#[derive(Template)]
#[template(path = "dashboard/detail.html")]
struct DetailPage {
    layout: Layout,
    back_href: String,
    state: String,
    state_class: &'static str,
    test: bool,
    facts: Vec<Fact>,
    warnings: Vec<Warning>,
    credit: String,
    items: Vec<ItemRow>,
    order_lines: Vec<LineRow>,
    notes: Vec<String>,
    order: Vec<Fact>,
    journey_svg: String,
    journey: Vec<TouchRow>,
    identity: Vec<IdentityRow>,
    updates: Vec<UpdateRow>,
    partner_view: bool,
    /// The brand may still reverse or approve it: pending, before its locking instant.
    changeable: bool,
    /// Where the reverse and approve forms post.
    change_href: String,
    reasons: &'static [&'static str],
    notice: Option<&'static str>,
}

/// A term and its value.
struct Fact {
    term: &'static str,
    value: String,
}

struct ItemRow {
    line: usize,
    sku: String,
    name: String,
    category: String,
    quantity: String,
    unit_price: String,
    sale_amount: String,
    payout: String,
    why: String,
}

struct LineRow {
    what: String,
    basis: String,
    amount: String,
}

struct TouchRow {
    time: String,
    device: String,
    owner: String,
    kind: String,
    source: String,
    position: String,
    credited: bool,
    verdict: String,
    click_id: String,
}

struct IdentityRow {
    key: String,
    via: String,
    linked_at: String,
}

struct UpdateRow {
    at: String,
    actor: String,
    change: String,
    amount: String,
    payout: String,
    reason: String,
}

/// `GET /programs/{id}/actions/{actionId}`.
pub(crate) async fn page(
    State(state): State<AppState>,
    session: Session,
    Path((id, action_id)): Path<(String, String)>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Result<Response, PageError> {
    let catalog = state.catalog.get();
    let entry = session.scope.program(&catalog, &id).ok_or(PageError::NotFound)?;
    let viewer = session.scope.partner();
    let action = state
        .store
        .action(&action_id)
        .await?
        .filter(|action| action.program == entry.program.id())
        .filter(|action| viewer.is_none_or(|partner| partner == action.owner))
        .ok_or(PageError::NotFound)?;
    let (updates, state_detail) =
        tokio::join!(state.store.action_updates(&action.action_id), state.statements.state_detail(&action));
    let (updates, state_detail) = (updates?, state_detail?);
    let detail: Value = serde_json::from_str(&action.detail).unwrap_or(Value::Null);
    let title = format!("Order {}", action.order_id);
    let layout = Layout::new(&session, &catalog, Some(&entry), Section::Actions, title);
    let view = View { entry: &entry, action: &action, detail: &detail, viewer };
    let (journey_svg, journey) = view.journey();
    let page = DetailPage {
        layout,
        back_href: format!("/programs/{}/actions", entry.program.id()),
        state: match state_detail {
            Some(detail) => format!("{} · {}", words(&action.state), words(detail)),
            None => words(&action.state),
        },
        state_class: state_class(&action.state),
        test: action.test,
        facts: view.facts(),
        warnings: warnings::of(&action, &detail, entry.program.currency()),
        credit: view.credit(),
        items: view.items(),
        order_lines: view.order_lines(),
        notes: detail["payoutNotes"]
            .as_array()
            .map(|notes| notes.iter().filter_map(|note| note["message"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default(),
        order: view.order(),
        journey_svg,
        journey,
        identity: if viewer.is_none() { view.identity() } else { Vec::new() },
        updates: update_rows(&entry, &updates, action.currency),
        partner_view: viewer.is_some(),
        changeable: session.scope.is_brand()
            && action.state == "PENDING"
            && action.locking_at.is_none_or(|locking_at| locking_at > state.clock.now()),
        change_href: format!("/programs/{}/actions/{}", entry.program.id(), action.action_id),
        reasons: REVERSAL_REASONS,
        notice: query.get("notice").and_then(|notice| notice_text(notice)),
    };
    Ok(html(StatusCode::OK, &page))
}

/// What a change answered, shown above the action.
fn notice_text(notice: &str) -> Option<&'static str> {
    Some(match notice {
        "reversed" => "The action was reversed.",
        "approved" => "The action was approved.",
        "locked" => "The action is locked and can no longer change.",
        "not_pending" => "The action is no longer pending.",
        "reason" => "Choose a reason from the list.",
        _ => return None,
    })
}

/// `POST …/actions/{actionId}/reverse` with a `reason`, or `…/approve`: the brand
/// changes a pending action, through the same use case as the API.
pub(crate) async fn change(
    State(state): State<AppState>,
    session: Session,
    Path((id, action_id, verb)): Path<(String, String, String)>,
    form: Form,
) -> Result<Response, PageError> {
    session.check_csrf(&state.keyed, &form)?;
    let entry = session.scope.brand_program(&state.catalog.get(), &id).ok_or(PageError::NotFound)?;
    let reference = ActionRef::Id(action_id.clone());
    let found = state.actions.find(&entry.account_sid, &reference).await;
    if !found.as_ref().is_ok_and(|action| action.program == entry.program.id()) {
        return Err(PageError::NotFound);
    }
    let outcome = match verb.as_str() {
        "reverse" => {
            let reason = form.get("reason").unwrap_or("");
            if !REVERSAL_REASONS.contains(&reason) {
                return Ok(back(&entry, &action_id, "reason"));
            }
            state.actions.reverse(&entry.account_sid, &reference, reason, &session.actor()).await.map(|_| "reversed")
        }
        "approve" => state.actions.approve(&entry.account_sid, &reference, &session.actor()).await.map(|_| "approved"),
        _ => return Err(PageError::NotFound),
    };
    match outcome {
        Ok(notice) => Ok(back(&entry, &action_id, notice)),
        Err(ActionError::Locked) => Ok(back(&entry, &action_id, "locked")),
        Err(ActionError::NotPending(_)) => Ok(back(&entry, &action_id, "not_pending")),
        Err(ActionError::Store(error)) => Err(PageError::Store(error)),
        Err(_) => Err(PageError::NotFound),
    }
}

fn back(entry: &ProgramEntry, action_id: &str, notice: &str) -> Response {
    let href = format!("/programs/{}/actions/{}?notice={notice}", entry.program.id(), action_id);
    Redirect::to(&href).into_response()
}

/// One action, seen by one viewer.
struct View<'a> {
    entry: &'a ProgramEntry,
    action: &'a ActionRecord,
    detail: &'a Value,
    /// The partner looking, if it is one.
    viewer: Option<PartnerId>,
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl View<'_> {
    fn time(&self, at: jiff::Timestamp) -> String {
        minute(at, self.entry.program.time_zone())
    }

    fn money(&self, value: &Value) -> String {
        value.as_str().map(|text| money_text(text, self.action.currency)).unwrap_or_default()
    }

    fn facts(&self) -> Vec<Fact> {
        let (action, program) = (self.action, &self.entry.program);
        let zone = program.time_zone();
        let mut facts = vec![
            Fact { term: "Order id", value: action.order_id.clone() },
            Fact { term: "Action id", value: action.action_id.clone() },
            Fact { term: "Event type", value: event_type_name(program, action.event_type) },
            Fact { term: "Partner", value: owner_name(program, action.owner) },
            Fact { term: "Sale amount", value: money(action.sale_amount, action.currency) },
            Fact { term: "Payout", value: money(action.payout, action.currency) },
            Fact { term: "Event date", value: second(action.event_at, zone) },
            Fact { term: "Created", value: second(action.created_at, zone) },
            Fact { term: "Locking date", value: action.locking_at.map(|at| second(at, zone)).unwrap_or("none".into()) },
        ];
        let mut optional = |term: &'static str, value: Option<String>| {
            if let Some(value) = value.filter(|value| !value.is_empty()) {
                facts.push(Fact { term, value });
            }
        };
        optional(
            "Referred",
            action.referring_at.map(|at| format!("{} by {}", second(at, zone), words(&action.referring_type))),
        );
        optional(
            "Ad",
            action.ad.map(|ad| {
                program
                    .document()
                    .ads
                    .iter()
                    .find(|a| a.id == ad)
                    .map_or(ad.to_string(), |a| format!("{} ({ad})", a.name))
            }),
        );
        optional("Promo code", action.promo_code.clone());
        optional("Customer status", action.customer_status.clone());
        optional("Shared id", action.shared_id.clone());
        optional("Device", action.device.clone());
        optional("Statement", action.statement_id.clone());
        if self.viewer.is_some() {
            for (index, sub_id) in action.sub_ids.iter().enumerate() {
                let term = ["Sub id 1", "Sub id 2", "Sub id 3"][index];
                optional(term, sub_id.clone());
            }
        } else {
            optional("Customer id", action.customer_id.clone());
            optional("Click id", action.click_id.clone());
            optional("Submission", Some(action.submission_id.clone()));
        }
        facts
    }

    /// Who won, and by which rule, in a sentence.
    fn credit(&self) -> String {
        let (action, program) = (self.action, &self.entry.program);
        let rule = match action.rule.as_str() {
            "LAST_CLICK" => "the last touch of the journey wins",
            "FIRST_CLICK" => "the first touch of the journey wins",
            "CREDIT_GROUP" => "the highest credit group in the journey wins",
            "PROMO_CODE_ALWAYS" => "the promo code's owner always wins",
            "PROMO_CODE_INVOLVED" => "the promo code's owner wins when it took part in the journey",
            "PROMO_CODE_WINNER" => "the promo code's owner also won by its touches",
            "MEDIA_PARTNER_ID" => "the conversion named the partner",
            "UNIQUE_URL" => "the conversion named the partner's unique URL",
            _ => "the program's credit policy",
        };
        let who = owner_name(program, action.owner);
        let paid = match action.owner_kind {
            OwnerKind::MediaSource => ", a media source: no partner is paid",
            OwnerKind::Partner => "",
        };
        format!("Credited to {who}{paid}, because {rule} ({}).", action.rule)
    }

    fn items(&self) -> Vec<ItemRow> {
        let Some(items) = self.detail["items"].as_array() else { return Vec::new() };
        let lines = self.detail["payoutLines"].as_array().cloned().unwrap_or_default();
        items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let own: Vec<&Value> =
                    lines.iter().filter(|line| line["item"].as_u64() == Some(index as u64)).collect();
                let payout = own
                    .iter()
                    .filter_map(|line| line["amount"].as_str()?.parse::<rust_decimal::Decimal>().ok())
                    .sum::<rust_decimal::Decimal>();
                ItemRow {
                    line: index + 1,
                    sku: text(&item["sku"]),
                    name: text(&item["name"]),
                    category: [text(&item["category"]), text(&item["subCategory"])]
                        .into_iter()
                        .filter(|part| !part.is_empty())
                        .collect::<Vec<_>>()
                        .join(" › "),
                    quantity: text(&item["quantity"]),
                    unit_price: self.money(&item["unitPrice"]),
                    sale_amount: self.money(&item["saleAmount"]),
                    payout: if own.is_empty() { "—".into() } else { money(payout, self.action.currency) },
                    why: own.iter().map(|line| line_reason(line)).collect::<Vec<_>>().join("; "),
                }
            })
            .collect()
    }

    /// Payout lines not tied to one item: the order's commission, and bonuses.
    fn order_lines(&self) -> Vec<LineRow> {
        let Some(lines) = self.detail["payoutLines"].as_array() else { return Vec::new() };
        lines
            .iter()
            .filter(|line| line["item"].is_null())
            .map(|line| LineRow {
                what: line_reason(line),
                basis: self.money(&line["basis"]),
                amount: self.money(&line["amount"]),
            })
            .collect()
    }

    fn order(&self) -> Vec<Fact> {
        let order = &self.detail["order"];
        let mut facts = Vec::new();
        for (term, value) in [
            ("Amount sent", self.money(&order["amount"])),
            ("Order discount", self.money(&order["discount"])),
            ("Shipping", self.money(&order["shipping"])),
            ("Tax", self.money(&order["tax"])),
            ("Subtotal after discount", self.money(&order["subTotalPostDiscount"])),
            ("Note", text(&self.detail["note"])),
            ("Property id", text(&self.detail["propertyId"])),
            ("Unique URL", text(&self.detail["uniqueUrl"])),
        ] {
            if !value.is_empty() {
                facts.push(Fact { term, value });
            }
        }
        facts
    }

    /// The journey as a drawing and as a table. Lanes are the identity's devices in the
    /// order they first appear.
    fn journey(&self) -> (String, Vec<TouchRow>) {
        let touches = self.detail["journey"].as_array().cloned().unwrap_or_default();
        let mut lanes: Vec<(String, String)> = Vec::new();
        let mut marks = Vec::new();
        let mut rows = Vec::new();
        for touch in &touches {
            let device = text(&touch["device"]);
            let key = match touch["visitor"].as_str() {
                Some(visitor) => visitor.to_owned(),
                None => format!("device:{device}"),
            };
            let lane = match lanes.iter().position(|(known, _)| *known == key) {
                Some(lane) => lane,
                None => {
                    let label =
                        format!("Device {} · {}", lanes.len() + 1, if device.is_empty() { "unknown" } else { &device });
                    lanes.push((key, label));
                    lanes.len() - 1
                }
            };
            let owner = self.touch_owner(touch);
            let at = touch["at"].as_str().and_then(|at| at.parse::<jiff::Timestamp>().ok());
            let time = at.map(|at| self.time(at)).unwrap_or_default();
            let credited = touch["credited"].as_bool().unwrap_or(false);
            let reason = touch["reason"].as_str().map(words);
            let position = words(&text(&touch["position"]));
            let kind = words(&text(&touch["kind"]));
            marks.push(Mark {
                lane,
                time: time.clone(),
                owner: owner.clone(),
                kind: kind.clone(),
                position: position.clone(),
                credited,
                reason: reason.clone(),
            });
            let own = self.viewer.is_none() || touch["partnerId"].as_u64() == self.viewer.map(|partner| partner.0);
            rows.push(TouchRow {
                time,
                device: lanes[lane].1.clone(),
                owner,
                kind,
                source: words(&text(&touch["source"])),
                position,
                credited,
                verdict: if credited { "Credited".into() } else { reason.unwrap_or_else(|| "Not credited".into()) },
                click_id: if own { text(&touch["clickId"]) } else { String::new() },
            });
        }
        let lane_labels: Vec<String> = lanes.into_iter().map(|(_, label)| label).collect();
        let svg = journey_svg::render(&lane_labels, &marks, &self.time(self.action.event_at));
        (svg, rows)
    }

    /// A touch's owner as this viewer may see it: a partner does not see who else
    /// took part, only that someone did.
    fn touch_owner(&self, touch: &Value) -> String {
        let Some(id) = touch["partnerId"].as_u64().map(PartnerId) else { return "Unknown".into() };
        match self.viewer {
            Some(own) if own != id => "Another partner".into(),
            _ => owner_name(&self.entry.program, id),
        }
    }

    fn identity(&self) -> Vec<IdentityRow> {
        let Some(keys) = self.detail["identity"].as_array() else { return Vec::new() };
        keys.iter()
            .map(|key| IdentityRow {
                key: text(&key["key"]),
                via: match key["via"].as_str() {
                    None => "This conversion".into(),
                    Some("conversion") => "An earlier conversion".into(),
                    Some("identify") => "An identify call".into(),
                    Some("page_load") => "A page load".into(),
                    Some(other) => words(other),
                },
                linked_at: key["linkedAt"]
                    .as_str()
                    .and_then(|at| at.parse::<jiff::Timestamp>().ok())
                    .map(|at| self.time(at))
                    .unwrap_or_default(),
            })
            .collect()
    }
}

/// Why a payout line pays what it pays.
fn line_reason(line: &Value) -> String {
    let index = |name: &str| line[name].as_u64().map(|index| index + 1);
    let mut parts = Vec::new();
    if line["kind"] == "BONUS" {
        parts.push(index("bonus").map_or("Bonus".to_owned(), |bonus| format!("Bonus {bonus}")));
    } else {
        parts.push("Commission".to_owned());
    }
    if let Some(rank) = line["group_rank"].as_u64() {
        parts.push(format!("payout group {rank}"));
    }
    if let Some(tier) = index("tier") {
        parts.push(format!("tier {tier}"));
    }
    if let Some(restriction) = index("restriction") {
        parts.push(format!("restriction {restriction}: pays nothing"));
    }
    if let Some(limit) = index("limit") {
        parts.push(format!("limit {limit} reached"));
    }
    parts.join(", ")
}

fn update_rows(entry: &ProgramEntry, updates: &[ActionUpdateRecord], currency: Currency) -> Vec<UpdateRow> {
    let zone = entry.program.time_zone();
    updates
        .iter()
        .map(|update| UpdateRow {
            at: second(update.at, zone),
            actor: update.actor.clone(),
            change: if update.from_state == update.to_state {
                words(&update.to_state)
            } else {
                format!("{} → {}", words(&update.from_state), words(&update.to_state))
            },
            amount: money(update.delta_amount, currency),
            payout: money(update.delta_payout, currency),
            reason: words(&update.reason),
        })
        .collect()
}
