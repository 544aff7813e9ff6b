//! What every page shares: the header with the program switcher and the logout form,
//! the program's navigation, and the page title. Every page template extends
//! `templates/dashboard/base.html` and carries one [`Layout`].

use tally_app::catalog::{Catalog, ProgramEntry};
use tally_core::ids::ProgramId;

use super::session::Session;

/// A section of a program, for the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    /// The programs overview.
    Overview,
    /// The action listing and details.
    Actions,
    /// Refused conversions.
    Invalid,
    /// Statements and payment.
    Statements,
    /// Performance reports.
    Performance,
    /// The integration check.
    Integration,
    /// Partners' requests for test actions.
    TestRequests,
}

/// A program in the switcher.
pub(crate) struct ProgramLink {
    pub(crate) id: ProgramId,
    pub(crate) name: String,
    pub(crate) current: bool,
}

/// A link of the navigation.
pub(crate) struct NavLink {
    pub(crate) label: &'static str,
    pub(crate) href: String,
    pub(crate) current: bool,
}

/// The frame of a page.
pub(crate) struct Layout {
    /// The page's title (also its `<h1>` unless the page says otherwise).
    pub(crate) title: String,
    /// Who is logged in.
    pub(crate) username: String,
    /// As what.
    pub(crate) role: &'static str,
    /// The session's CSRF token, for the logout form and the page's forms.
    pub(crate) csrf: String,
    /// The programs the user sees.
    pub(crate) programs: Vec<ProgramLink>,
    /// The program's name, when the page is about one.
    pub(crate) program_name: Option<String>,
    /// The program's sections.
    pub(crate) nav: Vec<NavLink>,
    /// The time zone the page's times are in.
    pub(crate) time_zone: Option<String>,
}

impl Layout {
    /// The frame of a page of `program` (or of no program), in `section`.
    pub(crate) fn new(
        session: &Session,
        catalog: &Catalog,
        program: Option<&ProgramEntry>,
        section: Section,
        title: impl Into<String>,
    ) -> Layout {
        let current = program.map(|entry| entry.program.id());
        let programs = session
            .scope
            .programs(catalog)
            .into_iter()
            .map(|entry| ProgramLink {
                id: entry.program.id(),
                name: entry.program.document().program.name.clone(),
                current: Some(entry.program.id()) == current,
            })
            .collect();
        let nav = match program {
            Some(entry) => nav(session, entry.program.id(), section),
            None => Vec::new(),
        };
        Layout {
            title: title.into(),
            username: session.user.username.clone(),
            role: session.scope.label(),
            csrf: session.csrf.clone(),
            programs,
            program_name: program.map(|entry| entry.program.document().program.name.clone()),
            nav,
            time_zone: program.map(|entry| entry.program.document().program.time_zone.clone()),
        }
    }
}

fn nav(session: &Session, program: ProgramId, section: Section) -> Vec<NavLink> {
    let mut links = vec![NavLink { label: "Programs", href: "/".into(), current: section == Section::Overview }];
    let mut link = |label: &'static str, path: &str, own: Section| {
        links.push(NavLink { label, href: format!("/programs/{program}/{path}"), current: section == own });
    };
    link("Performance", "performance", Section::Performance);
    link("Actions", "actions", Section::Actions);
    if session.scope.is_brand() {
        link("Invalid conversions", "invalid", Section::Invalid);
        link("Integration check", "integration", Section::Integration);
    }
    link("Statements", "statements", Section::Statements);
    link("Test actions", "test-requests", Section::TestRequests);
    links
}
