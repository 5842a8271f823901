//! Checks that a document has exactly the shape of a real Statuspage v2 document: the same
//! keys at every level, the same JSON types, and only Statuspage's enum values.

use serde_json::Value;

/// Fields Statuspage serves as `null` when unset.
const NULLABLE: &[&str] = &[
    "description",
    "start_date",
    "group_id",
    "monitoring_at",
    "resolved_at",
    "affected_components",
    "custom_tweet",
    "tweet_id",
];

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The fixture element an actual array element is compared with: groups with groups,
/// maintenances with maintenances, otherwise the first.
fn counterpart<'a>(fixtures: &'a [Value], actual: &Value) -> &'a Value {
    let same = |f: &&Value| {
        f.get("group") == actual.get("group")
            && f.get("scheduled_for").is_some() == actual.get("scheduled_for").is_some()
    };
    fixtures.iter().find(same).unwrap_or(&fixtures[0])
}

fn compare(fixture: &Value, actual: &Value, path: &str, field: &str, problems: &mut Vec<String>) {
    if fixture.is_null() || (actual.is_null() && NULLABLE.contains(&field)) {
        return;
    }
    if kind(fixture) != kind(actual) {
        problems.push(format!(
            "{path}: expected {}, got {}",
            kind(fixture),
            kind(actual)
        ));
        return;
    }
    match (fixture, actual) {
        (Value::Object(f), Value::Object(a)) => {
            for k in f.keys().filter(|k| !a.contains_key(*k)) {
                problems.push(format!("{path}.{k}: missing"));
            }
            for k in a.keys().filter(|k| !f.contains_key(*k)) {
                problems.push(format!("{path}.{k}: not a Statuspage field"));
            }
            for (k, fv) in f {
                if let Some(av) = a.get(k) {
                    compare(fv, av, &format!("{path}.{k}"), k, problems);
                }
            }
        }
        (Value::Array(f), Value::Array(a)) if !f.is_empty() => {
            for (i, av) in a.iter().enumerate() {
                compare(
                    counterpart(f, av),
                    av,
                    &format!("{path}[{i}]"),
                    field,
                    problems,
                );
            }
        }
        _ => {}
    }
}

/// Panics listing every difference of shape between `actual` and the real-format `fixture`.
pub fn assert_same_shape(fixture: &Value, actual: &Value, path: &str) {
    let mut problems = Vec::new();
    compare(fixture, actual, path, "", &mut problems);
    assert!(
        problems.is_empty(),
        "{path} differs from the Statuspage format:\n{}",
        problems.join("\n")
    );
}

const COMPONENT_STATUS: &[&str] = &[
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
];
const INCIDENT_STATUS: &[&str] = &[
    "investigating",
    "identified",
    "monitoring",
    "resolved",
    "postmortem",
];
const MAINTENANCE_STATUS: &[&str] = &["scheduled", "in_progress", "verifying", "completed"];
const IMPACT: &[&str] = &["none", "minor", "major", "critical", "maintenance"];
const INDICATOR: &[&str] = &["none", "minor", "major", "critical", "maintenance"];

fn check_value(problems: &mut Vec<String>, path: &str, v: &Value, allowed: &[&str]) {
    match v.as_str() {
        Some(s) if allowed.contains(&s) => {}
        _ => problems.push(format!("{path}: {v} is not one of {allowed:?}")),
    }
}

fn check_time(problems: &mut Vec<String>, path: &str, v: &Value) {
    if let Some(s) = v.as_str() {
        let ok = chrono::DateTime::parse_from_rfc3339(s).is_ok()
            || chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok();
        if !ok {
            problems.push(format!("{path}: {s:?} is not an RFC 3339 time"));
        }
    }
}

fn walk(v: &Value, path: &str, context: &str, problems: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let p = format!("{path}.{k}");
                match k.as_str() {
                    "status" if child.is_string() => match context {
                        "component" => check_value(problems, &p, child, COMPONENT_STATUS),
                        "incident" => check_value(problems, &p, child, INCIDENT_STATUS),
                        "maintenance" => check_value(problems, &p, child, MAINTENANCE_STATUS),
                        _ => {}
                    },
                    "old_status" | "new_status" => {
                        check_value(problems, &p, child, COMPONENT_STATUS)
                    }
                    "impact" => check_value(problems, &p, child, IMPACT),
                    "indicator" => check_value(problems, &p, child, INDICATOR),
                    k if k.ends_with("_at")
                        || k == "scheduled_for"
                        || k == "scheduled_until"
                        || k == "start_date" =>
                    {
                        check_time(problems, &p, child)
                    }
                    _ => {}
                }
                let next = match k.as_str() {
                    "components" => "component",
                    "incidents" => "incident",
                    "scheduled_maintenances" => "maintenance",
                    "incident_updates" => context,
                    "status" => "page-status",
                    _ => context,
                };
                walk(child, &p, next, problems);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{path}[{i}]"), context, problems);
            }
        }
        _ => {}
    }
}

/// Statuspage's page description for each indicator.
const DESCRIPTIONS: &[(&str, &[&str])] = &[
    ("none", &["All Systems Operational"]),
    (
        "minor",
        &["Minor Service Outage", "Partially Degraded Service"],
    ),
    ("major", &["Partial System Outage"]),
    ("critical", &["Major Service Outage"]),
    ("maintenance", &["Service Under Maintenance"]),
];

/// Panics unless every status, impact, indicator and time in a v2 document is one
/// Statuspage uses in that position, and the page description fits its indicator.
pub fn check_enums(doc: &Value) {
    let mut problems = Vec::new();
    walk(doc, "$", "", &mut problems);
    if let (Some(indicator), Some(description)) = (
        doc.pointer("/status/indicator").and_then(Value::as_str),
        doc.pointer("/status/description").and_then(Value::as_str),
    ) {
        let allowed = DESCRIPTIONS
            .iter()
            .find(|(i, _)| *i == indicator)
            .map(|(_, d)| *d)
            .unwrap_or(&[]);
        if !allowed.contains(&description) {
            problems.push(format!("$.status.description: {description:?} is not Statuspage's wording for {indicator:?} ({allowed:?})"));
        }
    }
    assert!(
        problems.is_empty(),
        "values Statuspage does not use:\n{}",
        problems.join("\n")
    );
}

#[cfg(test)]
mod self_tests {
    use super::*;
    use serde_json::json;

    fn fixture(name: &str) -> Value {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/statuspage/");
        serde_json::from_str(&std::fs::read_to_string(format!("{path}{name}")).unwrap()).unwrap()
    }

    fn fails(f: impl FnOnce() + std::panic::UnwindSafe) -> bool {
        std::panic::catch_unwind(f).is_err()
    }

    #[test]
    fn fixtures_match_themselves_and_deviations_are_caught() {
        let summary = fixture("summary.json");
        assert_same_shape(&summary, &summary, "summary");
        check_enums(&summary);

        let mut extra = summary.clone();
        extra["page"]["colour"] = json!("red");
        let mut missing = summary.clone();
        missing["components"][1]
            .as_object_mut()
            .unwrap()
            .remove("showcase");
        let mut wrong_type = summary.clone();
        wrong_type["components"][1]["position"] = json!("1");
        let mut wrong_enum = summary.clone();
        wrong_enum["incidents"][0]["status"] = json!("on_fire");
        let mut bad_time = summary.clone();
        bad_time["incidents"][0]["created_at"] = json!("yesterday");
        for (name, doc) in [
            ("extra", extra.clone()),
            ("missing", missing),
            ("type", wrong_type),
        ] {
            let f = summary.clone();
            assert!(
                fails(move || assert_same_shape(&f, &doc, name)),
                "{name} not caught"
            );
        }
        let mut wrong_words = summary.clone();
        wrong_words["status"]["description"] = json!("Major System Outage");
        assert!(
            fails(move || check_enums(&wrong_words)),
            "description must fit the indicator"
        );
        assert!(fails(move || check_enums(&wrong_enum)));
        assert!(fails(move || check_enums(&bad_time)));
    }
}
