//! The catalog: every program compiled and indexed in memory, so that the edge answers a
//! click without reading the store. It is rebuilt whole and swapped atomically when any
//! program changes (on this node, on another node, or from the command line), which
//! keeps readers lock-free.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tally_core::ids::ProgramId;
use tally_core::program::{Program, ProgramDocument, UniqueUrlState, path_key};

use crate::ports::{ProgramsFingerprint, Store, StoreError, StoredProgram};

/// A compiled program with its owner.
#[derive(Debug, Clone)]
pub struct ProgramEntry {
    /// The compiled program.
    pub program: Arc<Program>,
    /// The account that owns it.
    pub account_sid: String,
    /// Its revision.
    pub revision: i64,
}

/// What a host and path lead to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostRoute {
    /// A vanity link: the program and the link's index in it.
    Vanity(ProgramId, usize),
    /// A unique URL: the program and the URL's index in it.
    UniqueUrl(ProgramId, usize),
}

/// All programs, indexed.
#[derive(Debug, Default)]
pub struct Catalog {
    programs: HashMap<ProgramId, ProgramEntry>,
    host_routes: HashMap<(String, String), HostRoute>,
    fingerprint: ProgramsFingerprint,
}

impl Catalog {
    /// Indexes compiled programs. Where two programs claim the same host and path, the
    /// lower program id keeps it (applying a document checks for this, so it only
    /// happens when two nodes apply clashing documents at the same moment).
    pub fn new(entries: Vec<ProgramEntry>, fingerprint: ProgramsFingerprint) -> Catalog {
        let mut sorted = entries;
        sorted.sort_by_key(|entry| entry.program.id());
        let mut host_routes = HashMap::new();
        for entry in &sorted {
            for (key, route) in routes_of(&entry.program) {
                if host_routes.contains_key(&key) {
                    tracing::warn!(program = %entry.program.id(), host = %key.0, path = %key.1, "host and path already taken by another program");
                    continue;
                }
                host_routes.insert(key, route);
            }
        }
        let programs = sorted.into_iter().map(|entry| (entry.program.id(), entry)).collect();
        Catalog { programs, host_routes, fingerprint }
    }

    /// A program by id.
    pub fn program(&self, id: ProgramId) -> Option<&ProgramEntry> {
        self.programs.get(&id)
    }

    /// The day an instant falls on in a program's time zone (UTC for an unknown program).
    pub fn local_day(&self, program: ProgramId, at: jiff::Timestamp) -> jiff::civil::Date {
        match self.program(program) {
            Some(entry) => at.to_zoned(entry.program.time_zone().clone()).date(),
            None => crate::rollup::utc_day(at),
        }
    }

    /// Every program, in no particular order.
    pub fn programs(&self) -> impl Iterator<Item = &ProgramEntry> {
        self.programs.values()
    }

    /// What a request's host and path lead to, if anything.
    pub fn route(&self, host: &str, path: &str) -> Option<HostRoute> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.host_routes.get(&(host, path_key(path))).copied()
    }

    /// The host and path keys already taken by programs other than `except`.
    pub fn clashes(&self, program: &Program) -> Vec<String> {
        routes_of(program)
            .into_iter()
            .filter_map(|(key, _)| match self.host_routes.get(&key) {
                Some(HostRoute::Vanity(owner, _) | HostRoute::UniqueUrl(owner, _)) if *owner != program.id() => {
                    Some(format!("{}/{} is already used by program {owner}", key.0, key.1))
                }
                _ => None,
            })
            .collect()
    }

    /// Number of programs.
    pub fn len(&self) -> usize {
        self.programs.len()
    }

    /// Whether there are no programs.
    pub fn is_empty(&self) -> bool {
        self.programs.is_empty()
    }
}

/// The host routes a program claims: each vanity path on each tracking domain, and each
/// unique URL that is not available or deleted.
fn routes_of(program: &Program) -> Vec<((String, String), HostRoute)> {
    let mut routes = Vec::new();
    for (index, link) in program.vanity_links().iter().enumerate() {
        for domain in program.tracking_domains() {
            routes.push(((domain.clone(), link.path_key.clone()), HostRoute::Vanity(program.id(), index)));
        }
    }
    for (index, unique) in program.unique_urls().iter().enumerate() {
        if !matches!(unique.state, UniqueUrlState::Available | UniqueUrlState::Deleted) {
            routes.push(((unique.host.clone(), unique.path_key.clone()), HostRoute::UniqueUrl(program.id(), index)));
        }
    }
    routes
}

/// Compiles a stored program. A stored document always compiled when it was saved; if
/// it no longer does (a newer Tally tightened a rule), the program is skipped loudly
/// rather than taking the whole node down.
pub fn compile_stored(stored: &StoredProgram) -> Option<ProgramEntry> {
    let compiled = serde_json::from_str::<ProgramDocument>(&stored.document)
        .map_err(|error| error.to_string())
        .and_then(|document| {
            Program::compile(document)
                .map_err(|problems| problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
        });
    match compiled {
        Ok(program) => Some(ProgramEntry {
            program: Arc::new(program),
            account_sid: stored.account_sid.clone(),
            revision: stored.revision,
        }),
        Err(error) => {
            tracing::error!(program = %stored.program_id, %error, "stored program no longer compiles; its links answer 404 until it is fixed");
            None
        }
    }
}

/// The current catalog, swappable.
pub struct CatalogHandle {
    current: ArcSwap<Catalog>,
    store: Arc<dyn Store>,
}

impl CatalogHandle {
    /// Loads every program from the store.
    pub async fn load(store: Arc<dyn Store>) -> Result<CatalogHandle, StoreError> {
        let handle = CatalogHandle { current: ArcSwap::from_pointee(Catalog::default()), store };
        handle.reload().await?;
        Ok(handle)
    }

    /// The catalog as of now.
    pub fn get(&self) -> Arc<Catalog> {
        self.current.load_full()
    }

    /// Rebuilds the catalog from the store.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let fingerprint = self.store.programs_fingerprint().await?;
        let stored = self.store.programs().await?;
        let entries = stored.iter().filter_map(compile_stored).collect();
        self.current.store(Arc::new(Catalog::new(entries, fingerprint)));
        Ok(())
    }

    /// Rebuilds the catalog if any program changed since it was built; returns whether
    /// it did. Cheap enough to call every second.
    pub async fn refresh_if_changed(&self) -> Result<bool, StoreError> {
        let fingerprint = self.store.programs_fingerprint().await?;
        if fingerprint == self.current.load().fingerprint {
            return Ok(false);
        }
        self.reload().await?;
        Ok(true)
    }
}
