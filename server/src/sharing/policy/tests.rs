//! Properties of the decision, over random organisations, agreements and objects: a direct
//! share is decided exactly as the rule is written (a second statement of it, in the
//! oracle below), and nothing that narrows the facts (suspending an agreement, raising a
//! marking, dropping a category, ending a window) ever turns a refusal into an allowance.

use super::*;
use proptest::prelude::*;

const ORGS: [&str; 5] = ["a", "b", "c", "d", "e"];
const NOW: i64 = 1_000_000;

fn tlp() -> impl Strategy<Value = Tlp> {
    prop::sample::select(Tlp::ALL.to_vec())
}

fn category() -> impl Strategy<Value = DataCategory> {
    prop::sample::select(DataCategory::ALL.to_vec())
}

fn state() -> impl Strategy<Value = AgreementState> {
    prop::sample::select(vec![
        AgreementState::Active,
        AgreementState::Active,
        AgreementState::Active,
        AgreementState::Suspended,
        AgreementState::Terminated,
    ])
}

fn onward() -> impl Strategy<Value = OnwardSharing> {
    prop::sample::select(OnwardSharing::ALL.to_vec())
}

fn role() -> impl Strategy<Value = PartyRole> {
    prop::sample::select(PartyRole::ALL.to_vec())
}

prop_compose! {
    fn terms(id: usize)(
        parties in prop::sample::subsequence(ORGS.to_vec(), 2..=5)
            .prop_flat_map(|ps| { let n = ps.len(); (Just(ps), prop::collection::vec(role(), n)) }),
        state in state(),
        from in prop::sample::select(vec![0i64, NOW - 10, NOW, NOW + 1]),
        until in prop::sample::select(vec![None, Some(NOW), Some(NOW + 1), Some(NOW * 2)]),
        categories in prop::sample::subsequence(DataCategory::ALL.to_vec(), 0..=5),
        ceiling in tlp(),
        onward in onward(),
    ) -> Terms {
        let (orgs, roles) = parties;
        Terms {
            agreement_id: format!("ag-{id}"),
            version: 1,
            state,
            effective_from: from,
            effective_until: until,
            parties: orgs.into_iter().map(String::from).zip(roles).collect(),
            categories,
            tlp_ceiling: ceiling,
            onward,
        }
    }
}

fn agreements() -> impl Strategy<Value = Vec<Terms>> {
    (0usize..6).prop_flat_map(|n| (0..n).map(terms).collect::<Vec<_>>())
}

#[derive(Debug, Clone)]
struct Case {
    owner: &'static str,
    tlp: Tlp,
    category: DataCategory,
    named: Vec<String>,
    via: Vec<&'static str>,
    recipient: &'static str,
    person: Option<&'static str>,
    terms: Vec<Terms>,
}

prop_compose! {
    fn case()(
        owner in prop::sample::select(ORGS.to_vec()),
        tlp in tlp(),
        category in category(),
        named in prop::sample::select(vec![vec![], vec!["p1".to_string()]]),
        via in prop::collection::vec(prop::sample::select(ORGS.to_vec()), 0..3),
        recipient in prop::sample::select(ORGS.to_vec()),
        person in prop::sample::select(vec![None, Some("p1"), Some("p2")]),
        terms in agreements(),
    ) -> Case {
        Case { owner, tlp, category, named, via, recipient, person, terms }
    }
}

fn run(c: &Case) -> Decision {
    decide(
        Object {
            owner: c.owner,
            tlp: c.tlp,
            category: c.category,
            named_recipients: &c.named,
        },
        &c.via,
        Recipient {
            org: c.recipient,
            person: c.person,
        },
        &c.terms,
        NOW,
    )
}

/// The rule for a direct share, stated on its own.
fn oracle_direct(c: &Case) -> bool {
    if c.recipient == c.owner {
        return true;
    }
    let red_ok = c.tlp != Tlp::Red || c.person.is_some_and(|p| c.named.iter().any(|n| n == p));
    let agreed = c.terms.iter().any(|t| {
        t.state == AgreementState::Active
            && t.effective_from <= NOW
            && t.effective_until.is_none_or(|u| NOW < u)
            && t.parties.iter().any(|(o, _)| o == c.owner)
            && t.parties.iter().any(|(o, _)| o == c.recipient)
            && t.categories.contains(&c.category)
            && c.tlp.rank() <= t.tlp_ceiling.rank()
    });
    red_ok && agreed
}

proptest! {
    // Failures are reported with their minimal case, not written into the source tree.
    #![proptest_config(ProptestConfig {
        cases: 4000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_direct_share_is_decided_as_the_rule_says(mut c in case()) {
        c.via.clear();
        let d = run(&c);
        prop_assert_eq!(d.allowed, oracle_direct(&c), "{:?} -> {:?}", c, d);
    }

    #[test]
    fn an_allowance_names_an_agreement_in_force_that_covers_the_last_hop(c in case()) {
        let d = run(&c);
        if d.allowed && d.reason != Reason::Owner {
            let (id, _) = d.agreement.clone().expect("an agreement");
            let t = c.terms.iter().find(|t| t.agreement_id == id).expect("a known agreement");
            let sender = c.via.last().copied().unwrap_or(c.owner);
            prop_assert!(t.in_force(NOW));
            prop_assert!(t.role_of(sender).is_some() && t.role_of(c.recipient).is_some());
            prop_assert!(t.categories.contains(&c.category));
            prop_assert!(c.tlp.within(t.tlp_ceiling));
        }
    }

    #[test]
    fn nothing_onward_at_amber_strict_or_red_nor_without_a_hop_that_allows_it(c in case()) {
        let d = run(&c);
        if d.allowed && !c.via.is_empty() {
            prop_assert!(!matches!(c.tlp, Tlp::AmberStrict | Tlp::Red));
            if c.tlp == Tlp::Amber {
                prop_assert_eq!(c.via.len(), 1, "AMBER goes one hop on, to clients");
            }
            // Every hop before the last has some covering agreement that allows passing on.
            let mut path = vec![c.owner];
            path.extend(c.via.iter().copied());
            for w in path.windows(2) {
                let ok = c.terms.iter().any(|t| {
                    t.covers(w[0], w[1], c.category, c.tlp, NOW)
                        && t.onward != OnwardSharing::None
                });
                prop_assert!(ok, "hop {:?} allows no onward sharing", w);
            }
        }
    }

    #[test]
    fn narrowing_the_facts_never_allows_more(c in case(), pick in 0usize..6, how in 0u8..4) {
        let before = run(&c);
        let mut n = c.clone();
        match how {
            0 => if let Some(t) = n.terms.get_mut(pick) { t.state = AgreementState::Suspended },
            1 => if let Some(t) = n.terms.get_mut(pick) { t.categories.retain(|k| *k != c.category) },
            2 => if let Some(t) = n.terms.get_mut(pick) { t.effective_until = Some(NOW) },
            _ => n.tlp = Tlp::ALL[(c.tlp.rank() as usize + 1).min(4)],
        }
        let after = run(&n);
        prop_assert!(before.allowed || !after.allowed, "{:?}: {:?} -> {:?}", how, before, after);
    }
}

fn t(id: &str, parties: &[(&str, PartyRole)], ceiling: Tlp, onward: OnwardSharing) -> Terms {
    Terms {
        agreement_id: id.into(),
        version: 1,
        state: AgreementState::Active,
        effective_from: 0,
        effective_until: None,
        parties: parties.iter().map(|(o, r)| (o.to_string(), *r)).collect(),
        categories: vec![DataCategory::Indicators],
        tlp_ceiling: ceiling,
        onward,
    }
}

fn ioc(owner: &str, tlp: Tlp) -> Object<'_> {
    Object {
        owner,
        tlp,
        category: DataCategory::Indicators,
        named_recipients: &[],
    }
}

const ORG: Recipient<'static> = Recipient {
    org: "c",
    person: None,
};

#[test]
fn amber_goes_on_to_the_first_recipients_clients_only() {
    use PartyRole::*;
    let ab = t(
        "ab",
        &[("a", Member), ("b", Member)],
        Tlp::Red,
        OnwardSharing::Community,
    );
    let bc_client = t(
        "bc",
        &[("b", Provider), ("c", Customer)],
        Tlp::Red,
        OnwardSharing::None,
    );
    let bc_peer = t(
        "bc",
        &[("b", Member), ("c", Member)],
        Tlp::Red,
        OnwardSharing::None,
    );
    let terms = [ab.clone(), bc_client];
    let d = decide(ioc("a", Tlp::Amber), &["b"], ORG, &terms, 1);
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.agreement, Some(("bc".into(), 1)));
    let d = decide(
        ioc("a", Tlp::Amber),
        &["b"],
        ORG,
        &[ab.clone(), bc_peer.clone()],
        1,
    );
    assert_eq!(d.reason, Reason::OnwardRefused);
    // GREEN travels to peers when A-B allows the community ...
    assert!(decide(ioc("a", Tlp::Green), &["b"], ORG, &[ab, bc_peer.clone()], 1).allowed);
    // ... and not when A-B keeps it with B.
    let ab_none = t(
        "ab",
        &[("a", Member), ("b", Member)],
        Tlp::Red,
        OnwardSharing::None,
    );
    let d = decide(ioc("a", Tlp::Green), &["b"], ORG, &[ab_none, bc_peer], 1);
    assert_eq!(d.reason, Reason::OnwardRefused);
}

#[test]
fn red_reaches_named_persons_only() {
    use PartyRole::*;
    let ab = [t(
        "ab",
        &[("a", Member), ("b", Member)],
        Tlp::Red,
        OnwardSharing::None,
    )];
    let named = vec!["alice".to_string()];
    let red = Object {
        named_recipients: &named,
        ..ioc("a", Tlp::Red)
    };
    let to = |person| Recipient { org: "b", person };
    assert!(decide(red, &[], to(Some("alice")), &ab, 1).allowed);
    assert_eq!(
        decide(red, &[], to(Some("bob")), &ab, 1).reason,
        Reason::RedNotNamed
    );
    assert_eq!(
        decide(red, &[], to(None), &ab, 1).reason,
        Reason::RedNotNamed
    );
}

#[test]
fn an_agreement_stops_at_its_end() {
    use PartyRole::*;
    let mut ab = t(
        "ab",
        &[("a", Member), ("b", Member)],
        Tlp::Amber,
        OnwardSharing::None,
    );
    ab.effective_until = Some(100);
    let to_b = Recipient {
        org: "b",
        person: None,
    };
    assert!(decide(ioc("a", Tlp::Green), &[], to_b, &[ab.clone()], 99).allowed);
    let d = decide(ioc("a", Tlp::Green), &[], to_b, &[ab], 100);
    assert_eq!((d.allowed, d.reason), (false, Reason::NotCovered));
}
