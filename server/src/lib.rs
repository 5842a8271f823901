//! cirhub: a multi-tenant hub where cloud providers publish incidents and customers follow
//! what affects them. `main.rs` only calls [`cli::main`]; everything lives here so the
//! integration tests can start the real server in-process.

pub mod access_log;
pub mod app;
pub mod audit;
pub mod auth;
pub mod cache;
pub mod catalogue;
pub mod cli;
pub mod config;
pub mod customers;
pub mod db;
pub mod delivery;
pub mod demo;
pub mod effects;
pub mod error;
pub mod escalation;
pub mod executor;
pub mod extract;
pub mod identity;
pub mod incidents;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod paging;
pub mod publishing;
pub mod routes;
pub mod sharing;
pub mod state;
pub mod stream;
pub mod text;
pub mod timers;
pub mod watch;

/// The layering of the README's architecture section, checked: the domain modules and the
/// plain types below them never reach up into the executor, the live parts or the web layer.
/// (`error.rs` is shared: services return `AppError`, and it renders itself as a problem
/// details response for actix.)
#[cfg(test)]
mod layering {
    const BELOW: &[&str] = &[
        "audit",
        "catalogue",
        "customers",
        "db",
        "delivery",
        "identity",
        "incidents",
        "publishing",
        "sharing",
        "effects.rs",
        "paging.rs",
        "text.rs",
    ];
    const ABOVE: &[&str] = &[
        "actix_web",
        "crate::state",
        "crate::routes",
        "crate::extract",
        "crate::executor",
        "crate::stream",
        "crate::auth::caller",
        "crate::app",
        "crate::cache",
        "crate::mail",
    ];

    fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn domain_modules_do_not_import_the_layers_above_them() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        for below in BELOW {
            let p = src.join(below);
            if p.is_dir() {
                sources(&p, &mut files);
            } else {
                files.push(p);
            }
        }
        assert!(files.len() > 20, "the domain modules were found");
        let mut found = Vec::new();
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for above in ABOVE {
                    if code.contains(above) {
                        found.push(format!("{}:{}: {above}", f.display(), n + 1));
                    }
                }
            }
        }
        assert!(found.is_empty(), "imports from above: {found:#?}");
    }
}
