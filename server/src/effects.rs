//! What a committed change sets in motion, as plain data.
//!
//! A service writes rows; some rows mean work for the live parts of an instance once the
//! transaction commits: an audit entry of an organisation makes its cached documents stale,
//! an event row wants the stream pump, a queued job wants the job runner, a credential change
//! wants the live streams checked. The function that writes such a row notes its effect here
//! ([`note`]), so no caller of a service can forget one; the executor (`crate::executor`)
//! runs the transaction inside [`collect`], commits, and only then applies what was noted.
//! A rolled-back transaction applies nothing.
//!
//! Noting is scoped to the thread that runs the transaction (as the disclosure journal's
//! staging is): a write outside [`collect`] (migrations, the demo seed, the CLI, which has no
//! live parts to wake) notes nothing.

use std::cell::RefCell;
use std::collections::BTreeSet;

/// The effects of one committed unit of work.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Effects {
    /// Organisations whose cached documents (public pages, personal feeds that depend on
    /// them) are stale.
    pub stale_organisations: BTreeSet<String>,
    /// Feed tokens whose personal documents must go.
    pub stale_feed_tokens: BTreeSet<String>,
    /// Events were appended: the stream pump should read them now.
    pub events: bool,
    /// Jobs (mails, among others) were queued: the job runner should look now.
    pub jobs: bool,
    /// Credentials changed: live streams must be checked against them now.
    pub credentials: bool,
}

impl Effects {
    /// Whether applying this would do anything.
    pub fn is_empty(&self) -> bool {
        *self == Effects::default()
    }
}

/// A result together with the effects its transaction noted.
#[derive(Debug)]
pub struct Done<T> {
    pub value: T,
    pub effects: Effects,
}

thread_local! {
    static NOTED: RefCell<Option<Effects>> = const { RefCell::new(None) };
}

/// Notes an effect of the transaction running on this thread (nothing outside [`collect`]).
pub fn note(f: impl FnOnce(&mut Effects)) {
    NOTED.with(|n| {
        if let Some(effects) = n.borrow_mut().as_mut() {
            f(effects)
        }
    })
}

/// The organisation's cached documents are stale once this commits.
pub fn organisation_changed(org_id: &str) {
    note(|e| {
        e.stale_organisations.insert(org_id.to_string());
    })
}

/// Runs `f` (the body of one transaction) and returns its result with what it noted. On
/// error the notes are dropped with the transaction.
pub fn collect<T, E>(f: impl FnOnce() -> Result<T, E>) -> Result<Done<T>, E> {
    /// Puts the enclosing scope back, also when `f` panics.
    struct Scope(Option<Effects>);
    impl Drop for Scope {
        fn drop(&mut self) {
            let outer = self.0.take();
            NOTED.with(|n| *n.borrow_mut() = outer);
        }
    }
    let outer = NOTED.with(|n| n.borrow_mut().replace(Effects::default()));
    let scope = Scope(outer);
    let out = f();
    let effects = NOTED.with(|n| n.borrow_mut().take());
    drop(scope);
    out.map(|value| Done {
        value,
        effects: effects.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_belong_to_their_scope_and_vanish_with_an_error() {
        note(|e| e.events = true); // outside any scope: nothing to note into
        let done = collect::<_, ()>(|| {
            organisation_changed("a");
            let inner = collect::<_, ()>(|| {
                note(|e| e.jobs = true);
                Ok(1)
            })
            .unwrap();
            assert!(inner.effects.jobs);
            Ok(2)
        })
        .unwrap();
        assert_eq!(done.value, 2);
        assert!(!done.effects.jobs, "the inner scope's notes stay with it");
        assert!(!done.effects.events);
        assert!(done.effects.stale_organisations.contains("a"));
        let failed = collect::<(), _>(|| {
            note(|e| e.events = true);
            Err("rolled back")
        });
        assert!(failed.is_err());
        let after = collect::<_, ()>(|| Ok(())).unwrap();
        assert!(after.effects.is_empty());
    }
}
