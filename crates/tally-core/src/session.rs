//! The click session: repeat clicks of one browser on one partner's links within the
//! program's rolling window keep the same click id and are not unique *(documented)*.
//!
//! The session lives in the browser, in a cookie Tally signs, so any node can continue
//! it without asking another node or the store. This module only decides and encodes;
//! signing is the HTTP adapter's job.

use jiff::{SignedDuration, Timestamp};

use crate::ids::{ClickId, PartnerId, ProgramId};

/// The most sessions one browser carries; the least recently used go first.
pub const MAX_SESSIONS: usize = 16;

/// Whose session: one browser has one per program, partner and kind of touch, so that
/// seeing a banner does not make the click on it a repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionKey {
    /// The program.
    pub program: ProgramId,
    /// The partner or media source.
    pub owner: PartnerId,
    /// A session of impressions rather than clicks.
    pub impressions: bool,
}

/// One open session of a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEntry {
    /// Whose session.
    pub key: SessionKey,
    /// The session's click id.
    pub click_id: ClickId,
    /// Seconds since the Unix epoch of the latest click in the session.
    pub last_seen: i64,
}

/// All open sessions of one browser.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionJar {
    entries: Vec<SessionEntry>,
}

/// The session's verdict on a click.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionVerdict {
    /// The click id to use.
    pub click_id: ClickId,
    /// Whether this click opens a new session.
    pub unique: bool,
}

impl SessionJar {
    /// Continues the browser's session with this partner if its last click is within
    /// `window` of `now`, or starts a new one with `fresh_id`. The session rolls: every
    /// click moves its end.
    pub fn continue_or_start(
        &mut self,
        key: SessionKey,
        now: Timestamp,
        window: SignedDuration,
        fresh_id: ClickId,
    ) -> SessionVerdict {
        let now_secs = now.as_second();
        let open = |entry: &SessionEntry| now_secs - entry.last_seen <= window.as_secs() && entry.last_seen <= now_secs;
        let position = self.entries.iter().position(|entry| entry.key == key);
        let verdict = match position.map(|index| self.entries.remove(index)) {
            Some(entry) if open(&entry) => SessionVerdict { click_id: entry.click_id, unique: false },
            _ => SessionVerdict { click_id: fresh_id, unique: true },
        };
        self.entries.retain(|entry| now_secs - entry.last_seen <= window.as_secs().max(86_400));
        self.entries.insert(0, SessionEntry { key, click_id: verdict.click_id.clone(), last_seen: now_secs });
        self.entries.truncate(MAX_SESSIONS);
        verdict
    }

    /// Encodes the jar as cookie-safe text: `program.owner.clickid.seconds`, with `.i`
    /// after a session of impressions, entries joined by `~`.
    pub fn encode(&self) -> String {
        let entries: Vec<String> = self
            .entries
            .iter()
            .map(|entry| {
                let SessionKey { program, owner, impressions } = entry.key;
                let kind = if impressions { ".i" } else { "" };
                format!("{program}.{owner}.{}.{}{kind}", entry.click_id, entry.last_seen)
            })
            .collect();
        entries.join("~")
    }

    /// Decodes text made by [`SessionJar::encode`]; unreadable entries are skipped, so a
    /// damaged cookie costs a session, never a click.
    pub fn decode(text: &str) -> SessionJar {
        let entries = text
            .split('~')
            .filter_map(|entry| {
                let mut fields = entry.split('.');
                let program = fields.next()?.parse().ok()?;
                let owner = fields.next()?.parse().ok()?;
                let click_id = fields.next()?.parse().ok()?;
                let last_seen = fields.next()?.parse().ok()?;
                let impressions = match fields.next() {
                    None => false,
                    Some("i") => true,
                    Some(_) => return None,
                };
                let key = SessionKey { program, owner, impressions };
                fields.next().is_none().then_some(SessionEntry { key, click_id, last_seen })
            })
            .take(MAX_SESSIONS)
            .collect();
        SessionJar { entries }
    }

    /// Whether the jar holds no session.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).unwrap()
    }

    fn id(text: &str) -> ClickId {
        text.parse().unwrap()
    }

    const WINDOW: SignedDuration = SignedDuration::from_mins(30);

    fn clicks(program: u64, owner: u64) -> SessionKey {
        SessionKey { program: ProgramId(program), owner: PartnerId(owner), impressions: false }
    }

    #[test]
    fn impressions_and_clicks_keep_separate_sessions() {
        let mut jar = SessionJar::default();
        let impressions = SessionKey { impressions: true, ..clicks(1, 2) };
        let seen = jar.continue_or_start(impressions, at(0), WINDOW, id("A"));
        let clicked = jar.continue_or_start(clicks(1, 2), at(10), WINDOW, id("B"));
        let seen_again = jar.continue_or_start(impressions, at(20), WINDOW, id("C"));
        assert!(seen.unique && clicked.unique && !seen_again.unique);
        assert_eq!(clicked.click_id.as_str(), "B");
        assert_eq!(SessionJar::decode(&jar.encode()), jar);
    }

    #[test]
    fn repeat_clicks_within_the_rolling_window_keep_the_click_id() {
        let mut jar = SessionJar::default();
        let first = jar.continue_or_start(clicks(1, 2), at(1_000), WINDOW, id("A"));
        let second = jar.continue_or_start(clicks(1, 2), at(1_000 + 29 * 60), WINDOW, id("B"));
        let third = jar.continue_or_start(clicks(1, 2), at(1_000 + 58 * 60), WINDOW, id("C"));
        assert_eq!((first.click_id.as_str(), first.unique), ("A", true));
        assert_eq!((second.click_id.as_str(), second.unique), ("A", false));
        assert_eq!((third.click_id.as_str(), third.unique), ("A", false), "the window rolls");
    }

    #[test]
    fn a_click_after_the_window_or_on_another_partner_starts_a_session() {
        let mut jar = SessionJar::default();
        jar.continue_or_start(clicks(1, 2), at(0), WINDOW, id("A"));
        let other = jar.continue_or_start(clicks(1, 3), at(10), WINDOW, id("B"));
        let late = jar.continue_or_start(clicks(1, 2), at(31 * 60), WINDOW, id("C"));
        assert!(other.unique && late.unique);
        assert_eq!(late.click_id.as_str(), "C");
    }

    #[test]
    fn the_jar_survives_encoding_and_ignores_damage() {
        let mut jar = SessionJar::default();
        jar.continue_or_start(clicks(1, 2), at(5), WINDOW, id("A"));
        jar.continue_or_start(clicks(3, 4), at(6), WINDOW, id("B"));
        assert_eq!(SessionJar::decode(&jar.encode()), jar);
        assert_eq!(SessionJar::decode("garbage~1.2.X.5.6~1.x.A.5").entries.len(), 0);
    }

    #[test]
    fn the_jar_is_bounded() {
        let mut jar = SessionJar::default();
        for owner in 1..100 {
            jar.continue_or_start(clicks(1, owner), at(0), WINDOW, id("A"));
        }
        assert_eq!(jar.entries.len(), MAX_SESSIONS);
    }
}
