//! Applying and exporting program documents (SPEC §12): applied whole or refused whole,
//! idempotent, and exported exactly as stored.

use std::sync::Arc;

use tally_core::ids::ProgramId;
use tally_core::program::{Problem, Program, ProgramDocument};

use crate::catalog::CatalogHandle;
use crate::ports::{Clock, SaveOutcome, Store, StoreError};

/// Why a document was not applied or exported.
#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    /// The document has problems; all of them are listed.
    #[error("the program document has {} problem(s)", .0.len())]
    Invalid(Vec<Problem>),
    /// The program does not exist, or belongs to another account (indistinguishable on
    /// purpose, so that ids of other brands' programs cannot be probed).
    #[error("program {0} not found")]
    NotFound(ProgramId),
    /// The program id belongs to another account.
    #[error("program {0} belongs to another account")]
    Taken(ProgramId),
    /// The account does not exist.
    #[error("account {0:?} does not exist")]
    UnknownAccount(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What applying a document did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ApplyReport {
    /// The program.
    pub program_id: ProgramId,
    /// `created`, `updated` or `unchanged`.
    pub outcome: &'static str,
    /// The revision now stored.
    pub revision: i64,
}

/// The program use cases.
#[derive(Clone)]
pub struct Programs {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    catalog: Arc<CatalogHandle>,
}

/// Parses a document's JSON text. Structural errors (syntax, unknown keys, wrong types,
/// unknown enum values) stop at the first and name its path.
pub fn parse_document(json: &str) -> Result<ProgramDocument, Vec<Problem>> {
    let deserializer = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let path = if path == "." { "document".to_owned() } else { path };
        vec![Problem { path, message: error.into_inner().to_string() }]
    })
}

impl Programs {
    /// Builds the service.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, catalog: Arc<CatalogHandle>) -> Self {
        Programs { store, clock, catalog }
    }

    /// Checks a document and stores it for the account, then refreshes the catalog.
    /// `path_id`, when the caller addressed a program by id, must match the document's.
    pub async fn apply(
        &self,
        account_sid: &str,
        document: ProgramDocument,
        path_id: Option<ProgramId>,
    ) -> Result<ApplyReport, ProgramError> {
        if self.store.account(account_sid).await?.is_none() {
            return Err(ProgramError::UnknownAccount(account_sid.to_owned()));
        }
        let program_id = document.program.id;
        if let Some(path_id) = path_id.filter(|path_id| *path_id != program_id) {
            let message = format!("the document is for program {program_id}, not {path_id}");
            return Err(ProgramError::Invalid(vec![Problem { path: "program.id".into(), message }]));
        }
        let program = Program::compile(document).map_err(ProgramError::Invalid)?;
        self.catalog.refresh_if_changed().await?;
        let clashes = self.catalog.get().clashes(&program);
        if !clashes.is_empty() {
            let problems = clashes
                .into_iter()
                .map(|message| Problem { path: "vanity_links/unique_urls".into(), message })
                .collect();
            return Err(ProgramError::Invalid(problems));
        }
        let canonical = canonical_json(program.document());
        let outcome = match self.store.save_program(account_sid, program_id, &canonical, self.clock.now()).await {
            Err(StoreError::Conflict(_)) => return Err(ProgramError::Taken(program_id)),
            other => other?,
        };
        self.catalog.reload().await?;
        let (outcome, revision) = match outcome {
            SaveOutcome::Created => ("created", 1),
            SaveOutcome::Updated(revision) => ("updated", revision),
            SaveOutcome::Unchanged(revision) => ("unchanged", revision),
        };
        Ok(ApplyReport { program_id, outcome, revision })
    }

    /// The stored document, exactly as applied in canonical form. `account_sid` of
    /// `None` is the operator on the command line, who may read any program.
    pub async fn export(&self, account_sid: Option<&str>, program_id: ProgramId) -> Result<String, ProgramError> {
        match self.store.program(program_id).await? {
            Some(stored) if account_sid.is_none_or(|sid| sid == stored.account_sid) => Ok(stored.document),
            _ => Err(ProgramError::NotFound(program_id)),
        }
    }
}

/// The canonical text of a document: pretty JSON in the document's field order, with
/// a final newline.
pub fn canonical_json(document: &ProgramDocument) -> String {
    let mut text =
        serde_json::to_string_pretty(document).unwrap_or_else(|_| unreachable!("documents always serialise"));
    text.push('\n');
    text
}
