//! A live connection is a session: it ends when the credential it was opened with ends or
//! changes. Each connection registers its credential (user and session, or API token) and
//! the expiry of its access token. One task per instance reads the credential changes other
//! transactions recorded (`identity::credential_changes`, on any instance sharing the
//! database) after the last one it saw, and tells the connections they name to close, with a
//! close code and a reason. The cost per tick is one query, whatever the number of
//! connections; a change costs a lookup of its user's or token's connections.

use crate::auth::{Actor, Caller};
use crate::db::Db;
use crate::error::AppError;
use crate::identity::credential_changes::{self, CredentialChangeRow};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// Close code: the credential no longer authenticates (logout, password change, deletion,
/// revocation, expiry). Refresh or log in again, then reconnect with `since`.
pub const CLOSE_CREDENTIAL_ENDED: u16 = 4401;
/// Close code: the credential's role changed; reconnecting with it gives the new share.
pub const CLOSE_ROLE_CHANGED: u16 = 4409;

/// Why a connection ends: its close code and reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    pub code: u16,
    pub reason: &'static str,
}

/// The access token the connection was opened with expired.
pub const EXPIRED: Ended = Ended {
    code: CLOSE_CREDENTIAL_ENDED,
    reason: "token expired; reconnect with a fresh token",
};

/// The credential a connection was opened with.
#[derive(Debug, Clone)]
pub struct Credential {
    /// The user's id, or the API token's.
    pub principal: String,
    /// The session of an access token.
    pub session_id: Option<String>,
}

impl Credential {
    /// A person's session or an API token; nothing else may hold a stream.
    pub fn of(caller: &Caller) -> Option<Credential> {
        match &caller.actor {
            Actor::User { id, .. } => Some(Credential {
                principal: id.clone(),
                session_id: caller.session_id.clone(),
            }),
            Actor::ApiToken { id, .. } => Some(Credential {
                principal: id.clone(),
                session_id: None,
            }),
            Actor::FeedToken { .. } | Actor::System => None,
        }
    }
}

/// Whether `change` ends a connection opened with `cred`, and how.
pub fn ends(change: &CredentialChangeRow, cred: &Credential) -> Option<Ended> {
    let user = change.user_id.as_deref() == Some(cred.principal.as_str());
    let token = change.api_token_id.as_deref() == Some(cred.principal.as_str());
    let reason = match change.kind.as_str() {
        "logout" if user && change.session_id == cred.session_id => "session ended: logout",
        "logout" => return None,
        "refresh_reused" if user && change.session_id == cred.session_id => {
            "session ended: refresh token reused"
        }
        "refresh_reused" => return None,
        "password_changed" if user && change.kept_session_id != cred.session_id => {
            "session ended: password changed"
        }
        "password_changed" => return None,
        "user_deleted" if user => "credential revoked: user deleted",
        "role_changed" if user => {
            return Some(Ended {
                code: CLOSE_ROLE_CHANGED,
                reason: "role changed; reconnect",
            })
        }
        "api_token_revoked" if token => "credential revoked: API token revoked",
        // A kind this version does not know (written by a newer instance) fails closed.
        _ if user || token => "credential changed",
        _ => return None,
    };
    Some(Ended {
        code: CLOSE_CREDENTIAL_ENDED,
        reason,
    })
}

type Listeners = HashMap<u64, (Credential, watch::Sender<Option<Ended>>)>;

/// The per-instance registry of open connections' credentials.
pub struct Ends {
    /// Connections by user id or API token id.
    by_principal: Mutex<HashMap<String, Listeners>>,
    next_id: AtomicU64,
    /// Newest change applied to the registered connections (-1 before the first read).
    cursor: AtomicI64,
    wake: Notify,
}

/// A connection's watch on its credential; dropping it unregisters.
pub struct Watch {
    id: u64,
    principal: String,
    ends: Arc<Ends>,
    rx: watch::Receiver<Option<Ended>>,
    expires: Option<tokio::time::Instant>,
}

impl Watch {
    /// Why the connection must end, if it must end now.
    pub fn ended(&self) -> Option<Ended> {
        let expired = self
            .expires
            .is_some_and(|t| t <= tokio::time::Instant::now());
        (*self.rx.borrow()).or(expired.then_some(EXPIRED))
    }

    /// Waits until the connection must end (cancel-safe, for `select!`).
    pub async fn wait(&mut self) -> Ended {
        let expiry = async {
            match self.expires {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        let change = async {
            loop {
                if let Some(e) = *self.rx.borrow_and_update() {
                    return e;
                }
                if self.rx.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            e = change => e,
            _ = expiry => EXPIRED,
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let mut map = self.ends.lock();
        if let Some(listeners) = map.get_mut(&self.principal) {
            listeners.remove(&self.id);
            if listeners.is_empty() {
                map.remove(&self.principal);
            }
        }
    }
}

impl Default for Ends {
    fn default() -> Self {
        Ends {
            by_principal: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            cursor: AtomicI64::new(-1),
            wake: Notify::new(),
        }
    }
}

impl Ends {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Listeners>> {
        self.by_principal.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes the reader look for changes now (call after a commit that recorded one).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The newest change already applied to registered connections. Read it before the
    /// credential is checked, and pass it to [`Ends::watch`]: a change committed after the
    /// check has a greater number, so it is either applied to the registered connection or
    /// found by the catch-up read there.
    pub async fn seen(&self, db: &Db) -> Result<i64, AppError> {
        match self.cursor.load(Ordering::Acquire) {
            c if c >= 0 => Ok(c),
            _ => db.read(|c| Ok(credential_changes::newest(c)?)).await,
        }
    }

    /// Registers a connection opened with `cred` (checked after change `seen`), whose access
    /// token expires at `expires`.
    pub async fn watch(
        self: &Arc<Self>,
        db: &Db,
        cred: Credential,
        seen: i64,
        expires: Option<tokio::time::Instant>,
    ) -> Result<Watch, AppError> {
        let (tx, rx) = watch::channel(None);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let principal = cred.principal.clone();
        self.lock()
            .entry(principal.clone())
            .or_default()
            .insert(id, (cred.clone(), tx.clone()));
        let w = Watch {
            id,
            principal: principal.clone(),
            ends: self.clone(),
            rx,
            expires,
        };
        // Catch up on changes made between the check and the registration.
        let missed = db
            .read(move |c| Ok(credential_changes::since_for(c, seen, &principal)?))
            .await?;
        if let Some(e) = missed.iter().find_map(|row| ends(row, &cred)) {
            tx.send_replace(Some(e));
        }
        Ok(w)
    }

    fn apply(&self, rows: &[CredentialChangeRow]) {
        let mut map = self.lock();
        for row in rows {
            let Some(principal) = row.user_id.as_ref().or(row.api_token_id.as_ref()) else {
                continue;
            };
            let Some(listeners) = map.get_mut(principal) else {
                continue;
            };
            listeners.retain(|_, (cred, tx)| match ends(row, cred) {
                Some(e) => {
                    tx.send_replace(Some(e));
                    false
                }
                None => true,
            });
            if listeners.is_empty() {
                map.remove(principal);
            }
        }
    }

    /// Runs the reader: starts at the newest change, then applies each new one in order,
    /// woken locally or every `tick` for other instances' changes.
    pub fn spawn(self: &Arc<Self>, db: Db, tick: Duration) {
        let ends = self.clone();
        tokio::spawn(async move {
            let mut last = loop {
                match db.read(|c| Ok(credential_changes::newest(c)?)).await {
                    Ok(v) => break v,
                    Err(e) => {
                        tracing::warn!(error = %e, "stream cannot read credential changes");
                        tokio::time::sleep(tick).await;
                    }
                }
            };
            ends.cursor.store(last, Ordering::Release);
            loop {
                let _ = tokio::time::timeout(tick, ends.wake.notified()).await;
                loop {
                    let after = last;
                    let rows = match db
                        .read(move |c| Ok(credential_changes::since(c, after, 500)?))
                        .await
                    {
                        Ok(r) => r,
                        Err(e) => {
                            tracing::warn!(error = %e, "stream cannot read credential changes");
                            break;
                        }
                    };
                    if let Some(row) = rows.last() {
                        last = row.seq;
                    }
                    ends.apply(&rows);
                    ends.cursor.store(last, Ordering::Release);
                    if rows.len() < 500 {
                        break;
                    }
                }
            }
        });
    }
}
