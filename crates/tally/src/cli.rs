//! The command line, in exactly the forms of SPEC §1 (scripts depend on them).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Tally: self-hosted partner tracking.
#[derive(Debug, Parser)]
#[command(name = "tally", version, about)]
pub(crate) struct Cli {
    /// TOML configuration file (also `TALLY_CONFIG`).
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Store: `sqlite:PATH` (default `sqlite:tally.db`) or `postgres://…` (also `TALLY_DATABASE`).
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) database: Option<String>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the tracking edge, the APIs and the background jobs.
    Serve(ServeArgs),
    /// Brand accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Native API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Dashboard users.
    #[command(subcommand)]
    User(UserCommand),
    /// Program documents (program-as-code).
    #[command(subcommand)]
    Program(ProgramCommand),
    /// Click data.
    #[command(subcommand)]
    Clicks(ClicksCommand),
    /// Whole stores.
    #[command(subcommand)]
    Store(StoreCommand),
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<String>,
    /// Load the demo program and drive simulated shoppers through the edge.
    #[arg(long)]
    pub(crate) demo: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AccountCommand {
    /// Create a brand account; prints {"account_sid", "auth_token"}.
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Create a bearer token; prints {"token"}.
    Create {
        /// The account.
        #[arg(long)]
        account: String,
        /// Scope the token to one partner.
        #[arg(long)]
        partner: Option<String>,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Create a dashboard login with a random password; prints {"username", "password"}.
    Create {
        /// The account.
        #[arg(long)]
        account: String,
        /// Make a partner user, who sees only this partner's data.
        #[arg(long)]
        partner: Option<String>,
        /// Login name: letters, digits, '.', '_', '-' or '@'.
        #[arg(long)]
        username: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ProgramCommand {
    /// Apply a program document (whole, or refused whole with every problem listed).
    Apply {
        /// The JSON document; `-` reads standard input.
        file: PathBuf,
        /// The owning account.
        #[arg(long)]
        account: String,
    },
    /// Print a program document exactly as stored.
    Export {
        /// The program id.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ClicksCommand {
    /// Stream a program's clicks as JSON or CSV.
    Export {
        /// The program id.
        program_id: String,
        /// From (RFC 3339, inclusive); default the beginning.
        #[arg(long)]
        since: Option<String>,
        /// Until (RFC 3339, exclusive); default now.
        #[arg(long)]
        until: Option<String>,
        /// `json` or `csv`.
        #[arg(long, default_value = "json")]
        format: String,
        /// Only this partner's clicks, with its sub ids.
        #[arg(long)]
        partner: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum StoreCommand {
    /// Copy everything from one store into a new, empty one, then verify both by counts
    /// and checksums; prints the report as one JSON line.
    Copy {
        /// The store to copy: `sqlite:PATH` or `postgres://…`.
        #[arg(long, value_name = "URL")]
        from: String,
        /// The empty store to fill: `sqlite:PATH` (created if missing) or `postgres://…`.
        #[arg(long, value_name = "URL")]
        to: String,
    },
}
