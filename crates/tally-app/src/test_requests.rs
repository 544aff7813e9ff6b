//! A partner asks the brand for a test action (SPEC §8): the brand answers the request
//! with a test action it made for that partner (through the real flow, as any test
//! action), or has one made from the request itself, or declines it. The request keeps
//! which action answered it.

use std::sync::Arc;

use rust_decimal::Decimal;
use serde_json::json;
use tally_core::click::OwnerKind;
use tally_core::conversion::native;
use tally_core::ids::{EventTypeId, PartnerId, ProgramId};

use crate::catalog::CatalogHandle;
use crate::conversions::{Channel, Conversions, Decision, Submission};
use crate::ports::{Clock, Store, StoreError, TestActionRequestRecord};
use crate::secrets::random_token;

/// The longest note a partner may leave, in characters.
pub const MAX_NOTE_CHARS: usize = 500;

/// Why a request could not be made or answered.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// No such request in this program (or not this partner's).
    #[error("test action request {0:?} not found")]
    NotFound(String),
    /// The request was fulfilled or declined already.
    #[error("test action request {0:?} is {1}, not OPEN")]
    NotOpen(String, String),
    /// The asker is no partner of the program.
    #[error("partner {0} is not a partner of this program")]
    NotAPartner(PartnerId),
    /// The note is too long or holds control characters.
    #[error("note: {0}")]
    BadNote(String),
    /// The action named to fulfil it cannot answer it.
    #[error("actionId: {0}")]
    BadAction(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The test conversion the brand has made to answer a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestConversion {
    /// The event type; the program's first when `None`.
    pub event_type: Option<EventTypeId>,
    /// The sale amount, in the program's currency.
    pub amount: Decimal,
}

/// Partners' test action requests.
#[derive(Clone)]
pub struct TestRequests {
    store: Arc<dyn Store>,
    catalog: Arc<CatalogHandle>,
    clock: Arc<dyn Clock>,
    conversions: Conversions,
}

impl TestRequests {
    /// Builds the use case; `conversions` makes the test actions it is asked to make.
    pub fn new(
        store: Arc<dyn Store>,
        catalog: Arc<CatalogHandle>,
        clock: Arc<dyn Clock>,
        conversions: Conversions,
    ) -> Self {
        TestRequests { store, catalog, clock, conversions }
    }

    /// A partner of `program` asks for a test action, with an optional note.
    pub async fn ask(
        &self,
        program: ProgramId,
        partner: PartnerId,
        note: &str,
    ) -> Result<TestActionRequestRecord, RequestError> {
        let is_partner =
            self.catalog.get().program(program).is_some_and(|entry| {
                entry.program.owner(partner).is_some_and(|owner| owner.kind == OwnerKind::Partner)
            });
        if !is_partner {
            return Err(RequestError::NotAPartner(partner));
        }
        let note = note.trim();
        if note.chars().count() > MAX_NOTE_CHARS {
            return Err(RequestError::BadNote(format!("at most {MAX_NOTE_CHARS} characters")));
        }
        if note.chars().any(|c| c.is_control() && c != '\n') {
            return Err(RequestError::BadNote("no control characters but line breaks".into()));
        }
        let request = TestActionRequestRecord {
            request_id: random_token(1),
            program,
            partner,
            note: note.to_owned(),
            state: "OPEN".into(),
            action_id: None,
            created_at: self.clock.now(),
            resolved_at: None,
        };
        self.store.insert_test_action_request(&request).await?;
        Ok(request)
    }

    /// The program's requests, newest first: a partner's own, or all for the brand.
    pub async fn list(
        &self,
        program: ProgramId,
        partner: Option<PartnerId>,
    ) -> Result<Vec<TestActionRequestRecord>, RequestError> {
        let mut requests = self.store.test_action_requests(program).await?;
        requests.retain(|request| partner.is_none_or(|partner| request.partner == partner));
        Ok(requests)
    }

    /// The brand answers an open request with `action_id`: a test action of this
    /// program, credited to the partner who asked.
    pub async fn fulfil(
        &self,
        program: ProgramId,
        request_id: &str,
        action_id: &str,
    ) -> Result<TestActionRequestRecord, RequestError> {
        let request = self.open_request(program, request_id).await?;
        let action = self.store.action(action_id).await?.filter(|action| action.program == program);
        let Some(action) = action else {
            return Err(RequestError::BadAction(format!("no action {action_id:?} in this program")));
        };
        if !action.test {
            return Err(RequestError::BadAction("a real action cannot answer a test request".into()));
        }
        if action.owner != request.partner {
            let message =
                format!("the action is credited to {}, the request is partner {}'s", action.owner, request.partner);
            return Err(RequestError::BadAction(message));
        }
        self.resolve(request, "FULFILLED", Some(action_id)).await
    }

    /// The brand answers an open request by having the test action made: a test
    /// conversion credited directly to the partner who asked (as `mediaPartnerId` does
    /// in the native API), through the real flow, stored as a native API submission.
    /// Its order id is `TEST-` and the request's id, so the request can make one only.
    pub async fn fulfil_with_test_conversion(
        &self,
        account_sid: &str,
        program: ProgramId,
        request_id: &str,
        conversion: &TestConversion,
    ) -> Result<TestActionRequestRecord, RequestError> {
        let request = self.open_request(program, request_id).await?;
        let catalog = self.catalog.get();
        let Some(entry) = catalog.program(program).filter(|entry| entry.account_sid == account_sid) else {
            return Err(RequestError::NotFound(request_id.to_owned()));
        };
        let event_type = conversion.event_type.or_else(|| entry.program.document().event_types.first().map(|e| e.id));
        let Some(event_type) = event_type else {
            return Err(RequestError::BadAction("the program has no event type to make a test action of".into()));
        };
        let body = json!({
            "eventTypeId": event_type.0,
            "eventDate": "NOW",
            "orderId": format!("TEST-{}", request.request_id),
            "mediaPartnerId": request.partner.0,
            "amount": conversion.amount.to_string(),
            "currencyCode": entry.program.currency().code(),
            "note": format!("test action request {}", request.request_id),
            "test": true,
        });
        let submission = Submission {
            account_sid: account_sid.to_owned(),
            channel: Channel::Api,
            payload: body.to_string(),
            content_type: "application/json".into(),
            extra_keys: Vec::new(),
        };
        let object = body.as_object().cloned().unwrap_or_default();
        let outcome = self.conversions.submit(submission, native::parse(program, &object, false)).await?;
        match outcome.decision {
            Decision::Credited(action) => self.resolve(request, "FULFILLED", Some(&action.action_id)).await,
            Decision::Refused { message, .. } => {
                Err(RequestError::BadAction(format!("the test conversion was refused: {message}")))
            }
            Decision::Invalid(errors) => {
                let reasons: Vec<String> =
                    errors.iter().map(|error| format!("{}: {}", error.field, error.message)).collect();
                Err(RequestError::BadAction(format!("the test conversion is invalid: {}", reasons.join("; "))))
            }
        }
    }

    /// The brand declines an open request.
    pub async fn decline(&self, program: ProgramId, request_id: &str) -> Result<TestActionRequestRecord, RequestError> {
        let request = self.open_request(program, request_id).await?;
        self.resolve(request, "DECLINED", None).await
    }

    async fn open_request(
        &self,
        program: ProgramId,
        request_id: &str,
    ) -> Result<TestActionRequestRecord, RequestError> {
        let requests = self.store.test_action_requests(program).await?;
        let request = requests
            .into_iter()
            .find(|request| request.request_id == request_id)
            .ok_or_else(|| RequestError::NotFound(request_id.to_owned()))?;
        if request.state != "OPEN" {
            return Err(RequestError::NotOpen(request.request_id, request.state));
        }
        Ok(request)
    }

    async fn resolve(
        &self,
        request: TestActionRequestRecord,
        state: &str,
        action_id: Option<&str>,
    ) -> Result<TestActionRequestRecord, RequestError> {
        let at = self.clock.now();
        let program = request.program;
        if !self.store.resolve_test_action_request(program, &request.request_id, state, action_id, at).await? {
            // Another answer came first.
            let now = self.store.test_action_requests(program).await?;
            let state =
                now.iter().find(|other| other.request_id == request.request_id).map(|other| other.state.clone());
            return Err(RequestError::NotOpen(request.request_id, state.unwrap_or_default()));
        }
        Ok(TestActionRequestRecord {
            state: state.into(),
            action_id: action_id.map(str::to_owned),
            resolved_at: Some(at),
            ..request
        })
    }
}
