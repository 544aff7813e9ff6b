//! The storage conformance suite: every [`Store`] implementation must pass it.
//!
//! An adapter instantiates it with [`store_conformance_tests!`](crate::store_conformance_tests),
//! giving an async function that returns a fresh, empty store (or `None` when its
//! database is not available here, in which case each test says loudly that it skipped).

// A test suite: a failed expectation is the report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::any::Any;
use std::sync::Arc;

use jiff::Timestamp;
use tally_core::click::{Click, DeviceType, OwnerKind, TouchSource};
use tally_core::ids::{AdId, ClickId, PartnerId, ProgramId, VisitorId};

pub mod conversions;
pub mod listing;
pub mod rollups;
pub mod statements;
pub use conversions::*;
pub use listing::*;
pub use rollups::*;
pub use statements::*;

use crate::ports::{
    AccountRecord, ApiTokenRecord, ClickBatch, ClickQuery, SaveOutcome, SettingRecord, Store, StoreError,
    StoredProgram, UserRecord,
};

/// A fresh store for one test, with whatever must live as long as it (a temporary
/// directory, a database to drop).
pub struct TestStore {
    /// The store under test.
    pub store: Arc<dyn Store>,
    /// Dropped after the test.
    pub guard: Box<dyn Any + Send>,
}

/// Runs every conformance test against stores made by `$make_store`, an async function
/// returning `Option<TestStore>`.
#[macro_export]
macro_rules! store_conformance_tests {
    ($make_store:path) => {
        $crate::store_conformance_tests!(@each $make_store;
            settings_keep_the_first_value_written,
            accounts_are_found_by_sid_and_unique,
            api_tokens_keep_their_partner_scope,
            users_are_unique_by_name,
            login_failures_are_counted_per_name_and_forgotten,
            programs_are_created_updated_and_left_unchanged,
            programs_belong_to_one_account,
            clicks_round_trip_every_field,
            clicks_are_paged_in_time_order_within_the_range,
            clicks_can_be_filtered_by_partner,
            a_large_batch_is_stored_whole,
            click_batches_load_exactly_once_per_log,
            everything_can_be_listed_for_a_copy,
            imported_programs_and_clicks_keep_revisions_and_order,
            conversions_round_trip_and_orders_are_unique,
            clicks_are_found_by_click_id_and_visitor,
            identity_links_are_kept_once_per_pair,
            a_conversions_identity_links_commit_with_it,
            identity_links_are_capped_per_key_oldest_first,
            a_forgotten_customer_leaves_money_but_no_trace,
            due_actions_are_approved_once_with_an_update,
            a_lease_has_one_holder_until_it_expires,
            an_action_changes_only_from_its_expected_state_before_it_locks,
            idempotency_keeps_the_first_answer,
            conversions_are_listed_and_imported_for_a_copy,
            actions_are_listed_filtered_sorted_and_paged,
            submissions_and_updates_are_listed_filtered_and_paged,
            approved_actions_go_on_one_statement_per_key,
            withdrawals_are_replaced_and_period_totals_count_real_actions,
            test_action_requests_are_kept_and_resolved_once,
            rollups_equal_a_recount_of_the_raw_rows
        );
    };
    (@each $make_store:path; $($name:ident),*) => {
        $(
            #[tokio::test]
            async fn $name() {
                match $make_store().await {
                    Some(test_store) => {
                        $crate::conformance::$name(test_store.store.clone()).await;
                        drop(test_store);
                    }
                    None => eprintln!("SKIPPED {}: this backend's database is not available here", stringify!($name)),
                }
            }
        )*
    };
}

pub(crate) fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_767_225_600 + seconds).expect("valid test time")
}

/// A click with every optional field set, distinguishable by `n`.
pub fn sample_click(n: u64, time: Timestamp) -> Click {
    Click {
        click_id: ClickId::generate(time.as_millisecond() as u64, u128::from(n)),
        at: time,
        program: ProgramId(1),
        owner: PartnerId(10 + n % 3),
        owner_kind: if n % 5 == 4 { OwnerKind::MediaSource } else { OwnerKind::Partner },
        ad: if n.is_multiple_of(2) { Some(AdId(7)) } else { None },
        source: TouchSource::ALL[(n % 5) as usize],
        visitor: VisitorId::generate(n, u128::from(n) * 31),
        ip_hash: Some(format!("{n:032x}")),
        country: if n.is_multiple_of(2) { Some("US".into()) } else { None },
        user_agent: format!("Mozilla/5.0 agent {n} é"),
        device: DeviceType::ALL[(n % 5) as usize],
        os: "iOS".into(),
        browser: "Safari".into(),
        referrer_url: Some(format!("https://blog.test/post/{n}")),
        referrer_domain: Some("blog.test".into()),
        landing_page: format!("https://acme.test/?irclickid=x{n}"),
        sub_ids: [Some(format!("s1-{n}")), None, Some("ünï".into())],
        shared_id: if n.is_multiple_of(3) { None } else { Some(format!("shared{n}")) },
        unique: n.is_multiple_of(2),
        bot: n.is_multiple_of(3),
        flood: n.is_multiple_of(7),
        malformed: n.is_multiple_of(4),
        creditable: n % 5 != 1,
    }
}

pub(crate) fn account(sid: &str) -> AccountRecord {
    AccountRecord { account_sid: sid.into(), name: "Acme".into(), auth_token_hash: "hash".into(), created_at: at(0) }
}

/// `setting_or_insert` keeps the first value, so racing nodes agree on secrets.
pub async fn settings_keep_the_first_value_written(store: Arc<dyn Store>) {
    assert_eq!(store.setting("key").await.unwrap(), None);
    assert_eq!(store.setting_or_insert("key", "first", at(0)).await.unwrap(), "first");
    assert_eq!(store.setting_or_insert("key", "second", at(1)).await.unwrap(), "first");
    assert_eq!(store.setting("key").await.unwrap().as_deref(), Some("first"));
}

/// Accounts are found by SID; a second account with the same SID is a conflict.
pub async fn accounts_are_found_by_sid_and_unique(store: Arc<dyn Store>) {
    assert_eq!(store.count_accounts().await.unwrap(), 0);
    store.insert_account(&account("TA1")).await.unwrap();
    assert_eq!(store.account("TA1").await.unwrap(), Some(account("TA1")));
    assert_eq!(store.account("TA2").await.unwrap(), None);
    assert!(matches!(store.insert_account(&account("TA1")).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.count_accounts().await.unwrap(), 1);
}

/// API tokens are found by id with their partner scope.
pub async fn api_tokens_keep_their_partner_scope(store: Arc<dyn Store>) {
    store.insert_account(&account("TA1")).await.unwrap();
    let brand = ApiTokenRecord {
        token_id: "tok1".into(),
        account_sid: "TA1".into(),
        partner: None,
        name: "ci".into(),
        secret_hash: "h1".into(),
        created_at: at(5),
    };
    let partner = ApiTokenRecord { token_id: "tok2".into(), partner: Some(PartnerId(42)), ..brand.clone() };
    store.insert_api_token(&brand).await.unwrap();
    store.insert_api_token(&partner).await.unwrap();
    assert_eq!(store.api_token("tok1").await.unwrap(), Some(brand));
    assert_eq!(store.api_token("tok2").await.unwrap(), Some(partner));
    assert_eq!(store.api_token("nope").await.unwrap(), None);
}

/// Dashboard users are unique by name.
pub async fn users_are_unique_by_name(store: Arc<dyn Store>) {
    let user = UserRecord {
        username: "admin".into(),
        password_hash: "$argon2id$...".into(),
        role: "admin".into(),
        account_sid: None,
        partner: Some(PartnerId(3)),
        created_at: at(1),
        sessions_since: None,
    };
    store.insert_user(&user).await.unwrap();
    assert_eq!(store.user("admin").await.unwrap(), Some(user.clone()));
    assert!(matches!(store.insert_user(&user).await, Err(StoreError::Conflict(_))));
    store.end_sessions("admin", at(5)).await.unwrap();
    let ended = store.user("admin").await.unwrap().unwrap();
    assert_eq!(ended.sessions_since, Some(at(5)), "a logout is remembered");
    assert_eq!(store.users().await.unwrap(), [ended], "and copied with the user");
    store.end_sessions("nobody", at(5)).await.unwrap();
    assert_eq!(store.user("other").await.unwrap(), None);
}

/// Failed logins are kept per name, read from a time on, cleared per name, and every
/// name's old ones are forgotten as new ones come.
pub async fn login_failures_are_counted_per_name_and_forgotten(store: Arc<dyn Store>) {
    for second in [10, 20, 30] {
        store.record_login_failure("k1", at(second), at(0)).await.unwrap();
    }
    store.record_login_failure("k2", at(35), at(0)).await.unwrap();
    assert_eq!(store.login_failures("k1", at(0)).await.unwrap(), [at(10), at(20), at(30)]);
    assert_eq!(store.login_failures("k1", at(20)).await.unwrap(), [at(20), at(30)], "since is inclusive");
    assert_eq!(store.login_failures("nobody", at(0)).await.unwrap(), []);

    store.clear_login_failures("k1").await.unwrap();
    assert_eq!(store.login_failures("k1", at(0)).await.unwrap(), []);
    assert_eq!(store.login_failures("k2", at(0)).await.unwrap(), [at(35)], "another name keeps its own");

    store.record_login_failure("k3", at(100), at(40)).await.unwrap();
    assert_eq!(store.login_failures("k2", at(0)).await.unwrap(), [], "older than the window: forgotten");
    assert_eq!(store.login_failures("k3", at(0)).await.unwrap(), [at(100)]);
}

/// Saving the same document again changes nothing; a changed one bumps the revision.
pub async fn programs_are_created_updated_and_left_unchanged(store: Arc<dyn Store>) {
    store.insert_account(&account("TA1")).await.unwrap();
    let empty = store.programs_fingerprint().await.unwrap();
    assert_eq!(store.save_program("TA1", ProgramId(5), "{\"v\":1}", at(1)).await.unwrap(), SaveOutcome::Created);
    let created = store.programs_fingerprint().await.unwrap();
    assert_ne!(created, empty);
    assert_eq!(store.save_program("TA1", ProgramId(5), "{\"v\":1}", at(2)).await.unwrap(), SaveOutcome::Unchanged(1));
    assert_eq!(store.programs_fingerprint().await.unwrap(), created);
    assert_eq!(store.save_program("TA1", ProgramId(5), "{\"v\":2}", at(3)).await.unwrap(), SaveOutcome::Updated(2));
    assert_ne!(store.programs_fingerprint().await.unwrap(), created);
    let stored = store.program(ProgramId(5)).await.unwrap().expect("stored program");
    assert_eq!((stored.revision, stored.document.as_str(), stored.updated_at), (2, "{\"v\":2}", at(3)));
    assert_eq!(store.programs().await.unwrap(), vec![stored]);
    assert_eq!(store.program(ProgramId(6)).await.unwrap(), None);
}

/// A program id owned by one account cannot be saved by another.
pub async fn programs_belong_to_one_account(store: Arc<dyn Store>) {
    store.insert_account(&account("TA1")).await.unwrap();
    store.insert_account(&account("TA2")).await.unwrap();
    store.save_program("TA1", ProgramId(5), "{}", at(1)).await.unwrap();
    assert!(matches!(store.save_program("TA2", ProgramId(5), "{\"x\":1}", at(2)).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.program(ProgramId(5)).await.unwrap().map(|p| p.document), Some("{}".into()));
}

pub(crate) fn batch(first_seq: u64, clicks: Vec<Click>) -> ClickBatch {
    ClickBatch { log_id: "node-a".into(), first_seq, clicks, days: Vec::new() }
}

/// A batch loaded again, whole or in part, is stored once; each log keeps its own
/// checkpoint.
pub async fn click_batches_load_exactly_once_per_log(store: Arc<dyn Store>) {
    let clicks: Vec<Click> = (0..10).map(|n| sample_click(n, at(n as i64))).collect();
    assert_eq!(store.click_checkpoint("node-a").await.unwrap(), None);
    store.append_clicks(batch(1, clicks[..6].to_vec())).await.unwrap();
    store.append_clicks(batch(1, clicks[..6].to_vec())).await.unwrap();
    store.append_clicks(batch(4, clicks[3..].to_vec())).await.unwrap();
    assert_eq!(store.click_checkpoint("node-a").await.unwrap(), Some(10));
    let read: Vec<Click> =
        store.clicks_page(&whole_range(), None, 100).await.unwrap().into_iter().map(|s| s.click).collect();
    assert_eq!(read, clicks);
    let other_node =
        ClickBatch { log_id: "node-b".into(), first_seq: 1, clicks: clicks[..2].to_vec(), days: Vec::new() };
    store.append_clicks(other_node).await.unwrap();
    assert_eq!(store.click_checkpoint("node-b").await.unwrap(), Some(2));
    assert_eq!(store.count_clicks(ProgramId(1)).await.unwrap(), 12);
}

fn whole_range() -> ClickQuery {
    ClickQuery { program: ProgramId(1), since: at(-1_000_000), until: at(1_000_000), owner: None }
}

/// Every field of a click reads back as written.
pub async fn clicks_round_trip_every_field(store: Arc<dyn Store>) {
    let clicks: Vec<Click> = (0..10).map(|n| sample_click(n, at(n as i64))).collect();
    store.append_clicks(batch(1, clicks.clone())).await.unwrap();
    store.append_clicks(batch(11, Vec::new())).await.unwrap();
    let read: Vec<Click> =
        store.clicks_page(&whole_range(), None, 100).await.unwrap().into_iter().map(|s| s.click).collect();
    assert_eq!(read, clicks);
    assert_eq!(store.count_clicks(ProgramId(1)).await.unwrap(), 10);
    assert_eq!(store.count_clicks(ProgramId(2)).await.unwrap(), 0);
}

/// Pages continue after their cursor, in time order, `since` inclusive, `until` exclusive.
pub async fn clicks_are_paged_in_time_order_within_the_range(store: Arc<dyn Store>) {
    // Written out of time order, two in the same microsecond.
    let times = [5, 1, 3, 3, 9, 7, 2];
    let clicks: Vec<Click> = times.iter().enumerate().map(|(n, t)| sample_click(n as u64, at(*t))).collect();
    store.append_clicks(batch(1, clicks[..4].to_vec())).await.unwrap();
    store.append_clicks(batch(5, clicks[4..].to_vec())).await.unwrap();
    let query = ClickQuery { since: at(2), until: at(9), ..whole_range() };
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.clicks_page(&query, after, 2).await.unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|stored| stored.cursor);
        seen.extend(page.into_iter().map(|stored| stored.click.at.as_second() - at(0).as_second()));
    }
    assert_eq!(seen, vec![2, 3, 3, 5, 7]);
}

/// A partner's export holds only its clicks.
pub async fn clicks_can_be_filtered_by_partner(store: Arc<dyn Store>) {
    let clicks: Vec<Click> = (0..9).map(|n| sample_click(n, at(n as i64))).collect();
    store.append_clicks(batch(1, clicks.clone())).await.unwrap();
    let query = ClickQuery { owner: Some(PartnerId(11)), ..whole_range() };
    let owners: Vec<u64> =
        store.clicks_page(&query, None, 100).await.unwrap().iter().map(|s| s.click.owner.0).collect();
    assert_eq!(owners, vec![11, 11, 11]);
}

/// A batch of thousands is one call and fully stored.
pub async fn a_large_batch_is_stored_whole(store: Arc<dyn Store>) {
    let clicks: Vec<Click> = (0..5_000).map(|n| sample_click(n, at((n / 10) as i64))).collect();
    store.append_clicks(batch(1, clicks.clone())).await.unwrap();
    assert_eq!(store.count_clicks(ProgramId(1)).await.unwrap(), 5_000);
}

/// Every record can be listed, whole, in a stable order, and every click of every
/// program can be read in insertion order.
pub async fn everything_can_be_listed_for_a_copy(store: Arc<dyn Store>) {
    assert_eq!(store.settings().await.unwrap(), vec![]);
    assert_eq!(store.accounts().await.unwrap(), vec![]);
    assert_eq!(store.click_checkpoints().await.unwrap(), vec![]);
    assert_eq!(store.clicks_after(0, 10).await.unwrap(), vec![]);
    store.setting_or_insert("b", "2", at(2)).await.unwrap();
    store.setting_or_insert("a", "1", at(1)).await.unwrap();
    assert_eq!(
        store.settings().await.unwrap(),
        vec![
            SettingRecord { key: "a".into(), value: "1".into(), created_at: at(1) },
            SettingRecord { key: "b".into(), value: "2".into(), created_at: at(2) },
        ]
    );
    store.insert_account(&account("TA2")).await.unwrap();
    store.insert_account(&account("TA1")).await.unwrap();
    assert_eq!(store.accounts().await.unwrap(), vec![account("TA1"), account("TA2")]);
    let token = ApiTokenRecord {
        token_id: "tok1".into(),
        account_sid: "TA1".into(),
        partner: Some(PartnerId(4)),
        name: "ci".into(),
        secret_hash: "h1".into(),
        created_at: at(5),
    };
    store.insert_api_token(&token).await.unwrap();
    assert_eq!(store.api_tokens().await.unwrap(), vec![token]);
    let user = UserRecord {
        username: "brand".into(),
        password_hash: "$argon2id$...".into(),
        role: "brand".into(),
        account_sid: Some("TA1".into()),
        partner: None,
        created_at: at(6),
        sessions_since: None,
    };
    store.insert_user(&user).await.unwrap();
    assert_eq!(store.users().await.unwrap(), vec![user]);
    store.save_program("TA1", ProgramId(5), "{}", at(7)).await.unwrap();
    store.save_program("TA1", ProgramId(5), "{\"v\":2}", at(8)).await.unwrap();
    let program = store.programs().await.unwrap().remove(0);
    assert_eq!((program.created_at, program.updated_at, program.revision), (at(7), at(8), 2));

    // Two programs, written out of time order, by two logs.
    let mut clicks: Vec<Click> = (0..7).map(|n| sample_click(n, at(10 - n as i64))).collect();
    clicks[3].program = ProgramId(2);
    store.append_clicks(batch(1, clicks[..4].to_vec())).await.unwrap();
    store
        .append_clicks(ClickBatch {
            log_id: "node-b".into(),
            first_seq: 3,
            clicks: clicks[4..].to_vec(),
            days: Vec::new(),
        })
        .await
        .unwrap();
    assert_eq!(store.click_checkpoints().await.unwrap(), vec![("node-a".into(), 4), ("node-b".into(), 5)]);
    let mut read = Vec::new();
    let mut after = 0;
    loop {
        let page = store.clicks_after(after, 3).await.unwrap();
        let Some(last) = page.last() else { break };
        assert!(last.cursor.seq > after);
        after = last.cursor.seq;
        read.extend(page.into_iter().map(|stored| stored.click));
    }
    assert_eq!(read, clicks);
}

/// Imported programs keep their revision and times; imported clicks keep their order
/// and move no checkpoint; checkpoints are set as given.
pub async fn imported_programs_and_clicks_keep_revisions_and_order(store: Arc<dyn Store>) {
    store.insert_account(&account("TA1")).await.unwrap();
    let program = StoredProgram {
        program_id: ProgramId(9),
        account_sid: "TA1".into(),
        revision: 4,
        document: "{\"v\":4}".into(),
        updated_at: at(20),
        created_at: at(3),
    };
    store.import_program(&program).await.unwrap();
    assert_eq!(store.program(ProgramId(9)).await.unwrap(), Some(program.clone()));
    assert!(matches!(store.import_program(&program).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.save_program("TA1", ProgramId(9), "{\"v\":5}", at(21)).await.unwrap(), SaveOutcome::Updated(5));

    let clicks: Vec<Click> = (0..12).map(|n| sample_click(n, at(100 - n as i64))).collect();
    store.import_clicks(clicks[..5].to_vec(), Vec::new()).await.unwrap();
    store.import_clicks(Vec::new(), Vec::new()).await.unwrap();
    store.import_clicks(clicks[5..].to_vec(), Vec::new()).await.unwrap();
    assert_eq!(store.click_checkpoints().await.unwrap(), vec![]);
    let read: Vec<Click> = store.clicks_after(0, 100).await.unwrap().into_iter().map(|s| s.click).collect();
    assert_eq!(read, clicks);
    assert_eq!(store.count_clicks(ProgramId(1)).await.unwrap(), 12);

    store.import_click_checkpoint("node-a", 40).await.unwrap();
    assert_eq!(store.click_checkpoint("node-a").await.unwrap(), Some(40));
    store.import_click_checkpoint("node-a", 41).await.unwrap();
    assert_eq!(store.click_checkpoints().await.unwrap(), vec![("node-a".into(), 41)]);
    // Loading continues after an imported checkpoint.
    store.append_clicks(batch(41, clicks[..2].to_vec())).await.unwrap();
    assert_eq!(store.count_clicks(ProgramId(1)).await.unwrap(), 13);
}
