//! Copying a whole store into another, empty one (`tally store copy`), verified by
//! counts and a checksum read back from both sides.

use sha2::{Digest, Sha256};
use tally_core::click::Click;

use crate::catalog::{Catalog, compile_stored};
use crate::ports::{Store, StoreError, StoredProgram};

/// Clicks copied per page.
pub const CLICK_PAGE: u32 = 5_000;
/// Submissions or actions copied per page.
const CONVERSION_PAGE: u32 = 1_000;

/// Why a copy failed.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The target already holds data; nothing was written.
    #[error(
        "the target store is not empty (it holds {accounts} account(s), {programs} program(s), clicks: {clicks}); copy only into a new, empty store"
    )]
    TargetNotEmpty {
        /// Accounts found.
        accounts: usize,
        /// Programs found.
        programs: usize,
        /// Whether it holds any click.
        clicks: bool,
    },
    /// The target already holds a setting with another value.
    #[error("the target store already holds setting {0:?} with a different value")]
    SettingDiffers(String),
    /// Reading back found the two stores different.
    #[error("verification failed: {0}")]
    Mismatch(String),
    /// A store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What was copied, as verified on both stores.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CopyReport {
    /// Settings copied.
    pub settings: u64,
    /// Accounts copied.
    pub accounts: u64,
    /// API tokens copied.
    pub tokens: u64,
    /// Dashboard users copied.
    pub users: u64,
    /// Programs copied.
    pub programs: u64,
    /// Clicks copied.
    pub clicks: u64,
    /// Click log checkpoints copied.
    pub checkpoints: u64,
    /// Conversion submissions copied.
    pub submissions: u64,
    /// Actions copied.
    pub actions: u64,
    /// Action updates copied.
    pub action_updates: u64,
    /// Identity links copied.
    pub identity_links: u64,
    /// Idempotency records copied.
    pub idempotency_records: u64,
    /// Partner statements copied.
    pub statements: u64,
    /// Partner withdrawal settings copied.
    pub withdrawals: u64,
    /// Partners' test action requests copied.
    pub test_action_requests: u64,
    /// SHA-256 (hex) over every copied record, equal on both stores.
    pub checksum: String,
}

/// Copies everything in `from` into the empty store `to`, then reads both back and
/// compares counts and checksums. `progress` is called after every page of clicks with
/// the number copied so far.
pub async fn copy_store(
    from: &dyn Store,
    to: &dyn Store,
    mut progress: impl FnMut(u64),
) -> Result<CopyReport, CopyError> {
    let (accounts, programs, clicks) =
        (to.accounts().await?.len(), to.programs().await?.len(), to.clicks_after(0, 1).await?.len());
    let clicks = clicks > 0;
    if accounts + programs > 0 || clicks {
        return Err(CopyError::TargetNotEmpty { accounts, programs, clicks });
    }
    for setting in from.settings().await? {
        let stored = to.setting_or_insert(&setting.key, &setting.value, setting.created_at).await?;
        if stored != setting.value {
            return Err(CopyError::SettingDiffers(setting.key));
        }
    }
    for account in from.accounts().await? {
        to.insert_account(&account).await?;
    }
    for token in from.api_tokens().await? {
        to.insert_api_token(&token).await?;
    }
    for user in from.users().await? {
        to.insert_user(&user).await?;
    }
    let programs = from.programs().await?;
    for program in &programs {
        to.import_program(program).await?;
    }
    // The target's click rollup counts each click on its program's local day.
    let catalog = Catalog::new(programs.iter().filter_map(compile_stored).collect(), Default::default());
    let mut after = 0;
    let mut copied = 0;
    loop {
        let page = from.clicks_after(after, CLICK_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.cursor.seq;
        copied += page.len() as u64;
        let clicks: Vec<Click> = page.into_iter().map(|stored| stored.click).collect();
        let days = clicks.iter().map(|click| catalog.local_day(click.program, click.at)).collect();
        to.import_clicks(clicks, days).await?;
        progress(copied);
    }
    for (log_id, seq) in from.click_checkpoints().await? {
        to.import_click_checkpoint(&log_id, seq).await?;
    }
    copy_conversions(from, to).await?;
    let source = summarize(from).await?;
    let target = summarize(to).await?;
    if source != target {
        return Err(CopyError::Mismatch(format!("source {source:?}, target {target:?}")));
    }
    Ok(source)
}

/// Copies submissions and actions page by page, then identity links, idempotency
/// records, statements and withdrawal settings.
async fn copy_conversions(from: &dyn Store, to: &dyn Store) -> Result<(), CopyError> {
    let mut after = String::new();
    loop {
        let submissions = from.submissions_after(&after, CONVERSION_PAGE).await?;
        let Some(last) = submissions.last() else { break };
        after = last.submission_id.clone();
        to.import_conversions(&submissions, &[]).await?;
    }
    let mut after = String::new();
    loop {
        let actions = from.actions_after(&after, CONVERSION_PAGE).await?;
        let Some(last) = actions.last() else { break };
        after = last.action_id.clone();
        to.import_conversions(&[], &actions).await?;
    }
    let mut after = String::new();
    loop {
        let updates = from.action_updates_after(&after, CONVERSION_PAGE).await?;
        let Some(last) = updates.last() else { break };
        after = last.update_id.clone();
        to.import_action_updates(&updates).await?;
    }
    to.link_identities(&from.all_identity_links().await?).await?;
    to.import_idempotency_records(&from.idempotency_records().await?).await?;
    to.import_statements(&from.all_statements().await?).await?;
    for request in from.all_test_action_requests().await? {
        to.insert_test_action_request(&request).await?;
    }
    for setting in from.all_withdrawals().await? {
        to.save_withdrawal(&setting).await?;
    }
    Ok(())
}

/// Counts and hashes everything a store holds, in a canonical order and encoding.
pub async fn summarize(store: &dyn Store) -> Result<CopyReport, CopyError> {
    let mut hash = Hasher(Sha256::new());
    let settings = store.settings().await?;
    hash.section("settings", settings.len());
    for setting in &settings {
        hash.text(&setting.key).text(&setting.value).number(setting.created_at.as_microsecond());
    }
    let accounts = store.accounts().await?;
    hash.section("accounts", accounts.len());
    for account in &accounts {
        hash.text(&account.account_sid).text(&account.name).text(&account.auth_token_hash);
        hash.number(account.created_at.as_microsecond());
    }
    let tokens = store.api_tokens().await?;
    hash.section("tokens", tokens.len());
    for token in &tokens {
        hash.text(&token.token_id).text(&token.account_sid).optional(token.partner.map(|p| p.0.to_string()).as_deref());
        hash.text(&token.name).text(&token.secret_hash).number(token.created_at.as_microsecond());
    }
    let users = store.users().await?;
    hash.section("users", users.len());
    for user in &users {
        hash.text(&user.username).text(&user.password_hash).text(&user.role).optional(user.account_sid.as_deref());
        hash.optional(user.partner.map(|p| p.0.to_string()).as_deref()).number(user.created_at.as_microsecond());
        hash.optional(user.sessions_since.map(|since| since.as_microsecond().to_string()).as_deref());
    }
    let programs = store.programs().await?;
    hash.section("programs", programs.len());
    for program in &programs {
        hash.program(program);
    }
    let checkpoints = store.click_checkpoints().await?;
    hash.section("checkpoints", checkpoints.len());
    for (log_id, seq) in &checkpoints {
        hash.text(log_id).number(*seq as i64);
    }
    hash.section("clicks", 0);
    let mut clicks = 0u64;
    let mut after = 0;
    loop {
        let page = store.clicks_after(after, CLICK_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.cursor.seq;
        clicks += page.len() as u64;
        for stored in &page {
            hash.click(&stored.click)?;
        }
    }
    hash.number(clicks as i64);
    let (submissions, actions) = hash_conversions(store, &mut hash).await?;
    hash.section("action updates", 0);
    let mut action_updates = 0u64;
    let mut after = String::new();
    loop {
        let page = store.action_updates_after(&after, CONVERSION_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.update_id.clone();
        action_updates += page.len() as u64;
        page.iter().for_each(|update| hash.debug(update));
    }
    hash.number(action_updates as i64);
    let identity_links = store.all_identity_links().await?;
    hash.section("identity links", identity_links.len());
    for link in &identity_links {
        hash.debug(link);
    }
    let idempotency_records = store.idempotency_records().await?;
    hash.section("idempotency", idempotency_records.len());
    for record in &idempotency_records {
        hash.debug(record);
    }
    let statements = store.all_statements().await?;
    hash.section("statements", statements.len());
    statements.iter().for_each(|statement| hash.debug(statement));
    let withdrawals = store.all_withdrawals().await?;
    hash.section("withdrawals", withdrawals.len());
    withdrawals.iter().for_each(|setting| hash.debug(setting));
    let requests = store.all_test_action_requests().await?;
    hash.section("test_action_requests", requests.len());
    requests.iter().for_each(|request| hash.debug(request));
    Ok(CopyReport {
        settings: settings.len() as u64,
        accounts: accounts.len() as u64,
        tokens: tokens.len() as u64,
        users: users.len() as u64,
        programs: programs.len() as u64,
        clicks,
        checkpoints: checkpoints.len() as u64,
        submissions,
        actions,
        action_updates,
        identity_links: identity_links.len() as u64,
        idempotency_records: idempotency_records.len() as u64,
        statements: statements.len() as u64,
        withdrawals: withdrawals.len() as u64,
        test_action_requests: requests.len() as u64,
        checksum: hash.finish(),
    })
}

/// Hashes every submission and action; returns their counts.
async fn hash_conversions(store: &dyn Store, hash: &mut Hasher) -> Result<(u64, u64), CopyError> {
    let (mut submissions, mut actions) = (0u64, 0u64);
    hash.section("submissions", 0);
    let mut after = String::new();
    loop {
        let page = store.submissions_after(&after, CONVERSION_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.submission_id.clone();
        submissions += page.len() as u64;
        page.iter().for_each(|record| hash.debug(record));
    }
    hash.section("actions", 0);
    let mut after = String::new();
    loop {
        let page = store.actions_after(&after, CONVERSION_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.action_id.clone();
        actions += page.len() as u64;
        page.iter().for_each(|record| hash.debug(record));
    }
    hash.number(submissions as i64).number(actions as i64);
    Ok((submissions, actions))
}

/// Feeds fields to SHA-256, each length-prefixed so that no two records encode alike.
struct Hasher(Sha256);

impl Hasher {
    fn section(&mut self, name: &str, count: usize) {
        self.text(name).number(count as i64);
    }

    fn text(&mut self, text: &str) -> &mut Self {
        self.0.update((text.len() as u64).to_be_bytes());
        self.0.update(text.as_bytes());
        self
    }

    fn optional(&mut self, text: Option<&str>) -> &mut Self {
        match text {
            None => self.0.update([0]),
            Some(text) => {
                self.0.update([1]);
                self.text(text);
            }
        }
        self
    }

    fn number(&mut self, number: i64) -> &mut Self {
        self.0.update(number.to_be_bytes());
        self
    }

    fn program(&mut self, program: &StoredProgram) {
        self.number(program.program_id.0 as i64).text(&program.account_sid).number(program.revision);
        self.text(&program.document);
        self.number(program.created_at.as_microsecond()).number(program.updated_at.as_microsecond());
    }

    /// A click as its JSON serialization: every field, in declaration order.
    fn click(&mut self, click: &Click) -> Result<(), CopyError> {
        let json = serde_json::to_string(click).map_err(|error| CopyError::Mismatch(error.to_string()))?;
        self.text(&json);
        Ok(())
    }

    /// A record as its `Debug` form: every field, in declaration order, with exact
    /// decimals and instants, identical for equal records from either backend.
    fn debug(&mut self, record: &impl std::fmt::Debug) {
        self.text(&format!("{record:?}"));
    }

    fn finish(self) -> String {
        self.0.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
    }
}
