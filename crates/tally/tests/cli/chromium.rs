//! Debian's headless Chromium for the browser tests, driven by chromiumoxide: where it
//! is, whether it is there, and one way to start it.

use std::path::Path;

use chromiumoxide::browser::{Browser, BrowserConfig, BrowserConfigBuilder};
use futures_util::StreamExt;

/// Where `scripts/install-test-deps` puts it.
pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";

/// Whether Chromium is installed; when not, the caller says what it skips.
pub(crate) fn installed() -> bool {
    Path::new(CHROMIUM).exists()
}

/// Starts Chromium with a fresh profile in `profile`, offline-friendly, with whatever
/// `configure` adds; returns it with the task that drives its events.
pub(crate) async fn launch(
    profile: &Path,
    configure: impl FnOnce(BrowserConfigBuilder) -> BrowserConfigBuilder,
) -> (Browser, tokio::task::JoinHandle<()>) {
    let builder = BrowserConfig::builder().chrome_executable(CHROMIUM).user_data_dir(profile).no_sandbox().args([
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--no-proxy-server",
    ]);
    let config = configure(builder).build().expect("a browser configuration");
    let (browser, mut handler) = Browser::launch(config).await.expect("chromium starts");
    let events = tokio::spawn(async move { while handler.next().await.is_some() {} });
    (browser, events)
}
