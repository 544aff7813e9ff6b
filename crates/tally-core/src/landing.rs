//! Landing pages: which deep links may be followed, and the tracking template that
//! carries the click id to the brand's page.
//!
//! This module is why Tally is never an open redirect. A deep link is parsed the way a
//! browser parses it (the WHATWG URL Standard, <https://url.spec.whatwg.org/>, through the
//! `url` crate), so backslashes, percent-encoded and internationalised hosts are seen as
//! the browser will see them; then its host must match one of the program's permitted
//! domains on a label boundary.

use std::fmt;

use url::{Host, Url};

/// A landing page or deep link that may be redirected to.
pub type LandingUrl = Url;

/// Why a URL cannot be a landing page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LandingError {
    /// Not an absolute URL.
    #[error("not an absolute URL")]
    NotAbsolute,
    /// Not `http` or `https`.
    #[error("only http and https URLs can be landing pages")]
    Scheme,
    /// Carries a user name or password, a classic way to disguise the real host.
    #[error("URLs with a user name or password are not allowed")]
    UserInfo,
    /// The URL has no host.
    #[error("the URL has no host")]
    NoHost,
    /// The host is not among the program's permitted domains.
    #[error("host {0:?} is not a permitted domain")]
    NotPermitted(String),
    /// Longer than a browser would reliably accept.
    #[error("URL longer than {MAX_LANDING_URL_LEN} bytes")]
    TooLong,
}

/// The longest landing URL accepted (before the tracking template is added).
pub const MAX_LANDING_URL_LEN: usize = 4096;

/// Parses an absolute `http(s)` URL with a host and no user info.
pub fn parse_landing_url(text: &str) -> Result<Url, LandingError> {
    if text.len() > MAX_LANDING_URL_LEN {
        return Err(LandingError::TooLong);
    }
    let url = Url::parse(text.trim()).map_err(|_| LandingError::NotAbsolute)?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(LandingError::Scheme);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(LandingError::UserInfo);
    }
    if url.host().is_none() {
        return Err(LandingError::NoHost);
    }
    Ok(url)
}

/// The `u` parameter of a tracking link, as sent: raw or URL-encoded once more.
/// Returns the deep link if it parses and its host is permitted.
pub fn parse_deep_link(text: &str, permitted: &PermittedDomains) -> Result<Url, LandingError> {
    let url = parse_landing_url(&decode_if_still_encoded(text))?;
    let host = host_for_matching(&url).ok_or(LandingError::NoHost)?;
    if !permitted.permits(&host) {
        return Err(LandingError::NotPermitted(host));
    }
    Ok(url)
}

/// A deep link encoded twice arrives still encoded after the query is decoded
/// (`https%3A%2F%2F…`); decode it once more so that it is judged by its real host.
fn decode_if_still_encoded(text: &str) -> std::borrow::Cow<'_, str> {
    let lower_start: String = text.chars().take(10).collect::<String>().to_ascii_lowercase();
    let encoded_scheme = lower_start.starts_with("http%3a") || lower_start.starts_with("https%3a");
    match percent_encoding::percent_decode_str(text).decode_utf8() {
        Ok(decoded) if encoded_scheme => std::borrow::Cow::Owned(decoded.into_owned()),
        _ => std::borrow::Cow::Borrowed(text),
    }
}

/// The host as compared with permitted domains: ASCII (IDNA) lower case, without the
/// trailing dot of a fully qualified name.
fn host_for_matching(url: &Url) -> Option<String> {
    let host = match url.host()? {
        Host::Domain(domain) => domain.trim_end_matches('.').to_owned(),
        Host::Ipv4(address) => address.to_string(),
        Host::Ipv6(address) => format!("[{address}]"),
    };
    Some(host)
}

/// One permitted-domain pattern: an exact host, or `*.` and a domain for any of its
/// subdomains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainPattern {
    /// This host only.
    Exact(String),
    /// Any subdomain of this domain (not the domain itself).
    Subdomains(String),
}

impl DomainPattern {
    /// Parses a pattern, normalising internationalised names to their ASCII form.
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let (wildcard, domain) = match pattern.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, pattern),
        };
        let normalised = normalise_host(domain).ok_or_else(|| format!("{pattern:?} is not a domain or *.domain"))?;
        Ok(if wildcard { Self::Subdomains(normalised) } else { Self::Exact(normalised) })
    }

    fn matches(&self, host: &str) -> bool {
        match self {
            Self::Exact(domain) => host == domain,
            Self::Subdomains(domain) => {
                host.len() > domain.len() + 1
                    && host.ends_with(domain.as_str())
                    && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
            }
        }
    }
}

impl fmt::Display for DomainPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(domain) => f.write_str(domain),
            Self::Subdomains(domain) => write!(f, "*.{domain}"),
        }
    }
}

/// Normalises a bare host name (no scheme, port or path) as a browser would.
pub fn normalise_host(host: &str) -> Option<String> {
    let looks_bare = !host.is_empty() && !host.contains(['/', ':', '@', '\\', '?', '#', '*', ' ']);
    if !looks_bare {
        return None;
    }
    match Host::parse(host).ok()? {
        Host::Domain(domain) => Some(domain.trim_end_matches('.').to_owned()),
        Host::Ipv4(address) => Some(address.to_string()),
        Host::Ipv6(_) => None,
    }
}

/// The hosts a deep link may point to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermittedDomains(Vec<DomainPattern>);

impl PermittedDomains {
    /// Builds the list from already parsed patterns.
    pub fn new(patterns: Vec<DomainPattern>) -> Self {
        PermittedDomains(patterns)
    }

    /// Whether a normalised host matches any pattern.
    pub fn permits(&self, host: &str) -> bool {
        self.0.iter().any(|pattern| pattern.matches(host))
    }
}

/// A token of the tracking template, replaced per click.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateToken {
    /// `{clickid}`
    ClickId,
    /// `{irpid}`: the partner (or media source) id.
    PartnerId,
    /// `{iradid}`: the ad id.
    AdId,
    /// `{ircid}`: the program id.
    ProgramId,
    /// `{sharedid}`
    SharedId,
    /// `{irmpname}`: the partner's name.
    PartnerName,
}

impl TemplateToken {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "clickid" => Self::ClickId,
            "irpid" => Self::PartnerId,
            "iradid" => Self::AdId,
            "ircid" => Self::ProgramId,
            "sharedid" => Self::SharedId,
            "irmpname" => Self::PartnerName,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum TemplatePart {
    Fixed(String),
    Token(TemplateToken),
}

/// The query string appended to every landing page, e.g. `irclickid={clickid}&utm_source=partners`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingTemplate {
    parameters: Vec<(String, Vec<TemplatePart>)>,
}

/// The template used when a program sets none *(documented)*.
pub const DEFAULT_TRACKING_TEMPLATE: &str = "irclickid={clickid}";

/// Values for the template's tokens.
#[derive(Debug, Clone, Copy)]
pub struct TemplateValues<'a> {
    /// The click id.
    pub click_id: &'a str,
    /// Partner or media source id.
    pub partner_id: u64,
    /// Ad id, if any.
    pub ad_id: Option<u64>,
    /// Program id.
    pub program_id: u64,
    /// Shared id, if any.
    pub shared_id: Option<&'a str>,
    /// Partner or media source name.
    pub partner_name: &'a str,
}

impl TrackingTemplate {
    /// Parses `name={token}&name=fixed…`; unknown tokens and empty names are refused.
    pub fn parse(template: &str) -> Result<Self, String> {
        let mut parameters = Vec::new();
        for pair in template.trim_start_matches('?').split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if name.is_empty() || name.contains(['{', '}']) {
                return Err(format!("parameter {pair:?} has no usable name"));
            }
            parameters.push((name.to_owned(), parse_template_value(value)?));
        }
        if parameters.is_empty() {
            return Err("the tracking template is empty".to_owned());
        }
        Ok(TrackingTemplate { parameters })
    }

    /// The parameter names the template sets.
    pub fn parameter_names(&self) -> impl Iterator<Item = &str> {
        self.parameters.iter().map(|(name, _)| name.as_str())
    }

    /// The parameter whose whole value is `{clickid}`: where a landing page (and the
    /// browser tag) finds the click id. `None` when the template carries none that way.
    pub fn click_id_parameter(&self) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(_, parts)| parts.as_slice() == [TemplatePart::Token(TemplateToken::ClickId)])
            .map(|(name, _)| name.as_str())
    }

    /// Appends the template to a landing URL. The URL's own query parameters and its
    /// fragment are kept, except parameters of the same name as the template's, which
    /// the template replaces so the page never sees two click ids.
    pub fn apply(&self, landing: &Url, values: &TemplateValues<'_>) -> String {
        let mut url = landing.clone();
        let kept: Vec<&str> = landing
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|segment| !segment.is_empty())
            .filter(|segment| {
                // Compare decoded names, or `irclick%69d=…` would slip a second click id past.
                let name = url::form_urlencoded::parse(segment.as_bytes()).next().map(|(name, _)| name);
                !name.is_some_and(|name| self.parameters.iter().any(|(own, _)| *own == name))
            })
            .collect();
        let mut query = kept.join("&");
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for (name, parts) in &self.parameters {
            serializer.append_pair(name, &render(parts, values));
        }
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(&serializer.finish());
        url.set_query(Some(&query));
        url.into()
    }
}

fn parse_template_value(value: &str) -> Result<Vec<TemplatePart>, String> {
    let mut parts = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(TemplatePart::Fixed(rest[..open].to_owned()));
        }
        let close = rest[open..].find('}').ok_or_else(|| format!("unclosed token in {value:?}"))? + open;
        let name = &rest[open + 1..close];
        let token = TemplateToken::parse(name).ok_or_else(|| format!("unknown token {{{name}}}"))?;
        parts.push(TemplatePart::Token(token));
        rest = &rest[close + 1..];
    }
    if rest.contains('}') {
        return Err(format!("stray '}}' in {value:?}"));
    }
    if !rest.is_empty() {
        parts.push(TemplatePart::Fixed(rest.to_owned()));
    }
    Ok(parts)
}

fn render(parts: &[TemplatePart], values: &TemplateValues<'_>) -> String {
    let mut text = String::new();
    for part in parts {
        match part {
            TemplatePart::Fixed(fixed) => text.push_str(fixed),
            TemplatePart::Token(TemplateToken::ClickId) => text.push_str(values.click_id),
            TemplatePart::Token(TemplateToken::PartnerId) => text.push_str(&values.partner_id.to_string()),
            TemplatePart::Token(TemplateToken::AdId) => {
                text.push_str(&values.ad_id.map(|id| id.to_string()).unwrap_or_default())
            }
            TemplatePart::Token(TemplateToken::ProgramId) => text.push_str(&values.program_id.to_string()),
            TemplatePart::Token(TemplateToken::SharedId) => text.push_str(values.shared_id.unwrap_or("")),
            TemplatePart::Token(TemplateToken::PartnerName) => text.push_str(values.partner_name),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acme() -> PermittedDomains {
        let patterns = ["acme.test", "*.acme.test", "bücher.test"].map(|p| DomainPattern::parse(p).unwrap());
        PermittedDomains::new(patterns.to_vec())
    }

    fn host_of(link: &str) -> Result<String, LandingError> {
        parse_deep_link(link, &acme()).map(|url| url.host_str().unwrap_or("").to_owned())
    }

    #[test]
    fn the_click_id_parameter_is_the_one_that_carries_clickid_alone() {
        let name = |text: &str| TrackingTemplate::parse(text).unwrap().click_id_parameter().map(str::to_owned);
        assert_eq!(name(DEFAULT_TRACKING_TEMPLATE).as_deref(), Some("irclickid"));
        assert_eq!(name("utm_source=partners&cid={clickid}").as_deref(), Some("cid"));
        assert_eq!(name("cid=x{clickid}&p={irpid}"), None);
    }

    #[test]
    fn permitted_hosts_and_their_subdomains_are_followed() {
        assert_eq!(host_of("https://acme.test/shoes?x=1#top").as_deref(), Ok("acme.test"));
        assert_eq!(host_of("https://www.acme.test/").as_deref(), Ok("www.acme.test"));
        assert_eq!(host_of("http://a.b.ACME.test/").as_deref(), Ok("a.b.acme.test"));
        assert_eq!(host_of("https%3A%2F%2Fshop.acme.test%2Fp").as_deref(), Ok("shop.acme.test"));
        assert_eq!(host_of("https://acme.test./").as_deref(), Ok("acme.test."));
        assert!(host_of("https://BÜCHER.test/").is_ok(), "internationalised permitted domain");
    }

    #[test]
    fn open_redirect_tricks_never_pass() {
        let hostile = [
            "//evil.test/",
            "/\\evil.test",
            "https:\\\\evil.test\\acme.test",
            "https://acme.test@evil.test/",
            "https://evil.test\\@acme.test/",
            "https://user:pw@acme.test/",
            "javascript:alert(1)//acme.test",
            "JavaScript://acme.test/%0aalert(1)",
            "data:text/html,<script>alert(1)</script>",
            "https://acme.test.evil.test/",
            "https://evilacme.test/",
            "https://acme.testevil.test/",
            "https://%65vil.test/",
            "https://acme%2etest.evil.test/",
            "https://xn--bcher-kva.evil.test/",
            "https://аcme.test/",
            "https://evil.test#https://acme.test",
            "https://evil.test?https://acme.test",
            "ftp://acme.test/",
            "https://127.0.0.1/",
            "https://[::1]/",
            "  https://evil.test/",
            "",
            "acme.test",
            "https:acme.test.evil.test",
            "https%253A%252F%252Fevil.test",
        ];
        for link in hostile {
            assert!(parse_deep_link(link, &acme()).is_err(), "{link:?} must not be followed");
        }
    }

    #[test]
    fn the_wildcard_matches_subdomains_only() {
        let only_subdomains = PermittedDomains::new(vec![DomainPattern::parse("*.acme.test").unwrap()]);
        assert!(only_subdomains.permits("www.acme.test"));
        assert!(!only_subdomains.permits("acme.test"));
        assert!(!only_subdomains.permits(".acme.test"));
    }

    #[test]
    fn domain_patterns_refuse_urls_and_ports() {
        for bad in ["https://acme.test", "acme.test:443", "*", "*.", "a b.test", ""] {
            assert!(DomainPattern::parse(bad).is_err(), "{bad:?}");
        }
    }

    fn values() -> TemplateValues<'static> {
        TemplateValues {
            click_id: "CLICK1",
            partner_id: 7,
            ad_id: Some(8),
            program_id: 9,
            shared_id: Some("a b&c"),
            partner_name: "Deal Hunters",
        }
    }

    #[test]
    fn the_template_keeps_query_and_fragment_and_encodes_values() {
        let template = TrackingTemplate::parse(
            "irclickid={clickid}&pid={irpid}&ad={iradid}&c={ircid}&s={sharedid}&n={irmpname}&utm=aff",
        )
        .unwrap();
        let landing = Url::parse("https://acme.test/p?color=red&irclickid=OLD#reviews").unwrap();
        assert_eq!(
            template.apply(&landing, &values()),
            "https://acme.test/p?color=red&irclickid=CLICK1&pid=7&ad=8&c=9&s=a+b%26c&n=Deal+Hunters&utm=aff#reviews"
        );
    }

    #[test]
    fn the_default_template_sets_irclickid() {
        let template = TrackingTemplate::parse(DEFAULT_TRACKING_TEMPLATE).unwrap();
        let landing = Url::parse("https://acme.test").unwrap();
        assert_eq!(template.apply(&landing, &values()), "https://acme.test/?irclickid=CLICK1");
    }

    #[test]
    fn templates_with_unknown_or_broken_tokens_are_refused() {
        for bad in ["x={nope}", "x={clickid", "x=}", "={clickid}", "", "{clickid}=1"] {
            assert!(TrackingTemplate::parse(bad).is_err(), "{bad:?}");
        }
    }
}
