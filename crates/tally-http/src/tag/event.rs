//! What the tag sends to `POST /collect`, parsed strictly: the body is written by
//! pages we do not control, so every name is checked and every value bounded, and an
//! error names the field, as the S2S API's do.

use serde_json::{Map, Value};
use tally_core::conversion::compatible::{MAX_VALUE_LEN, parse_email_hash};

use crate::error::{ApiError, ErrorKind};

/// Names that carry an identifier; in a conversion they are conversion fields too.
const ID_FIELDS: [&str; 4] = ["clickId", "customerId", "customerEmail", "customProfileId"];
/// The longest click id read (Tally's are 22 characters; other formats stay well within).
const MAX_CLICK_ID_LEN: usize = 64;

/// One event from the tag.
#[derive(Debug)]
pub(super) struct TagEvent {
    /// The tag's first-party visitor id (the `tally_fp` cookie), 32 hex digits.
    pub(super) visitor: String,
    /// The click id from the landing URL, kept in the brand's `tally_click` cookie.
    pub(super) click_id: Option<String>,
    pub(super) kind: EventKind,
}

/// What happened.
#[derive(Debug)]
pub(super) enum EventKind {
    /// A page was opened with a click id in its URL.
    Landing,
    /// The page named its customer.
    Identify(Customer),
    /// A conversion, in the native shape (with the identifiers folded in).
    Conversion(Map<String, Value>),
}

/// The identifiers an `identify` call gives.
#[derive(Debug, Default)]
pub(super) struct Customer {
    pub(super) customer_id: Option<String>,
    /// A SHA-1 or SHA-256 hex digest, lower-cased: the page hashes plain emails.
    pub(super) email_hash: Option<String>,
    pub(super) profile_id: Option<String>,
}

/// Parses a collection body.
pub(super) fn parse(body: &[u8]) -> Result<TagEvent, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| ApiError::new(ErrorKind::MalformedBody, format!("the body is not JSON: {error}")))?;
    let Value::Object(mut object) = value else {
        return Err(ApiError::new(ErrorKind::MalformedBody, "the body must be a JSON object"));
    };
    let kind = take_text(&mut object, "type", 16)?.ok_or_else(|| ApiError::parameter("type", "is required"))?;
    let visitor =
        take_text(&mut object, "visitor", 32)?.ok_or_else(|| ApiError::parameter("visitor", "is required"))?;
    if visitor.len() != 32 || !visitor.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(ApiError::parameter("visitor", "must be 32 lower-case hex digits"));
    }
    let click_id = take_text(&mut object, "clickId", MAX_CLICK_ID_LEN)?;
    if let Some(click_id) = &click_id
        && !click_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ApiError::parameter("clickId", "may hold only letters, digits, '-' and '_'"));
    }
    let kind = match kind.as_str() {
        "landing" => landing(&object, click_id.is_some())?,
        "identify" => EventKind::Identify(customer(&mut object)?),
        "conversion" => conversion(object, click_id.as_deref())?,
        other => {
            return Err(ApiError::parameter("type", format!("must be landing, identify or conversion, not {other:?}")));
        }
    };
    Ok(TagEvent { visitor, click_id, kind })
}

fn landing(rest: &Map<String, Value>, has_click_id: bool) -> Result<EventKind, ApiError> {
    if let Some(name) = rest.keys().next() {
        return Err(ApiError::parameter(name, "is not a field of a landing event"));
    }
    if !has_click_id {
        return Err(ApiError::parameter("clickId", "is required for a landing event"));
    }
    Ok(EventKind::Landing)
}

fn customer(object: &mut Map<String, Value>) -> Result<Customer, ApiError> {
    let customer_id = take_text(object, "customerId", MAX_VALUE_LEN)?;
    let email = take_text(object, "customerEmail", 64)?;
    let email_hash = match email {
        Some(email) => Some(
            parse_email_hash(&email)
                .ok_or_else(|| ApiError::parameter("customerEmail", "must be a SHA-1 or SHA-256 hex digest"))?,
        ),
        None => None,
    };
    let profile_id = take_text(object, "customProfileId", MAX_VALUE_LEN)?;
    if let Some(name) = object.keys().next() {
        return Err(ApiError::parameter(name, "is not a field of an identify event"));
    }
    if customer_id.is_none() && email_hash.is_none() && profile_id.is_none() {
        return Err(ApiError::parameter("customerId", "identify needs customerId, customerEmail or customProfileId"));
    }
    Ok(Customer { customer_id, email_hash, profile_id })
}

/// Folds the event's identifiers (and `eventTypeId`) into the conversion object, which
/// the native parser then checks like any other conversion.
fn conversion(mut object: Map<String, Value>, click_id: Option<&str>) -> Result<EventKind, ApiError> {
    let Some(value) = object.remove("conversion") else {
        return Err(ApiError::parameter("conversion", "is required for a conversion event"));
    };
    let Value::Object(mut conversion) = value else {
        return Err(ApiError::parameter("conversion", "must be an object"));
    };
    if let Some(click_id) = click_id {
        object.insert("clickId".into(), Value::String(click_id.into()));
    }
    for (name, value) in object {
        if !ID_FIELDS.contains(&name.as_str()) && name != "eventTypeId" {
            return Err(ApiError::parameter(&name, "is not a field of a conversion event"));
        }
        match conversion.get(&name) {
            Some(inner) if *inner != value => {
                return Err(ApiError::parameter(&name, "is given twice, with different values"));
            }
            _ => {
                conversion.insert(name, value);
            }
        }
    }
    Ok(EventKind::Conversion(conversion))
}

/// Removes a field that must be a non-empty string (or an integer, which pages often
/// use for ids) of at most `max_len` bytes.
fn take_text(object: &mut Map<String, Value>, name: &str, max_len: usize) -> Result<Option<String>, ApiError> {
    let text = match object.remove(name) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) => text.trim().to_owned(),
        Some(Value::Number(number)) if number.is_u64() || number.is_i64() => number.to_string(),
        Some(_) => return Err(ApiError::parameter(name, "must be a string")),
    };
    if text.is_empty() {
        return Err(ApiError::parameter(name, "must not be empty"));
    }
    if text.len() > max_len {
        return Err(ApiError::parameter(name, format!("must be at most {max_len} bytes")));
    }
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const VISITOR: &str = "0123456789abcdef0123456789abcdef";

    fn error_of(body: Value) -> String {
        format!("{:?}", parse(body.to_string().as_bytes()).unwrap_err())
    }

    #[test]
    fn a_conversion_takes_the_click_id_and_event_type_from_the_event() {
        let body = json!({"type": "conversion", "visitor": VISITOR, "clickId": "abc", "eventTypeId": 1,
                          "conversion": {"orderId": "O-1"}});
        let event = parse(body.to_string().as_bytes()).unwrap();
        let EventKind::Conversion(conversion) = event.kind else { panic!("a conversion") };
        assert_eq!(Value::Object(conversion), json!({"orderId": "O-1", "clickId": "abc", "eventTypeId": 1}));
    }

    #[test]
    fn errors_name_the_field() {
        assert!(error_of(json!({"type": "click", "visitor": VISITOR})).contains("type: must be"));
        assert!(error_of(json!({"type": "landing", "visitor": "xyz"})).contains("visitor: must be 32"));
        assert!(error_of(json!({"type": "landing", "visitor": VISITOR, "clickId": "a", "page": 1})).contains("page:"));
        assert!(
            error_of(json!({"type": "identify", "visitor": VISITOR, "customerEmail": "a@b.c"}))
                .contains("customerEmail:")
        );
        let twice =
            json!({"type": "conversion", "visitor": VISITOR, "customerId": "1", "conversion": {"customerId": "2"}});
        assert!(error_of(twice).contains("customerId: is given twice"));
    }
}
