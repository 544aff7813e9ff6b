//! The store commands of SPEC §1, each printing exactly what scripts read.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, bail};
use jiff::Timestamp;
use tally_app::accounts::Accounts;
use tally_app::catalog::CatalogHandle;
use tally_app::clicks::{ClickExport, ExportFormat, ExportRequest, Viewer};
use tally_app::ports::{Clock, SystemClock};
use tally_app::programs::{ProgramError, Programs, parse_document};
use tally_core::ids::{PartnerId, ProgramId};

use crate::cli::{
    AccountCommand, Cli, ClicksCommand, Command, ProgramCommand, StoreCommand, TokenCommand, UserCommand,
};
use crate::config::{self, Overrides, Settings};
use crate::store::{self, Missing};
use crate::{serve, telemetry};

/// Runs one command.
pub(crate) async fn run(cli: Cli) -> anyhow::Result<()> {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let config_file = cli.config.clone().or_else(|| env.get("TALLY_CONFIG").map(Into::into));
    let (listen, demo) = match &cli.command {
        Command::Serve(args) => (args.listen.clone(), args.demo),
        _ => (None, false),
    };
    let overrides = Overrides { listen, database: cli.database.clone(), demo };
    let settings = config::load(config_file.as_deref(), &env, overrides)?.settings()?;
    telemetry::init(&settings.log);
    // The copy's two stores, each with the settings (and click journal) it would have
    // as `--database`.
    let store_settings = |url: &str| -> anyhow::Result<Settings> {
        let overrides = Overrides { database: Some(url.to_owned()), ..Overrides::default() };
        config::load(config_file.as_deref(), &env, overrides)?.settings()
    };
    match cli.command {
        Command::Store(StoreCommand::Copy { from, to }) => {
            let from = store_settings(&from).context("--from")?;
            let to = store_settings(&to).context("--to")?;
            copy_store(&from, &to).await
        }
        Command::Serve(_) => serve::serve(settings).await,
        Command::Account(AccountCommand::Create { name }) => {
            let credentials = accounts(&settings, Missing::Create).await?.create_account(&name).await?;
            print_json(&credentials)
        }
        Command::Token(TokenCommand::Create { account, partner, name }) => {
            let partner = partner_arg(partner)?;
            let token =
                accounts(&settings, Missing::Refuse).await?.create_token(&account, partner, name.as_deref()).await?;
            print_json(&serde_json::json!({ "token": token }))
        }
        Command::User(UserCommand::Create { account, partner, username }) => {
            let partner = partner_arg(partner)?;
            let login = accounts(&settings, Missing::Refuse).await?.create_user(&account, partner, &username).await?;
            print_json(&login)
        }
        Command::Program(ProgramCommand::Apply { file, account }) => apply_program(&settings, &file, &account).await,
        Command::Program(ProgramCommand::Export { id }) => {
            let id = program_id(&id)?;
            let (programs, _) = programs(&settings).await?;
            let document = programs.export(None, id).await.map_err(|error| anyhow::anyhow!("{error}"))?;
            print!("{document}");
            Ok(())
        }
        Command::Clicks(ClicksCommand::Export { program_id: id, since, until, format, partner }) => {
            export_clicks(&settings, &id, since, until, &format, partner).await
        }
    }
}

async fn accounts(settings: &Settings, missing: Missing) -> anyhow::Result<Accounts> {
    let store = store::open(settings, missing).await?;
    let keyed = store::keyed(&store).await?;
    Ok(Accounts::new(store, Arc::new(SystemClock), keyed))
}

async fn programs(settings: &Settings) -> anyhow::Result<(Programs, Arc<CatalogHandle>)> {
    let store = store::open(settings, Missing::Refuse).await?;
    let catalog = Arc::new(CatalogHandle::load(store.clone()).await?);
    Ok((Programs::new(store, Arc::new(SystemClock), catalog.clone()), catalog))
}

/// The `--partner` argument.
fn partner_arg(partner: Option<String>) -> anyhow::Result<Option<PartnerId>> {
    partner
        .map(|text| text.parse::<PartnerId>().with_context(|| format!("--partner: {text:?} is not a partner id")))
        .transpose()
}

fn program_id(text: &str) -> anyhow::Result<ProgramId> {
    text.parse().with_context(|| format!("{text:?} is not a program id"))
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

async fn apply_program(settings: &Settings, file: &std::path::Path, account: &str) -> anyhow::Result<()> {
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read the document from standard input")?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    let (programs, _) = programs(settings).await?;
    let result = match parse_document(&text) {
        Ok(document) => programs.apply(account, document, None).await,
        Err(problems) => Err(ProgramError::Invalid(problems)),
    };
    match result {
        Ok(report) => print_json(&report),
        Err(ProgramError::Invalid(problems)) => {
            let listed: Vec<String> = problems.iter().map(|problem| format!("  {problem}")).collect();
            bail!("{} was not applied; {} problem(s):\n{}", file.display(), problems.len(), listed.join("\n"))
        }
        Err(error) => Err(error.into()),
    }
}

async fn export_clicks(
    settings: &Settings,
    id: &str,
    since: Option<String>,
    until: Option<String>,
    format: &str,
    partner: Option<String>,
) -> anyhow::Result<()> {
    let program = program_id(id)?;
    let instant = |name: &str, text: Option<String>, default: Timestamp| -> anyhow::Result<Timestamp> {
        text.map_or(Ok(default), |text| {
            text.parse().with_context(|| format!("--{name}: {text:?} is not an RFC 3339 time"))
        })
    };
    let since = instant("since", since, Timestamp::UNIX_EPOCH)?;
    let until = instant("until", until, SystemClock.now())?;
    let format = ExportFormat::parse(format).with_context(|| format!("--format: {format:?} must be json or csv"))?;
    let store = store::open(settings, Missing::Refuse).await?;
    store::load_pending_clicks(settings, store.clone()).await?;
    let catalog = CatalogHandle::load(store.clone()).await?;
    let viewer = match partner {
        None => Viewer::Operator,
        Some(text) => {
            let partner =
                text.parse::<PartnerId>().with_context(|| format!("--partner: {text:?} is not a partner id"))?;
            let entry = catalog.get().program(program).map(|entry| entry.account_sid.clone());
            let account_sid = entry.with_context(|| format!("program {program} not found"))?;
            Viewer::Partner { account_sid, partner }
        }
    };
    let request = ExportRequest { program, since, until, format };
    let mut export = ClickExport::start(store, &catalog, &viewer, request)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    while let Some(chunk) = export.next_chunk().await? {
        out.write_all(chunk.as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

/// Clicks between two progress lines of `store copy`.
const PROGRESS_EVERY: u64 = 100_000;

async fn copy_store(from: &Settings, to: &Settings) -> anyhow::Result<()> {
    let source = store::open(from, Missing::Refuse).await.with_context(|| format!("--from {}", from.database))?;
    store::load_pending_clicks(from, source.clone()).await?;
    let target = store::open(to, Missing::Create).await.with_context(|| format!("--to {}", to.database))?;
    let mut reported = 0;
    let progress = |copied: u64| {
        if copied / PROGRESS_EVERY > reported / PROGRESS_EVERY {
            eprintln!("copied {copied} clicks");
        }
        reported = copied;
    };
    let report = tally_app::copy::copy_store(source.as_ref(), target.as_ref(), progress)
        .await
        .with_context(|| format!("cannot copy {} to {}", from.database, to.database))?;
    print_json(&report)
}
