//! The one policy decision point of shared data. Every exit (REST, TAXII, stream, mail,
//! exports, lookups, search) asks [`decide`] whether one object may reach one recipient, and
//! records the decision it got with the disclosure. Pure: it sees the facts it is given (the
//! terms in force of the agreements between the organisations on the path) and the time, so
//! it is tested exhaustively by property, apart from any storage.
//!
//! The rule: an object reaches an organisation only if an agreement in force covers (sender,
//! recipient, category) with a TLP ceiling at or above the object's marking, and TLP 2.0
//! allows it. Onward sharing (owner A -> B -> C) needs every earlier hop's agreement to allow
//! passing it on, and the origin's constraints hold on every hop: TLP AMBER goes on only to
//! the first recipient's clients, AMBER+STRICT and RED never; RED reaches named persons only,
//! never a collection or an organisation-wide channel.

use cirhub_shared::sharing::{AgreementState, DataCategory, OnwardSharing, PartyRole, Tlp};

/// The terms in force of one agreement, as the decision needs them (times in Unix ms).
#[derive(Debug, Clone)]
pub struct Terms {
    pub agreement_id: String,
    pub version: i32,
    /// The stored state: only `active` can be in force.
    pub state: AgreementState,
    pub effective_from: i64,
    pub effective_until: Option<i64>,
    pub parties: Vec<(String, PartyRole)>,
    pub categories: Vec<DataCategory>,
    pub tlp_ceiling: Tlp,
    pub onward: OnwardSharing,
}

impl Terms {
    /// Active and inside its window at `now` (the window is `[from, until)`).
    pub fn in_force(&self, now: i64) -> bool {
        self.state == AgreementState::Active
            && self.effective_from <= now
            && self.effective_until.is_none_or(|u| now < u)
    }

    /// The role of `org`, if it is a party.
    pub fn role_of(&self, org: &str) -> Option<PartyRole> {
        self.parties.iter().find(|(o, _)| o == org).map(|(_, r)| *r)
    }

    /// Whether these terms let `category` at `tlp` pass from `from` to `to` at `now`.
    fn covers(&self, from: &str, to: &str, category: DataCategory, tlp: Tlp, now: i64) -> bool {
        self.in_force(now)
            && from != to
            && self.role_of(from).is_some()
            && self.role_of(to).is_some()
            && self.categories.contains(&category)
            && tlp.within(self.tlp_ceiling)
    }

    /// `to` is a client of `from` under these terms (provider -> customer).
    fn client(&self, from: &str, to: &str) -> bool {
        self.role_of(from) == Some(PartyRole::Provider)
            && self.role_of(to) == Some(PartyRole::Customer)
    }
}

/// What is to leave: an object version's owner and the facts the rule reads.
#[derive(Debug, Clone, Copy)]
pub struct Object<'a> {
    pub owner: &'a str,
    pub tlp: Tlp,
    pub category: DataCategory,
    /// For TLP:RED: the persons (lower-case e-mail addresses) the owner named as recipients.
    pub named_recipients: &'a [String],
}

/// Who receives: an organisation, through a person of it or organisation-wide.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    pub org: &'a str,
    /// The person (e-mail address) the data is shown or sent to, when the channel is
    /// personal (a user's own API read or lookup, a mail to one address); None for an
    /// organisation-wide channel (an API token, a TAXII collection, an export, the stream).
    pub person: Option<&'a str>,
}

/// Why a decision came out as it did; stored with each disclosure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The recipient owns the object.
    Owner,
    /// An agreement in force covers every hop.
    Covered,
    /// No agreement in force covers a hop (parties, category, ceiling, window or state).
    NotCovered,
    /// TLP:RED to anything but a named person.
    RedNotNamed,
    /// Passing on is not allowed: by an earlier hop's agreement, or by TLP.
    OnwardRefused,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Owner => "owner",
            Reason::Covered => "covered",
            Reason::NotCovered => "not-covered",
            Reason::RedNotNamed => "red-not-named",
            Reason::OnwardRefused => "onward-refused",
        }
    }
}

/// The answer: allowed or not, why, and the agreement (id, version) of the last hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub reason: Reason,
    pub agreement: Option<(String, i32)>,
    /// The organisation that passed the object on to the recipient (the last of `via`),
    /// when it did not come from its owner: the owner is then never named to the recipient.
    pub passed_on_by: Option<String>,
}

impl Decision {
    fn refuse(reason: Reason) -> Decision {
        Decision {
            allowed: false,
            reason,
            agreement: None,
            passed_on_by: None,
        }
    }
}

/// Decides whether `object` may reach `recipient` along `via`: the organisations that passed
/// it on, in order, after its owner (empty when the owner shares it directly). `terms` are
/// the agreements to consider (any others are ignored); `now` is Unix ms.
pub fn decide(
    object: Object<'_>,
    via: &[&str],
    recipient: Recipient<'_>,
    terms: &[Terms],
    now: i64,
) -> Decision {
    if via.is_empty() && recipient.org == object.owner {
        return Decision {
            allowed: true,
            reason: Reason::Owner,
            agreement: None,
            passed_on_by: None,
        };
    }
    if object.tlp == Tlp::Red {
        let named = recipient
            .person
            .is_some_and(|p| object.named_recipients.iter().any(|n| n == p));
        if !named {
            return Decision::refuse(Reason::RedNotNamed);
        }
    }
    let mut path = Vec::with_capacity(via.len() + 2);
    path.push(object.owner);
    path.extend_from_slice(via);
    path.push(recipient.org);
    let hops = path.len() - 1;
    if hops > 1 && matches!(object.tlp, Tlp::Red | Tlp::AmberStrict) {
        return Decision::refuse(Reason::OnwardRefused);
    }
    // The most an earlier hop's agreements let the next holder do: none < clients < community.
    let mut allowed_onward = OnwardSharing::Community;
    let mut last = None;
    for hop in 0..hops {
        let (from, to) = (path[hop], path[hop + 1]);
        let covering = terms
            .iter()
            .filter(|t| t.covers(from, to, object.category, object.tlp, now));
        let chosen = if hop == 0 {
            covering.min_by(|a, b| a.agreement_id.cmp(&b.agreement_id))
        } else {
            // Passing on: to the sender's clients (under a provider -> customer agreement)
            // when every earlier hop allowed at least that, and it is the first recipient
            // who passes it; anywhere the sender has an agreement when all allowed more.
            let to_clients_only =
                allowed_onward == OnwardSharing::Clients || object.tlp == Tlp::Amber;
            if allowed_onward == OnwardSharing::None || (to_clients_only && hop > 1) {
                return Decision::refuse(Reason::OnwardRefused);
            }
            let mut eligible = covering
                .filter(|t| !to_clients_only || t.client(from, to))
                .peekable();
            if eligible.peek().is_none() {
                let any = terms
                    .iter()
                    .any(|t| t.covers(from, to, object.category, object.tlp, now));
                return Decision::refuse(if any {
                    Reason::OnwardRefused
                } else {
                    Reason::NotCovered
                });
            }
            eligible.min_by(|a, b| a.agreement_id.cmp(&b.agreement_id))
        };
        let Some(chosen) = chosen else {
            return Decision::refuse(Reason::NotCovered);
        };
        // What the receiver of this hop may do next: the best any covering agreement allows,
        // never more than what earlier hops allowed.
        let best = terms
            .iter()
            .filter(|t| t.covers(from, to, object.category, object.tlp, now))
            .map(|t| t.onward)
            .max_by_key(|o| onward_rank(*o))
            .unwrap_or(OnwardSharing::None);
        if onward_rank(best) < onward_rank(allowed_onward) {
            allowed_onward = best;
        }
        last = Some((chosen.agreement_id.clone(), chosen.version));
    }
    Decision {
        allowed: true,
        reason: Reason::Covered,
        agreement: last,
        passed_on_by: via.last().map(|v| v.to_string()),
    }
}

fn onward_rank(o: OnwardSharing) -> u8 {
    match o {
        OnwardSharing::None => 0,
        OnwardSharing::Clients => 1,
        OnwardSharing::Community => 2,
    }
}

#[cfg(test)]
mod tests;
