//! Accounts, API tokens, dashboard users and the first-run bootstrap.

use std::sync::Arc;

use tally_core::ids::PartnerId;

use crate::ports::{AccountRecord, ApiTokenRecord, Clock, Store, StoreError, UserRecord};
use crate::secrets::{Keyed, hash_password, password_matches, random_token, token_hash, token_matches};
use crate::throttle::LoginThrottle;

/// A brand account's credentials for the compatible API, shown once.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccountCredentials {
    /// The account SID.
    pub account_sid: String,
    /// The auth token (only its hash is stored).
    pub auth_token: String,
}

/// A dashboard user's login, shown once.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UserCredentials {
    /// The login name.
    pub username: String,
    /// The password (only its Argon2 hash is stored).
    pub password: String,
}

/// Who a bearer token acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenScope {
    /// The account.
    pub account_sid: String,
    /// Set for partner tokens.
    pub partner: Option<PartnerId>,
}

/// What the first start of an empty store created, to print once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstRun {
    /// The dashboard administrator's login name.
    pub admin_username: String,
    /// Its password (only the Argon2 hash is stored).
    pub admin_password: String,
    /// The first brand account, unless accounts existed already.
    pub account: Option<AccountCredentials>,
}

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Bad input from the caller.
    #[error("{0}")]
    Invalid(String),
    /// The named account does not exist.
    #[error("account {0:?} does not exist")]
    UnknownAccount(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

const TOKEN_PREFIX: &str = "tly_";
const MAX_NAME_LEN: usize = 200;
/// The longest login name.
pub const MAX_USERNAME_LEN: usize = 64;
/// Passwords longer than this are not hashed at all (Argon2 would take them, at a cost
/// a stranger could make the server pay).
const MAX_PASSWORD_LEN: usize = 1024;

/// Creates accounts and tokens, and checks credentials.
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    throttle: LoginThrottle,
}

/// What a dashboard login came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// The user, logged in.
    Accepted(UserRecord),
    /// An unknown user or a wrong password, told apart by nobody.
    Refused,
    /// Too many recent failures for this name; try again after this long.
    Throttled(jiff::SignedDuration),
}

impl Accounts {
    /// Builds the service; `keyed` hashes the login names it throttles.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, keyed: Keyed) -> Self {
        Accounts { throttle: LoginThrottle::new(store.clone(), keyed), store, clock }
    }

    /// Creates a brand account and returns its credentials.
    pub async fn create_account(&self, name: &str) -> Result<AccountCredentials, AccountError> {
        let name = checked_name(name)?;
        let credentials =
            AccountCredentials { account_sid: format!("TA{}", random_token(1)), auth_token: random_token(2) };
        let record = AccountRecord {
            account_sid: credentials.account_sid.clone(),
            name,
            auth_token_hash: token_hash(&credentials.auth_token),
            created_at: self.clock.now(),
        };
        self.store.insert_account(&record).await?;
        Ok(credentials)
    }

    /// Creates a bearer token for an account, optionally scoped to one partner.
    /// Returns the token; only the hash of its secret part is stored.
    pub async fn create_token(
        &self,
        account_sid: &str,
        partner: Option<PartnerId>,
        name: Option<&str>,
    ) -> Result<String, AccountError> {
        if self.store.account(account_sid).await?.is_none() {
            return Err(AccountError::UnknownAccount(account_sid.to_owned()));
        }
        let name = checked_name(name.unwrap_or(if partner.is_some() { "partner token" } else { "brand token" }))?;
        let token_id = random_token(1);
        let secret = random_token(1);
        let record = ApiTokenRecord {
            token_id: token_id.clone(),
            account_sid: account_sid.to_owned(),
            partner,
            name,
            secret_hash: token_hash(&secret),
            created_at: self.clock.now(),
        };
        self.store.insert_api_token(&record).await?;
        Ok(format!("{TOKEN_PREFIX}{token_id}_{secret}"))
    }

    /// Checks a bearer token; `None` if it is unknown or wrong.
    pub async fn authenticate_bearer(&self, token: &str) -> Result<Option<TokenScope>, StoreError> {
        let Some((token_id, secret)) = token.strip_prefix(TOKEN_PREFIX).and_then(|rest| rest.split_once('_')) else {
            return Ok(None);
        };
        if token_id.len() > 64 || secret.len() > 64 {
            return Ok(None);
        }
        let Some(record) = self.store.api_token(token_id).await? else { return Ok(None) };
        Ok(token_matches(secret, &record.secret_hash)
            .then_some(TokenScope { account_sid: record.account_sid, partner: record.partner }))
    }

    /// Checks an account SID and auth token (HTTP Basic on the compatible API).
    pub async fn authenticate_account(&self, account_sid: &str, auth_token: &str) -> Result<bool, StoreError> {
        if account_sid.len() > 64 || auth_token.len() > 128 {
            return Ok(false);
        }
        let Some(record) = self.store.account(account_sid).await? else { return Ok(false) };
        Ok(token_matches(auth_token, &record.auth_token_hash))
    }

    /// Creates a dashboard user of an account: a partner user when `partner` is given,
    /// else a brand user. Returns the login with a fresh random password, to show once.
    pub async fn create_user(
        &self,
        account_sid: &str,
        partner: Option<PartnerId>,
        username: &str,
    ) -> Result<UserCredentials, AccountError> {
        let username = checked_username(username)?;
        if self.store.account(account_sid).await?.is_none() {
            return Err(AccountError::UnknownAccount(account_sid.to_owned()));
        }
        let password = random_token(1);
        let hash = hashed(password.clone()).await?;
        let record = UserRecord {
            username: username.clone(),
            password_hash: hash,
            role: if partner.is_some() { "partner" } else { "brand" }.to_owned(),
            account_sid: Some(account_sid.to_owned()),
            partner,
            created_at: self.clock.now(),
            sessions_since: None,
        };
        match self.store.insert_user(&record).await {
            Err(StoreError::Conflict(_)) => Err(AccountError::Invalid(format!("the username {username:?} is taken"))),
            other => other.map_err(AccountError::from),
        }?;
        Ok(UserCredentials { username, password })
    }

    /// Checks a dashboard login. An unknown user and a wrong password are told apart
    /// by nobody: an unknown user's password is checked against a stand-in hash, so both
    /// cost one Argon2 verification. A name that failed too often lately is throttled
    /// ([`crate::throttle`]) before any check.
    pub async fn login(&self, username: &str, password: &str) -> Result<Login, StoreError> {
        let now = self.clock.now();
        if let Some(wait) = self.throttle.wait(username, now).await? {
            return Ok(Login::Throttled(wait));
        }
        let user = self.check_password(username, password).await?;
        match user {
            Some(user) => {
                self.throttle.succeeded(username).await?;
                Ok(Login::Accepted(user))
            }
            None => {
                self.throttle.failed(username, now).await?;
                Ok(Login::Refused)
            }
        }
    }

    async fn check_password(&self, username: &str, password: &str) -> Result<Option<UserRecord>, StoreError> {
        if username.is_empty()
            || username.chars().count() > MAX_USERNAME_LEN
            || password.is_empty()
            || password.len() > MAX_PASSWORD_LEN
        {
            return Ok(None);
        }
        let user = self.store.user(username).await?;
        let stored = user.as_ref().map_or_else(|| stand_in_hash().to_owned(), |user| user.password_hash.clone());
        let password = password.to_owned();
        // Argon2 takes tens of milliseconds of CPU: off the async workers.
        let matches = tokio::task::spawn_blocking(move || password_matches(&password, &stored))
            .await
            .map_err(|error| StoreError::Unavailable(format!("the password check failed: {error}")))?;
        Ok(user.filter(|_| matches))
    }

    /// Creates what a store needs before first use and returns its secrets to print
    /// once: the dashboard administrator if there is none, and a first brand account if
    /// there is none (an operator may have created accounts before the first start).
    /// Returns `None` when both already exist.
    pub async fn bootstrap(&self) -> Result<Option<FirstRun>, AccountError> {
        if self.store.user(ADMIN).await?.is_some() {
            return Ok(None);
        }
        let admin_password = random_token(1);
        let admin = UserRecord {
            username: ADMIN.to_owned(),
            password_hash: hash_password(&admin_password).map_err(AccountError::Invalid)?,
            role: "admin".to_owned(),
            account_sid: None,
            partner: None,
            created_at: self.clock.now(),
            sessions_since: None,
        };
        // Nodes starting together on one empty store race here; the one whose admin
        // row lands does the first run, the others start as on any later day.
        match self.store.insert_user(&admin).await {
            Err(StoreError::Conflict(_)) => return Ok(None),
            other => other?,
        }
        let account = match self.store.count_accounts().await? {
            0 => Some(self.create_account("My brand").await?),
            _ => None,
        };
        Ok(Some(FirstRun { admin_username: admin.username, admin_password, account }))
    }
}

/// The dashboard administrator's login name.
const ADMIN: &str = "admin";

/// A hash no password matches, verified for unknown users so that a login with an
/// unknown name takes as long as one with a wrong password.
fn stand_in_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&random_token(2)).unwrap_or_default())
}

/// Hashes a password off the async workers.
async fn hashed(password: String) -> Result<String, AccountError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|error| AccountError::Invalid(format!("the password could not be hashed: {error}")))?
        .map_err(AccountError::Invalid)
}

/// A login name: 1 to 64 letters, digits, `.`, `_`, `-` or `@`, so that it fits a
/// cookie and a log line as it is.
fn checked_username(name: &str) -> Result<String, AccountError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_USERNAME_LEN
        && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"._-@".contains(&byte));
    if valid {
        Ok(name.to_owned())
    } else {
        Err(AccountError::Invalid(format!(
            "a username is 1 to {MAX_USERNAME_LEN} letters, digits, '.', '_', '-' or '@'"
        )))
    }
}

fn checked_name(name: &str) -> Result<String, AccountError> {
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed.chars().count() > MAX_NAME_LEN || trimmed.chars().any(char::is_control) {
        return Err(AccountError::Invalid(format!("a name is 1 to {MAX_NAME_LEN} printable characters")));
    }
    Ok(trimmed.to_owned())
}
