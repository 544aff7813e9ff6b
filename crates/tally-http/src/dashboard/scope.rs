//! What a dashboard user sees: the administrator every program as a brand would, a
//! brand user its account's programs, a partner user the programs of its account in
//! which it is a partner, and only its own data in them.

use std::cmp::Ordering;

use tally_app::catalog::{Catalog, ProgramEntry};
use tally_app::listing::Viewer;
use tally_app::ports::UserRecord;
use tally_core::click::OwnerKind;
use tally_core::ids::{PartnerId, ProgramId};

/// A user's reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Every account's programs, as their brand.
    Admin,
    /// One account's programs.
    Brand {
        /// The account.
        account_sid: String,
    },
    /// One partner's data in one account's programs.
    Partner {
        /// The account.
        account_sid: String,
        /// The partner.
        partner: PartnerId,
    },
}

impl Scope {
    /// The scope of a stored user; `None` for a record that makes no sense (a brand
    /// user without an account), which then cannot log in.
    pub(crate) fn of(user: &UserRecord) -> Option<Scope> {
        match (user.role.as_str(), &user.account_sid, user.partner) {
            ("admin", _, _) => Some(Scope::Admin),
            ("brand", Some(account_sid), None) => Some(Scope::Brand { account_sid: account_sid.clone() }),
            ("partner", Some(account_sid), Some(partner)) => {
                Some(Scope::Partner { account_sid: account_sid.clone(), partner })
            }
            _ => None,
        }
    }

    /// Whether this user sees the program.
    pub(crate) fn sees(&self, entry: &ProgramEntry) -> bool {
        match self {
            Scope::Admin => true,
            Scope::Brand { account_sid } => entry.account_sid == *account_sid,
            Scope::Partner { account_sid, partner } => {
                entry.account_sid == *account_sid
                    && entry.program.owner(*partner).is_some_and(|owner| owner.kind == OwnerKind::Partner)
            }
        }
    }

    /// The programs this user sees, by name.
    pub(crate) fn programs(&self, catalog: &Catalog) -> Vec<ProgramEntry> {
        let mut programs: Vec<ProgramEntry> = catalog.programs().filter(|entry| self.sees(entry)).cloned().collect();
        programs.sort_by(|a, b| match a.program.document().program.name.cmp(&b.program.document().program.name) {
            Ordering::Equal => a.program.id().cmp(&b.program.id()),
            other => other,
        });
        programs
    }

    /// The program named in a path, if this user sees it.
    pub(crate) fn program(&self, catalog: &Catalog, id: &str) -> Option<ProgramEntry> {
        let id: ProgramId = id.parse().ok()?;
        catalog.program(id).filter(|entry| self.sees(entry)).cloned()
    }

    /// A program this user manages as its brand: the pages and forms only a brand has.
    pub(crate) fn brand_program(&self, catalog: &Catalog, id: &str) -> Option<ProgramEntry> {
        self.program(catalog, id).filter(|_| self.is_brand())
    }

    /// The partner this user acts for, if it is a partner user.
    pub(crate) fn partner(&self) -> Option<PartnerId> {
        match self {
            Scope::Partner { partner, .. } => Some(*partner),
            _ => None,
        }
    }

    /// Whether this user sees programs as their brand.
    pub(crate) fn is_brand(&self) -> bool {
        self.partner().is_none()
    }

    /// The listing's viewer.
    pub(crate) fn viewer(&self) -> Viewer {
        match self.partner() {
            Some(partner) => Viewer::Partner(partner),
            None => Viewer::Brand,
        }
    }

    /// How the user is described in the header.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Scope::Admin => "Administrator",
            Scope::Brand { .. } => "Brand",
            Scope::Partner { .. } => "Partner",
        }
    }
}
