//! User-agent parsing into device type, operating system and browser.
//!
//! woothee carries its pattern data compiled in, so nothing is fetched at build time.

use crate::click::DeviceType;

/// The longest user agent kept; longer ones are cut (at a character boundary).
pub const MAX_USER_AGENT_LEN: usize = 512;

/// What a user agent says about the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAgentInfo {
    /// Desktop, mobile, tablet, bot or other.
    pub device: DeviceType,
    /// Operating system name, e.g. `iOS`, `Windows 10`; empty when unknown.
    pub os: String,
    /// Browser name, e.g. `Chrome`; empty when unknown.
    pub browser: String,
    /// Whether the client looks automated.
    pub bot: bool,
}

/// Substrings (lower case) of automated clients that woothee does not list as crawlers.
const BOT_MARKERS: &[&str] = &[
    "bot",
    "crawl",
    "spider",
    "slurp",
    "headless",
    "curl/",
    "wget/",
    "python-",
    "go-http-client",
    "java/",
    "okhttp",
    "libwww",
    "httpclient",
    "scrapy",
    "phantomjs",
    "wrk",
];

/// Parses a user agent. An absent or empty one is treated as automated.
pub fn parse_user_agent(user_agent: &str) -> UserAgentInfo {
    if user_agent.trim().is_empty() {
        return UserAgentInfo { device: DeviceType::Bot, os: String::new(), browser: String::new(), bot: true };
    }
    let lower = user_agent.to_ascii_lowercase();
    let parsed = woothee::parser::Parser::new().parse(user_agent);
    let (category, os, browser) = match &parsed {
        Some(result) => (result.category, known(result.os), known(result.name)),
        None => ("UNKNOWN", String::new(), String::new()),
    };
    let bot = category == "crawler" || BOT_MARKERS.iter().any(|marker| lower.contains(marker));
    let device = if bot {
        DeviceType::Bot
    } else if lower.contains("ipad")
        || (lower.contains("android") && !lower.contains("mobile"))
        || lower.contains("tablet")
    {
        DeviceType::Tablet
    } else {
        match category {
            "pc" => DeviceType::Desktop,
            "smartphone" | "mobilephone" => DeviceType::Mobile,
            _ => DeviceType::Other,
        }
    };
    UserAgentInfo { device, os, browser, bot }
}

/// Parsed user agents by their text. Shoppers' browsers send the same few thousand
/// strings over and over, and parsing one takes microseconds, a sixth of a redirect's
/// CPU. A fixed table, each text in one slot chosen by its hash: memory is bounded,
/// and a text that loses its slot is simply parsed again.
#[derive(Debug, Clone)]
pub struct UserAgentCache {
    slots: Vec<Option<(String, UserAgentInfo)>>,
}

impl UserAgentCache {
    /// A table of `capacity` slots (rounded up to a power of two, at least 1).
    pub fn new(capacity: usize) -> UserAgentCache {
        UserAgentCache { slots: vec![None; capacity.max(1).next_power_of_two()] }
    }

    fn slot(&self, user_agent: &str) -> usize {
        let hash = std::hash::BuildHasher::hash_one(
            &std::hash::BuildHasherDefault::<std::hash::DefaultHasher>::default(),
            user_agent,
        );
        (hash as usize) & (self.slots.len() - 1)
    }

    /// The parse of `user_agent`, if it is in the table.
    pub fn get(&self, user_agent: &str) -> Option<UserAgentInfo> {
        match &self.slots[self.slot(user_agent)] {
            Some((text, info)) if text == user_agent => Some(info.clone()),
            _ => None,
        }
    }

    /// Keeps a parse, in place of whatever held its slot. Texts longer than a click
    /// keeps are not kept (they are rare, and would only swell the table).
    pub fn insert(&mut self, user_agent: &str, info: &UserAgentInfo) {
        if user_agent.len() <= MAX_USER_AGENT_LEN {
            let slot = self.slot(user_agent);
            self.slots[slot] = Some((user_agent.to_owned(), info.clone()));
        }
    }
}

fn known(name: &str) -> String {
    if name == "UNKNOWN" { String::new() } else { name.to_owned() }
}

/// Cuts text to at most `max` bytes without splitting a character.
pub fn truncate_to_boundary(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_answers_what_was_parsed_and_forgets_what_lost_its_slot() {
        let mut cache = UserAgentCache::new(1);
        assert_eq!(cache.get(CHROME_MAC), None);
        cache.insert(CHROME_MAC, &parse_user_agent(CHROME_MAC));
        assert_eq!(cache.get(CHROME_MAC), Some(parse_user_agent(CHROME_MAC)));
        cache.insert(GOOGLEBOT, &parse_user_agent(GOOGLEBOT));
        assert_eq!(cache.get(CHROME_MAC), None, "one slot: the other text took it");
        assert_eq!(cache.get(GOOGLEBOT), Some(parse_user_agent(GOOGLEBOT)));
        let long = "x".repeat(MAX_USER_AGENT_LEN + 1);
        cache.insert(&long, &parse_user_agent(&long));
        assert_eq!(cache.get(&long), None);
    }

    const CHROME_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    const SAFARI_IPAD: &str = "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    const ANDROID_TABLET: &str = "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    const GOOGLEBOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

    #[test]
    fn desktop_phone_and_tablet_are_told_apart() {
        let chrome = parse_user_agent(CHROME_MAC);
        assert_eq!((chrome.device, chrome.browser.as_str(), chrome.bot), (DeviceType::Desktop, "Chrome", false));
        assert_eq!(parse_user_agent(SAFARI_IPHONE).device, DeviceType::Mobile);
        assert_eq!(parse_user_agent(SAFARI_IPHONE).os, "iPhone");
        assert_eq!(parse_user_agent(SAFARI_IPAD).device, DeviceType::Tablet);
        assert_eq!(parse_user_agent(ANDROID_TABLET).device, DeviceType::Tablet);
    }

    #[test]
    fn crawlers_tools_and_missing_agents_are_bots() {
        for agent in [GOOGLEBOT, "curl/8.5.0", "", "python-requests/2.31"] {
            let info = parse_user_agent(agent);
            assert!(info.bot, "{agent:?}");
            assert_eq!(info.device, DeviceType::Bot);
        }
    }

    #[test]
    fn truncation_never_splits_a_character() {
        assert_eq!(truncate_to_boundary("aé", 2), "a");
        assert_eq!(truncate_to_boundary("abc", 5), "abc");
    }
}
