//! The message a page shows after one of its forms: picked by a code from the page's
//! own fixed list, so that a link cannot make a page say anything else.

/// The `?notice=` a form redirects back with.
#[derive(serde::Deserialize)]
pub(crate) struct NoticeQuery {
    pub(crate) notice: Option<String>,
}

/// A message, and whether it reports an error (`templates/dashboard/notice.html`).
pub(crate) struct Notice {
    pub(crate) text: &'static str,
    pub(crate) error: bool,
}

impl Notice {
    /// The notice of `code` in `list`: (code, text, whether it reports an error).
    pub(crate) fn pick(code: Option<&str>, list: &[(&str, &'static str, bool)]) -> Option<Notice> {
        let code = code?;
        list.iter().find(|(known, ..)| *known == code).map(|&(_, text, error)| Notice { text, error })
    }
}
