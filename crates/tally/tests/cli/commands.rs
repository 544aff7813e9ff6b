//! The store commands in exactly the forms of SPEC §1 and §12: what scripts run and read.

use serde_json::{Value, json};

use crate::helpers::{Sandbox, program_document, run};

fn keys(object: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = object.as_object().expect("a JSON object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

fn non_empty_text<'a>(object: &'a Value, key: &str) -> &'a str {
    let text = object[key].as_str().unwrap_or_else(|| panic!("{key} is a string in {object}"));
    assert!(!text.is_empty(), "{key} is empty in {object}");
    text
}

#[test]
fn account_create_prints_one_json_line_with_the_account_sid_and_auth_token() {
    let sandbox = Sandbox::new();
    let credentials = sandbox.run(&["account", "create", "--name", "Acme"]).json_line();
    assert_eq!(keys(&credentials), ["account_sid", "auth_token"]);
    let sid = non_empty_text(&credentials, "account_sid");
    let token = non_empty_text(&credentials, "auth_token");
    assert_ne!(sid, token);

    let other = sandbox.run(&["account", "create", "--name", "Acme"]).json_line();
    assert_ne!(other["account_sid"], credentials["account_sid"], "every account gets its own sid");
}

#[test]
fn token_create_prints_a_token_for_the_account_and_for_one_named_partner() {
    let sandbox = Sandbox::new();
    let account_sid = sandbox.create_account();

    let brand = sandbox.run(&["token", "create", "--account", &account_sid]).json_line();
    assert_eq!(keys(&brand), ["token"]);
    non_empty_text(&brand, "token");

    let partner = sandbox.run(&["token", "create", "--account", &account_sid, "--partner", "7", "--name", "x"]);
    let partner = partner.json_line();
    assert_eq!(keys(&partner), ["token"]);
    assert_ne!(non_empty_text(&partner, "token"), non_empty_text(&brand, "token"));
}

#[test]
fn token_create_for_an_unknown_account_fails_naming_the_account() {
    let sandbox = Sandbox::new();
    sandbox.create_account();
    let stderr = sandbox.run(&["token", "create", "--account", "TAnobody"]).failure();
    assert!(stderr.contains("TAnobody") && stderr.contains("does not exist"), "{stderr}");
}

#[test]
fn token_create_with_a_partner_that_is_not_an_id_fails_naming_the_flag() {
    let sandbox = Sandbox::new();
    let account_sid = sandbox.create_account();
    let stderr = sandbox.run(&["token", "create", "--account", &account_sid, "--partner", "abc"]).failure();
    assert!(stderr.contains("--partner") && stderr.contains("abc"), "{stderr}");
}

#[test]
fn program_apply_creates_then_reports_the_same_document_unchanged() {
    let sandbox = Sandbox::new();
    let account_sid = sandbox.create_account();
    let document = program_document(4242);

    let created = sandbox.apply_program(&account_sid, &document);
    assert_eq!(created, json!({"program_id": 4242, "outcome": "created", "revision": 1}));
    let again = sandbox.apply_program(&account_sid, &document);
    assert_eq!(again, json!({"program_id": 4242, "outcome": "unchanged", "revision": 1}));

    let mut renamed = document.clone();
    renamed["program"]["name"] = json!("Test shop, renamed");
    let updated = sandbox.apply_program(&account_sid, &renamed);
    assert_eq!(updated, json!({"program_id": 4242, "outcome": "updated", "revision": 2}));
}

#[test]
fn program_export_prints_the_canonical_document_which_applies_unchanged() {
    let sandbox = Sandbox::new();
    let account_sid = sandbox.create_account();
    // Written compactly and with defaults left out: the export is the canonical form.
    let compact = program_document(4242).to_string();
    std::fs::write(sandbox.file("compact.json"), &compact).expect("writable sandbox");
    let applied = sandbox.run(&["program", "apply", "compact.json", "--account", &account_sid]).json_line();
    assert_eq!(applied["outcome"], "created");

    let exported = sandbox.run(&["program", "export", "4242"]).success();
    assert!(exported.ends_with("}\n") && !exported.ends_with("\n\n"), "one document and one newline: {exported:?}");
    let exported_value: Value = serde_json::from_str(&exported).expect("the export is one JSON document");
    assert_eq!(exported_value["program"]["id"], 4242);
    assert_eq!(exported_value["partners"], program_document(4242)["partners"]);
    assert_ne!(exported, compact, "the export is the canonical (pretty) form, not the applied text");
    assert!(exported.starts_with("{\n  \"program\": {\n    \"id\": 4242,"), "{exported}");

    std::fs::write(sandbox.file("exported.json"), &exported).expect("writable sandbox");
    let reapplied = sandbox.run(&["program", "apply", "exported.json", "--account", &account_sid]).json_line();
    assert_eq!(reapplied, json!({"program_id": 4242, "outcome": "unchanged", "revision": 1}));
    let exported_again = sandbox.run(&["program", "export", "4242"]).success();
    assert_eq!(exported_again, exported, "exporting is stable byte for byte");
}

#[test]
fn program_export_of_an_unknown_program_fails_naming_it() {
    let sandbox = Sandbox::new();
    sandbox.set_up_program(4242);
    let stderr = sandbox.run(&["program", "export", "999"]).failure();
    assert!(stderr.contains("program 999 not found"), "{stderr}");
    let stderr = sandbox.run(&["program", "export", "abc"]).failure();
    assert!(stderr.contains("\"abc\" is not a program id"), "{stderr}");
}

#[test]
fn an_invalid_program_document_is_refused_whole_with_every_problem_and_its_path() {
    let sandbox = Sandbox::new();
    let account_sid = sandbox.create_account();
    sandbox.apply_program(&account_sid, &program_document(4242));
    let before = sandbox.run(&["program", "export", "4242"]).success();

    let mut invalid = program_document(4242);
    invalid["program"]["name"] = json!("");
    invalid["program"]["time_zone"] = json!("Mars/Olympus_Mons");
    invalid["program"]["default_landing_page"] = json!("not a url");
    invalid["partners"][1]["id"] = json!(7);
    invalid["contracts"][0]["template_terms"] = json!(99);
    std::fs::write(sandbox.file("invalid.json"), invalid.to_string()).expect("writable sandbox");
    let stderr = sandbox.run(&["program", "apply", "invalid.json", "--account", &account_sid]).failure();
    for path in [
        "program.name:",
        "program.time_zone:",
        "program.default_landing_page:",
        "partners[1].id:",
        "contracts[0].template_terms:",
    ] {
        assert!(stderr.contains(path), "the problem at {path} is not listed:\n{stderr}");
    }
    assert!(stderr.contains("Mars/Olympus_Mons"), "{stderr}");

    let after = sandbox.run(&["program", "export", "4242"]).success();
    assert_eq!(after, before, "a refused document changes nothing");
}

#[test]
fn a_document_with_an_unknown_key_is_refused_naming_the_key_and_its_path() {
    let sandbox = Sandbox::new();
    let account_sid = sandbox.create_account();
    let mut document = program_document(4242);
    document["partners"][0]["colour"] = json!("red");
    std::fs::write(sandbox.file("unknown.json"), document.to_string()).expect("writable sandbox");
    let stderr = sandbox.run(&["program", "apply", "unknown.json", "--account", &account_sid]).failure();
    assert!(stderr.contains("partners[0].colour"), "{stderr}");
    sandbox.run(&["program", "export", "4242"]).failure();
}

#[test]
fn program_apply_for_an_unknown_account_fails_naming_the_account() {
    let sandbox = Sandbox::new();
    sandbox.create_account();
    std::fs::write(sandbox.file("program.json"), program_document(4242).to_string()).expect("writable sandbox");
    let stderr = sandbox.run(&["program", "apply", "program.json", "--account", "TAnobody"]).failure();
    assert!(stderr.contains("TAnobody"), "{stderr}");
}

#[test]
fn program_apply_reads_the_document_from_standard_input_given_a_dash() {
    let sandbox = Sandbox::new();
    let account_sid = sandbox.create_account();
    let document = program_document(4242).to_string();
    let apply = || sandbox.tally_on_store(&["program", "apply", "-", "--account", &account_sid]);

    let created = run(apply(), Some(&document)).json_line();
    assert_eq!(created["outcome"], "created");
    let unchanged = run(apply(), Some(&document)).json_line();
    assert_eq!(unchanged["outcome"], "unchanged");
    let stderr = run(apply(), Some("{\"program\": ")).failure();
    assert!(stderr.contains("not applied"), "{stderr}");
}
