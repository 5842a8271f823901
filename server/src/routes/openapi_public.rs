//! The operations outside the JSON API, described in the same OpenAPI document: the public
//! Statuspage v2 documents, uptime and history feeds, a customer's personal feeds, one-click
//! unsubscribe, the WebSocket stream and the operations endpoints. They are generated from
//! one list of documents (one handler serves many of these paths, so handler annotations
//! cannot name them), which also lets clients and the fuzzer reach every public surface.

use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{
    ContentBuilder, ObjectBuilder, PathItem, Required, ResponseBuilder, ResponsesBuilder, Type,
};
use utoipa::Modify;

/// The Statuspage v2 documents every provider publishes under `/status/{slug}/api/v2/`.
pub const STATUSPAGE_DOCUMENTS: [&str; 8] = [
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
];

const JSON: &str = "application/json";
const PROBLEM: &str = "application/problem+json";

fn string_param(name: &str, description: &str) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(200)),
        ))
        .build()
}

/// A body of any shape; its media type is the key it is stored under.
fn any_body() -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(ObjectBuilder::new()))
        .build()
}

struct Doc<'a> {
    path: String,
    id: String,
    tag: &'a str,
    summary: String,
    params: Vec<(&'a str, &'a str)>,
    ok: (&'a str, &'a str),
    method: HttpMethod,
    /// Answers other than 200 that a client should expect.
    errors: &'a [(&'a str, &'a str)],
}

fn operation(d: &Doc<'_>) -> PathItem {
    let mut responses = ResponsesBuilder::new().response(
        d.ok.0,
        ResponseBuilder::new()
            .description(d.summary.clone())
            .content(d.ok.1, any_body()),
    );
    for (status, why) in d.errors {
        responses = responses.response(
            *status,
            ResponseBuilder::new()
                .description(*why)
                .content(PROBLEM, any_body()),
        );
    }
    let mut op = OperationBuilder::new()
        .operation_id(Some(d.id.clone()))
        .tag(d.tag)
        .summary(Some(d.summary.clone()))
        .responses(responses.build());
    for (name, description) in &d.params {
        op = op.parameter(string_param(name, description));
    }
    if d.id == "advance_clock" {
        op = op.request_body(Some(clock_body()));
    } else if d.method == HttpMethod::Post {
        // Forms: RFC 8058 one-click (`List-Unsubscribe=One-Click`), an invitation's
        // `name` and `password`.
        op = op.request_body(Some(
            RequestBodyBuilder::new()
                .content("application/x-www-form-urlencoded", any_body())
                .build(),
        ));
    }
    PathItem::new(d.method.clone(), op.build())
}

/// `{"advance_secs": N}` of the test clock.
fn clock_body() -> utoipa::openapi::request_body::RequestBody {
    let secs = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(0))
        .maximum(Some(crate::routes::ops::MAX_ADVANCE_SECS));
    let schema = ObjectBuilder::new()
        .property("advance_secs", secs)
        .required("advance_secs")
        .additional_properties(Some(
            utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
        ));
    RequestBodyBuilder::new()
        .content(JSON, ContentBuilder::new().schema(Some(schema)).build())
        .required(Some(Required::True))
        .build()
}

fn op_name(doc: &str) -> String {
    doc.replace(['/', '.', '-'], "_")
}

/// Adds the public operations to the document.
pub struct PublicDocs;

impl Modify for PublicDocs {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let slug = ("slug", "The provider's status page name.");
        let secret = ("secret", "The personal feed token's secret.");
        let not_found: &[(&str, &str)] = &[("404", "No such status page or document.")];
        let feed_errors: &[(&str, &str)] = &[
            ("401", "The feed token is unknown or revoked."),
            ("404", "No such document."),
        ];
        let mut docs = Vec::new();
        for doc in STATUSPAGE_DOCUMENTS {
            docs.push(Doc {
                path: format!("/status/{{slug}}/api/v2/{doc}"),
                id: format!("public_{}", op_name(doc)),
                tag: "public",
                summary: format!("Statuspage v2 {doc} of a provider (public records only)."),
                params: vec![slug],
                ok: ("200", JSON),
                method: HttpMethod::Get,
                errors: not_found,
            });
            docs.push(Doc {
                path: format!("/feeds/{{secret}}/api/v2/{doc}"),
                id: format!("feed_{}", op_name(doc)),
                tag: "feeds",
                summary: format!("A customer's personal Statuspage v2 {doc}."),
                params: vec![secret],
                ok: ("200", JSON),
                method: HttpMethod::Get,
                errors: feed_errors,
            });
        }
        for (doc, ct) in [
            ("uptime.json", JSON),
            ("history.atom", "application/atom+xml"),
            ("history.rss", "application/rss+xml"),
        ] {
            docs.push(Doc {
                path: format!("/status/{{slug}}/{doc}"),
                id: format!("public_{}", op_name(doc)),
                tag: "public",
                summary: format!("Public {doc} of a provider."),
                params: vec![slug],
                ok: ("200", ct),
                method: HttpMethod::Get,
                errors: not_found,
            });
            if doc != "uptime.json" {
                docs.push(Doc {
                    path: format!("/feeds/{{secret}}/{doc}"),
                    id: format!("feed_{}", op_name(doc)),
                    tag: "feeds",
                    summary: format!("A customer's personal {doc}."),
                    params: vec![secret],
                    ok: ("200", ct),
                    method: HttpMethod::Get,
                    errors: feed_errors,
                });
            }
        }
        let token = (
            "token",
            "The signed token from the mail's unsubscribe link.",
        );
        let bad_token: &[(&str, &str)] = &[("404", "The link is not valid (any more).")];
        docs.push(Doc {
            path: "/unsubscribe/{token}".into(),
            id: "unsubscribe_page".into(),
            tag: "unsubscribe",
            summary: "A confirmation page; changes nothing (mail scanners follow links).".into(),
            params: vec![token],
            ok: ("200", "text/html"),
            method: HttpMethod::Get,
            errors: bad_token,
        });
        docs.push(Doc {
            path: "/unsubscribe/{token}".into(),
            id: "unsubscribe".into(),
            tag: "unsubscribe",
            summary: "Stops the e-mail alerts the link was sent for (RFC 8058 one-click).".into(),
            params: vec![token],
            ok: ("200", "text/html"),
            method: HttpMethod::Post,
            errors: bad_token,
        });
        let ack = (
            "token",
            "The signed token from an escalation mail's acknowledge link.",
        );
        docs.push(Doc {
            path: "/ack/{token}".into(),
            id: "acknowledge_page".into(),
            tag: "escalation",
            summary: "What the link would acknowledge, with one button; changes nothing (mail \
                      scanners follow links)."
                .into(),
            params: vec![ack],
            ok: ("200", "text/html"),
            method: HttpMethod::Get,
            errors: &[
                (
                    "404",
                    "The link is not valid, or its person left the organisation.",
                ),
                ("410", "The link was already used."),
            ],
        });
        docs.push(Doc {
            path: "/ack/{token}".into(),
            id: "acknowledge_by_link".into(),
            tag: "escalation",
            summary: "Acknowledges the incident once, as the person the mail was for (analyst \
                      or above): their organisation's escalation stops."
                .into(),
            params: vec![ack],
            ok: ("200", "text/html"),
            method: HttpMethod::Post,
            errors: &[
                (
                    "403",
                    "The person's role cannot acknowledge for the organisation.",
                ),
                (
                    "404",
                    "The link is not valid, or its person left the organisation.",
                ),
                ("410", "The link was already used."),
            ],
        });
        let invitation = ("token", "The secret from the invitation mail's link.");
        docs.push(Doc {
            path: "/invitations/{token}".into(),
            id: "invitation_page".into(),
            tag: "users",
            summary:
                "The form to accept an invitation; changes nothing (mail scanners follow links)."
                    .into(),
            params: vec![invitation],
            ok: ("200", "text/html"),
            method: HttpMethod::Get,
            errors: &[(
                "404",
                "The link is not valid: used, revoked, expired or unknown.",
            )],
        });
        docs.push(Doc {
            path: "/invitations/{token}".into(),
            id: "accept_invitation".into(),
            tag: "users",
            summary:
                "Accepts with the form fields `name` and `password` (at least 12 characters): \
                      creates the account in the inviting organisation."
                    .into(),
            params: vec![invitation],
            ok: ("201", "text/html"),
            method: HttpMethod::Post,
            errors: &[
                (
                    "404",
                    "The link is not valid: used, revoked, expired or unknown.",
                ),
                (
                    "409",
                    "The address already has an account; the invitation cannot be used.",
                ),
                ("415", "The body is not application/x-www-form-urlencoded."),
                (
                    "422",
                    "A field is missing or invalid; the problem names it.",
                ),
            ],
        });
        docs.push(Doc {
            path: "/api/v1/stream".into(),
            id: "stream".into(),
            tag: "stream",
            summary: "WebSocket upgrade to the live event stream (sub-protocol cirhub.v1; \
                      `?since=SEQ` replays missed events). The server closes it with 4401 \
                      when its credential ends (logout, password change, user deletion, \
                      API-token revocation, access-token expiry), 4409 when the role \
                      changes, and after a `resync` frame with 1011 when a replay fails; \
                      the close reason says why. The client may send `{\"type\":\"received\",\"seq\":N}` \
                      (an escalation notice is then delivered) and \
                      `{\"type\":\"acknowledge\",\"incident_id\":ID}` (answered by `acknowledged` \
                      or `refused` with the status the REST API would give)."
                .into(),
            params: vec![],
            ok: ("101", JSON),
            method: HttpMethod::Get,
            errors: &[
                ("400", "Not a WebSocket handshake."),
                ("401", "No valid credential."),
                ("422", "`since` is not a sequence number the server has."),
            ],
        });
        for (path, id, summary, ct) in [
            (
                "/healthz",
                "healthz",
                "Liveness: the process answers.",
                JSON,
            ),
            (
                "/readyz",
                "readyz",
                "Readiness: the database answers.",
                JSON,
            ),
            (
                "/api/v1/openapi.json",
                "openapi",
                "This OpenAPI document.",
                JSON,
            ),
            (
                "/metrics",
                "metrics",
                "Prometheus text exposition.",
                "text/plain",
            ),
        ] {
            docs.push(Doc {
                path: path.into(),
                id: id.into(),
                tag: "operations",
                summary: summary.into(),
                params: vec![],
                ok: ("200", ct),
                method: HttpMethod::Get,
                errors: &[],
            });
        }
        docs.push(Doc {
            path: "/api/v1/ops/clock".into(),
            id: "advance_clock".into(),
            tag: "operations",
            summary: "Test servers only (`CIRHUB_TEST_CLOCK=1`): moves the job runner's clock \
                      forward by `advance_secs` (JSON body, 0 to 315360000) and wakes it, so \
                      retries, digests and lease expiries fall due without waiting. Answers \
                      the new time and the clock's total offset."
                .into(),
            params: vec![],
            ok: ("200", JSON),
            method: HttpMethod::Post,
            errors: &[
                ("400", "The body is not one JSON document."),
                (
                    "404",
                    "The server was not started with CIRHUB_TEST_CLOCK=1: no such path.",
                ),
                ("415", "The body is not application/json."),
                ("422", "`advance_secs` is missing or out of range."),
            ],
        });
        for d in docs {
            let item = operation(&d);
            match openapi.paths.paths.get_mut(&d.path) {
                Some(existing) => existing.merge_operations(item),
                None => {
                    openapi.paths.paths.insert(d.path, item);
                }
            }
        }
    }
}
