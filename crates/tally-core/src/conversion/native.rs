//! The native API's and the browser tag's conversion shape: the documented tag's
//! camelCase names (`orderId`, `items: [{subTotal, sku, …}]`), checked by the same
//! rules as the compatible API. Unknown names are refused here: this interface is ours,
//! and a misspelt field should not be silently dropped.

use serde_json::{Map, Value};

use super::{ConversionRequest, FieldError, compatible};
use crate::ids::ProgramId;

/// Order-level names and their compatible-API names.
const ORDER_FIELDS: [(&str, &str); 30] = [
    ("eventTypeId", "EventTypeId"),
    ("eventTypeCode", "EventTypeCode"),
    ("eventDate", "EventDate"),
    ("orderId", "OrderId"),
    ("clickId", "ClickId"),
    ("customerId", "CustomerId"),
    ("customProfileId", "CustomProfileId"),
    ("customerEmail", "CustomerEmail"),
    ("customerStatus", "CustomerStatus"),
    ("currencyCode", "CurrencyCode"),
    ("orderPromoCode", "OrderPromoCode"),
    ("promoCode", "PromoCode"),
    ("orderDiscount", "OrderDiscount"),
    ("orderShipping", "OrderShipping"),
    ("orderTax", "OrderTax"),
    ("orderSubTotalPostDiscount", "OrderSubTotalPostDiscount"),
    ("amount", "Amount"),
    ("mediaPartnerId", "MediaPartnerId"),
    ("subId1", "SubId1"),
    ("subId2", "SubId2"),
    ("subId3", "SubId3"),
    ("sharedId", "SharedId"),
    ("uniqueUrl", "UniqueUrl"),
    ("ipAddress", "IpAddress"),
    ("userAgent", "UserAgent"),
    ("note", "Note"),
    ("appleIfa", "AppleIfa"),
    ("googAId", "GoogAId"),
    ("androidId", "AndroidId"),
    ("appInstallRef", "AppInstallRef"),
];

/// Item names and their compatible-API names (without the number).
const ITEM_FIELDS: [(&str, &str); 10] = [
    ("sku", "ItemSku"),
    ("name", "ItemName"),
    ("category", "ItemCategory"),
    ("subCategory", "ItemSubCategory"),
    ("brand", "ItemBrand"),
    ("quantity", "ItemQuantity"),
    ("price", "ItemPrice"),
    ("subTotal", "ItemSubTotal"),
    ("totalDiscount", "ItemTotalDiscount"),
    ("promoCode", "ItemPromoCode"),
];

/// Reads one conversion object for `program`. Errors name fields as the caller wrote
/// them (`orderId`, `items[1].subTotal`). `identified` says the channel names the
/// visitor itself, as the tag does, so that no other attribution key is required.
pub fn parse(
    program: ProgramId,
    object: &Map<String, Value>,
    identified: bool,
) -> Result<ConversionRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut pairs = vec![("CampaignId".to_owned(), program.to_string())];
    let mut test = false;
    for (name, value) in object {
        if name == "items" {
            items(value, &mut pairs, &mut errors);
            continue;
        }
        if name == "test" {
            // A page is the shopper's: it must not be able to turn its own order into a
            // test that pays nobody.
            if identified {
                errors.push(FieldError::malformed("test", "test conversions come from the brand's server, not a page"));
                continue;
            }
            match value {
                Value::Bool(flag) => test = *flag,
                _ => errors.push(FieldError::malformed("test", "must be true or false")),
            }
            continue;
        }
        let Some((_, compatible_name)) = ORDER_FIELDS.iter().find(|(native, _)| native == name) else {
            errors.push(FieldError::malformed(name.as_str(), "is not a field of a conversion"));
            continue;
        };
        match scalar(value) {
            Ok(Some(text)) => pairs.push(((*compatible_name).to_owned(), text)),
            Ok(None) => {}
            Err(message) => errors.push(FieldError::malformed(name.as_str(), message)),
        }
    }
    match compatible::parse_identified(&pairs, identified) {
        Ok(request) if errors.is_empty() => Ok(ConversionRequest { test, ..request }),
        Ok(_) => Err(errors),
        Err(more) => {
            errors.extend(more.into_iter().map(|error| FieldError { field: native_name(&error.field), ..error }));
            Err(errors)
        }
    }
}

fn items(value: &Value, pairs: &mut Vec<(String, String)>, errors: &mut Vec<FieldError>) {
    let Value::Array(items) = value else {
        errors.push(FieldError::malformed("items", "must be an array of objects"));
        return;
    };
    for (index, item) in items.iter().enumerate() {
        let Value::Object(item) = item else {
            errors.push(FieldError::malformed(format!("items[{index}]"), "must be an object"));
            continue;
        };
        for (name, value) in item {
            let field = format!("items[{index}].{name}");
            let Some((_, compatible_name)) = ITEM_FIELDS.iter().find(|(native, _)| native == name) else {
                errors.push(FieldError::malformed(field, "is not a field of an item"));
                continue;
            };
            match scalar(value) {
                Ok(Some(text)) => pairs.push((format!("{compatible_name}{}", index + 1), text)),
                Ok(None) => {}
                Err(message) => errors.push(FieldError::malformed(field, message)),
            }
        }
    }
}

/// A JSON string or number as text; `null` as absent.
fn scalar(value: &Value) -> Result<Option<String>, &'static str> {
    match value {
        Value::String(text) => Ok(Some(text.clone())),
        Value::Number(number) => Ok(Some(number.to_string())),
        Value::Null => Ok(None),
        _ => Err("must be a string or a number"),
    }
}

/// The caller's name for a compatible-API field name.
fn native_name(compatible: &str) -> String {
    if let Some((native, _)) = ORDER_FIELDS.iter().find(|(_, name)| name.eq_ignore_ascii_case(compatible)) {
        return (*native).to_owned();
    }
    if compatible == "ActionTrackerId" {
        return "eventTypeId".into();
    }
    for (native, name) in ITEM_FIELDS {
        if let Some(number) = compatible.strip_prefix(name).and_then(|rest| rest.parse::<usize>().ok()) {
            return format!("items[{}].{native}", number.saturating_sub(1));
        }
    }
    compatible.to_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        let Value::Object(map) = value else { panic!("not an object") };
        map
    }

    #[test]
    fn reads_the_tag_shape_with_items() {
        let request = parse(
            ProgramId(7),
            &object(json!({
                "eventTypeId": 1, "eventDate": "NOW", "orderId": "O-1", "clickId": "abc", "currencyCode": "USD",
                "items": [{"sku": "A", "subTotal": "10.50", "quantity": 2}, {"sku": "B", "price": 3}]
            })),
            false,
        )
        .unwrap();
        assert_eq!(request.program, Some(ProgramId(7)));
        assert_eq!(request.items.len(), 2);
        assert_eq!(request.items[0].quantity, 2);
        assert_eq!(request.items[1].unit_price, Some(3.into()));
    }

    #[test]
    fn errors_use_the_callers_names() {
        let errors = parse(
            ProgramId(7),
            &object(json!({
                "eventTypeId": 1, "eventDate": "NOW", "clickId": "abc", "currencyCode": "USD", "colour": "red",
                "items": [{"sku": "A", "subTotal": "ten"}, {"size": 3}]
            })),
            false,
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|error| error.field.as_str()).collect();
        assert_eq!(fields, ["colour", "items[1].size", "orderId", "items[0].subTotal"]);
    }
}
