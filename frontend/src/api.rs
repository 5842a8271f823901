//! Calls to the cirhub server. Every helper returns `Result<T, ApiError>`; errors carry the
//! server's RFC 9457 problem document so pages can show what to fix.

use crate::session;
use cirhub_shared::api::{RefreshRequest, TokenPair};
use cirhub_shared::Problem;
use gloo_net::http::{Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A failed call: the server's problem document, or a network failure.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub problem: Option<Problem>,
    pub message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.problem {
            Some(p) => {
                write!(f, "{}", p.detail)?;
                for e in &p.errors {
                    write!(f, " {}: {}.", e.field, e.message)?;
                }
                Ok(())
            }
            None => f.write_str(&self.message),
        }
    }
}

fn network(e: gloo_net::Error) -> ApiError {
    ApiError {
        status: 0,
        problem: None,
        message: format!("The server could not be reached: {e}"),
    }
}

async fn decode<T: DeserializeOwned>(resp: Response) -> Result<T, ApiError> {
    let status = resp.status();
    let text = resp.text().await.map_err(network)?;
    if (200..300).contains(&status) {
        let text = if text.is_empty() {
            "null".to_string()
        } else {
            text
        };
        return serde_json::from_str(&text).map_err(|e| ApiError {
            status,
            problem: None,
            message: format!("Unexpected answer from the server: {e}"),
        });
    }
    let problem: Option<Problem> = serde_json::from_str(&text).ok();
    Err(ApiError {
        status,
        message: problem.as_ref().map(|p| p.detail.clone()).unwrap_or(text),
        problem,
    })
}

/// A public document (no credentials).
pub async fn public<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    decode(Request::get(path).send().await.map_err(network)?).await
}

/// A call made before logging in (no credentials, no refresh).
pub async fn anonymous_post<T: DeserializeOwned, B: Serialize>(
    path: &str,
    body: &B,
) -> Result<T, ApiError> {
    let req = Request::post(path).json(body).map_err(network)?;
    decode(req.send().await.map_err(network)?).await
}

/// HTTP verbs of the authenticated API.
#[derive(Clone, Copy)]
pub enum Verb {
    Get,
    Post,
    Patch,
}

fn builder(verb: Verb, path: &str, token: &str) -> RequestBuilder {
    let b = match verb {
        Verb::Get => Request::get(path),
        Verb::Post => Request::post(path),
        Verb::Patch => Request::patch(path),
    };
    b.header("Authorization", &format!("Bearer {token}"))
}

async fn send<B: Serialize>(
    verb: Verb,
    path: &str,
    token: &str,
    body: Option<&B>,
) -> Result<Response, ApiError> {
    let b = builder(verb, path, token);
    match body {
        Some(body) => b.json(body).map_err(network)?.send().await.map_err(network),
        None => b.send().await.map_err(network),
    }
}

/// Exchanges the stored refresh token; `None` when the session is over.
async fn refresh() -> Option<TokenPair> {
    let pair = session::stored()?;
    let resp = Request::post("/api/v1/auth/refresh")
        .json(&RefreshRequest {
            refresh_token: pair.refresh_token,
        })
        .ok()?
        .send()
        .await
        .ok()?;
    let fresh: TokenPair = decode(resp).await.ok()?;
    session::store(&fresh);
    Some(fresh)
}

/// An authenticated call; an expired access token is refreshed once, transparently.
pub async fn call<T: DeserializeOwned, B: Serialize>(
    verb: Verb,
    path: &str,
    body: Option<&B>,
) -> Result<T, ApiError> {
    let token = session::stored()
        .map(|p| p.access_token)
        .unwrap_or_default();
    let resp = send(verb, path, &token, body).await?;
    if resp.status() != 401 {
        return decode(resp).await;
    }
    match refresh().await {
        Some(pair) => decode(send(verb, path, &pair.access_token, body).await?).await,
        None => {
            let err = decode::<T>(resp).await;
            session::expired();
            err
        }
    }
}

pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    call::<T, ()>(Verb::Get, path, None).await
}

pub async fn post<T: DeserializeOwned, B: Serialize>(path: &str, body: &B) -> Result<T, ApiError> {
    call(Verb::Post, path, Some(body)).await
}

pub async fn patch<T: DeserializeOwned, B: Serialize>(path: &str, body: &B) -> Result<T, ApiError> {
    call(Verb::Patch, path, Some(body)).await
}
