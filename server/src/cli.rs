//! The `cirhub` command line: serve, migrate, admin, audit, ioc.

mod ioc;

use crate::app::{init_tracing, Application};
use crate::auth::{password, Actor, Caller};
use crate::config::Config;
use crate::db::Db;
use crate::identity::accounts;
use cirhub_shared::api;
use cirhub_shared::Role;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "cirhub", version, about = "Cloud incident coordination hub")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (applies migrations first).
    Serve {
        /// Seed a demo world (provider, customers, users, incidents) if the database is empty.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administration: organisations, users, API tokens, passwords.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Tail the live event stream of a running server (token from CIRHUB_TOKEN).
    Watch {
        /// Base URL of the server.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Resume after this sequence number.
        #[arg(long)]
        since: Option<i64>,
        /// Print each event as a JSON line.
        #[arg(long)]
        json: bool,
        /// Exit after this many events.
        #[arg(long)]
        count: Option<usize>,
        /// An access token or API token (better: CIRHUB_TOKEN).
        #[arg(long, env = "CIRHUB_TOKEN", hide_env_values = true)]
        token: String,
    },
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Indicators of compromise: import files of them.
    Ioc {
        #[command(subcommand)]
        command: ioc::IocCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an organisation (tenant).
    CreateOrg {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        /// The organisation publishes a catalogue and incidents.
        #[arg(long)]
        provider: bool,
        /// The organisation follows providers.
        #[arg(long)]
        customer: bool,
    },
    /// Create a user; the password comes from CIRHUB_NEW_PASSWORD or is generated and printed.
    CreateUser {
        /// Organisation slug or id.
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "viewer", value_parser = parse_role)]
        role: Role,
    },
    /// Mint an API token; the secret is printed once.
    CreateToken {
        #[arg(long)]
        org: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "viewer", value_parser = parse_role)]
        role: Role,
    },
    /// Set a new password (CIRHUB_NEW_PASSWORD or generated) and end the user's sessions.
    ResetPassword {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the hash chain; exit 1 naming the first entry that does not match.
    Verify {
        /// An earlier `cirhub audit head` output (SEQ:HASH) that must still be in the chain.
        #[arg(long)]
        anchor: Option<String>,
    },
    /// Print the newest entry as SEQ:HASH, to keep as an anchor outside the database.
    Head,
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let _log = init_tracing(config.log_json);
    match run(cli, config) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn new_password() -> (String, bool) {
    match std::env::var("CIRHUB_NEW_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
    {
        Some(p) => (p, false),
        None => (crate::auth::random_secret()[..20].to_string(), true),
    }
}

fn system_caller(org_id: &str) -> Caller {
    Caller {
        org_id: org_id.into(),
        role: Role::Admin,
        actor: Actor::System,
        session_id: None,
    }
}

fn run(cli: Cli, config: Config) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { demo } => {
            let rt = actix_web::rt::System::new();
            rt.block_on(async move {
                let app = Application::build(config)?;
                if demo {
                    crate::demo::seed_if_empty(&app.state)?;
                }
                let cfg = &app.state.config;
                tracing::info!(port = app.port(), backend = ?cfg.backend, public_url = %cfg.public_url, "cirhub listening");
                eprintln!("cirhub listening on http://{}:{}/ ({:?})", cfg.addr.ip(), app.port(), cfg.backend);
                app.run().await?;
                Ok(ExitCode::SUCCESS)
            })
        }
        Command::Watch {
            url,
            since,
            json,
            count,
            token,
        } => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(crate::watch::run(crate::watch::Watch {
                url,
                token,
                since,
                json,
                count,
            }))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let db = Db::connect(&config)?;
            let applied = db.migrate()?;
            if applied
                .iter()
                .any(|m| m == crate::sharing::lookup::INDEX_MIGRATION)
            {
                db.write_blocking(crate::sharing::lookup::backfill_index)?;
            }
            db.write_blocking(crate::incidents::backfill_versions)?;
            println!(
                "applied {} migration(s): {}",
                applied.len(),
                applied.join(", ")
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin { command } => {
            let db = Db::connect(&config)?;
            db.migrate()?;
            admin(&db, command)
        }
        Command::Ioc { command } => {
            let db = Db::connect(&config)?;
            db.migrate()?;
            ioc::run(&db, command)
        }
        Command::Audit {
            command: AuditCommand::Head,
        } => {
            let db = Db::connect(&config)?;
            let mut conn = db.conn()?;
            match crate::audit::head(&mut conn)? {
                Some((seq, hash)) => println!("{seq}:{hash}"),
                None => println!("0:{}", crate::audit::GENESIS),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command: AuditCommand::Verify { anchor },
        } => {
            let usage = "--anchor must be SEQ:HASH as printed by `cirhub audit head`";
            let anchor = match anchor.as_deref().map(|a| a.split_once(':')) {
                None => None,
                Some(Some((seq, hash))) => Some((
                    seq.parse::<i64>().map_err(|_| anyhow::anyhow!(usage))?,
                    hash.to_string(),
                )),
                Some(None) => anyhow::bail!(usage),
            };
            let db = Db::connect(&config)?;
            let mut conn = db.conn()?;
            let anchor = anchor.as_ref().map(|(s, h)| (*s, h.as_str()));
            let v = crate::audit::verify_anchored(&mut conn, anchor)?;
            if v.ok {
                println!("audit chain intact: {} entries verified", v.entries);
                Ok(ExitCode::SUCCESS)
            } else {
                println!(
                    "audit chain broken at entry {}: {} ({} entries before it verified)",
                    v.first_bad_seq.unwrap_or_default(),
                    v.reason.unwrap_or_default(),
                    v.entries
                );
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

fn admin(db: &Db, command: AdminCommand) -> anyhow::Result<ExitCode> {
    // Changes made here reach a running server by its polling and cache expiry.
    let exec = crate::executor::Executor::offline(db.clone());
    match command {
        AdminCommand::CreateOrg {
            slug,
            name,
            provider,
            customer,
        } => {
            let org = exec.run_blocking(|c| {
                accounts::create_org(c, &Actor::System, &slug, &name, provider, customer)
            })?;
            println!("created organisation {} ({})", org.slug, org.id);
        }
        AdminCommand::CreateUser {
            org,
            email,
            name,
            role,
        } => {
            let (pw, generated) = new_password();
            let input = api::CreateUser {
                email,
                name,
                role,
                password: pw.clone(),
            };
            accounts::validate_new_user(&input)?;
            let hash = password::hash(&pw)?;
            let user = exec.run_blocking(|c| {
                let org = accounts::find_org(c, &org)?;
                accounts::create_user(c, &Actor::System, &org.id, &input, hash)
            })?;
            println!(
                "created user {} ({}) with role {}",
                user.email, user.id, user.role
            );
            if generated {
                println!("password: {pw}");
            }
        }
        AdminCommand::CreateToken { org, name, role } => {
            let created = exec.run_blocking(|c| {
                let org = accounts::find_org(c, &org)?;
                crate::identity::api_tokens::create_token(
                    c,
                    &system_caller(&org.id),
                    &api::CreateApiToken { name, role },
                )
            })?;
            println!(
                "created API token {} ({}); secret, shown once:",
                created.token.name, created.token.id
            );
            println!("{}", created.secret);
        }
        AdminCommand::ResetPassword { email } => {
            let (pw, generated) = new_password();
            accounts::validate_password("password", &pw)?;
            let hash = password::hash(&pw)?;
            let email = email.trim().to_lowercase();
            exec.run_blocking(|c| {
                let user = accounts::user_by_email(c, &email)?
                    .ok_or(crate::error::AppError::NotFound("user"))?;
                accounts::set_password(c, &user.id, &hash, None)?;
                crate::audit::append(
                    c,
                    crate::audit::Event::change(
                        &Actor::System,
                        &user.organisation_id,
                        "user.reset_password",
                        "user",
                        &user.id,
                    ),
                )?;
                Ok(())
            })?;
            println!("password of {email} reset; its sessions are ended");
            if generated {
                println!("password: {pw}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
