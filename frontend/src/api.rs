//! Calls to the cirhub server. Every helper returns `Result<T, ApiError>`; errors carry the
//! server's RFC 9457 problem document so pages can show what to fix.

use crate::session;
use cirhub_shared::api::{RefreshRequest, TokenPair};
use cirhub_shared::Problem;
use futures::future::{FutureExt, LocalBoxFuture, Shared};
use gloo_net::http::{Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;

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

impl ApiError {
    /// A problem found before anything was sent (a form the page itself cannot read).
    pub fn local(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 0,
            problem: None,
            message: message.into(),
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
    decode_text(status, text)
}

fn decode_text<T: DeserializeOwned>(status: u16, text: String) -> Result<T, ApiError> {
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
    Put,
    Delete,
}

fn builder(verb: Verb, path: &str, token: &str) -> RequestBuilder {
    let b = match verb {
        Verb::Get => Request::get(path),
        Verb::Post => Request::post(path),
        Verb::Patch => Request::patch(path),
        Verb::Put => Request::put(path),
        Verb::Delete => Request::delete(path),
    };
    b.header("Authorization", &format!("Bearer {token}"))
}

/// How much of an upload has gone: bytes sent, bytes in all.
pub type Sent = Rc<dyn Fn(f64, f64)>;

/// A request body: none, a JSON document, or a file sent as it is (told how far it got).
enum Payload<'a> {
    Empty,
    Json(String),
    File(&'a web_sys::Blob, Sent),
}

/// Sends a request; answers its status and body.
async fn send(
    verb: Verb,
    path: &str,
    token: &str,
    body: &Payload<'_>,
) -> Result<(u16, String), ApiError> {
    let b = builder(verb, path, token);
    let req = match body {
        Payload::Empty => b.build(),
        Payload::Json(text) => b
            .header("Content-Type", "application/json")
            .body(text.as_str()),
        // fetch() says nothing about an upload's progress; XMLHttpRequest does.
        Payload::File(blob, sent) => return post_file(path, token, blob, sent.clone()).await,
    };
    let resp = req.map_err(network)?.send().await.map_err(network)?;
    let status = resp.status();
    Ok((status, resp.text().await.map_err(network)?))
}

fn unreachable_server(what: impl std::fmt::Debug) -> ApiError {
    ApiError {
        status: 0,
        problem: None,
        message: format!("The server could not be reached: {what:?}"),
    }
}

/// POSTs `blob` with XMLHttpRequest, telling `sent` how far the upload got.
async fn post_file(
    path: &str,
    token: &str,
    blob: &web_sys::Blob,
    sent: Sent,
) -> Result<(u16, String), ApiError> {
    let xhr = web_sys::XmlHttpRequest::new().map_err(unreachable_server)?;
    xhr.open("POST", path).map_err(unreachable_server)?;
    xhr.set_request_header("Authorization", &format!("Bearer {token}"))
        .map_err(unreachable_server)?;
    let (done, ended) = futures::channel::oneshot::channel::<()>();
    let done = RefCell::new(Some(done));
    let on_end = Closure::<dyn FnMut()>::new(move || {
        if let Some(d) = done.borrow_mut().take() {
            let _ = d.send(());
        }
    });
    let on_progress =
        Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
            if e.length_computable() {
                sent(e.loaded(), e.total());
            }
        });
    let upload = xhr.upload().map_err(unreachable_server)?;
    upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    xhr.set_onloadend(Some(on_end.as_ref().unchecked_ref()));
    xhr.send_with_opt_blob(Some(blob))
        .map_err(unreachable_server)?;
    let _ = ended.await;
    // The handlers go with their closures.
    upload.set_onprogress(None);
    xhr.set_onloadend(None);
    match xhr.status().map_err(unreachable_server)? {
        // No answer at all: the connection failed or was refused.
        0 => Err(unreachable_server("no answer")),
        status => Ok((
            status,
            xhr.response_text()
                .map_err(unreachable_server)?
                .unwrap_or_default(),
        )),
    }
}

type Refresh = Shared<LocalBoxFuture<'static, Result<TokenPair, ApiError>>>;

thread_local! {
    /// The refresh under way: calls that meet an expired token together share it, since the
    /// server rotates the refresh token and would refuse the second exchange.
    static REFRESHING: RefCell<Option<Refresh>> = const { RefCell::new(None) };
}

async fn exchange(refresh_token: String) -> Result<TokenPair, ApiError> {
    let req = Request::post("/api/v1/auth/refresh")
        .json(&RefreshRequest { refresh_token })
        .map_err(network)?;
    let result = decode::<TokenPair>(req.send().await.map_err(network)?).await;
    if let Ok(fresh) = &result {
        session::store(fresh);
    }
    REFRESHING.with(|r| r.borrow_mut().take());
    result
}

/// Fresh tokens after `used` was refused: those another call already obtained, or a new
/// exchange of the stored refresh token.
async fn refresh(used: &str) -> Result<TokenPair, ApiError> {
    let Some(pair) = session::stored() else {
        return Err(ApiError {
            status: 401,
            problem: None,
            message: "Please log in.".into(),
        });
    };
    if pair.access_token != used {
        return Ok(pair);
    }
    let pending = REFRESHING.with(|r| {
        r.borrow_mut()
            .get_or_insert_with(|| exchange(pair.refresh_token).boxed_local().shared())
            .clone()
    });
    pending.await
}

/// An authenticated call; an expired access token is refreshed once, transparently. When the
/// session is over the app returns to the login form.
pub async fn call<T: DeserializeOwned, B: Serialize>(
    verb: Verb,
    path: &str,
    body: Option<&B>,
) -> Result<T, ApiError> {
    let payload = match body {
        Some(b) => Payload::Json(serde_json::to_string(b).map_err(|e| ApiError {
            status: 0,
            problem: None,
            message: format!("The request could not be written: {e}"),
        })?),
        None => Payload::Empty,
    };
    authorised(verb, path, &payload).await
}

/// POSTs a file as the request body (any media type), authenticated as [`call`] is; the
/// same file is sent again after a refresh. `sent` follows the upload.
pub async fn upload<T: DeserializeOwned>(
    path: &str,
    file: &web_sys::Blob,
    sent: Sent,
) -> Result<T, ApiError> {
    authorised(Verb::Post, path, &Payload::File(file, sent)).await
}

async fn authorised<T: DeserializeOwned>(
    verb: Verb,
    path: &str,
    body: &Payload<'_>,
) -> Result<T, ApiError> {
    let (status, text) = answered(verb, path, body).await?;
    decode_text(status, text)
}

/// Sends with the stored access token, once more after a refresh if it was refused; a
/// refused refresh ends the session.
async fn answered(verb: Verb, path: &str, body: &Payload<'_>) -> Result<(u16, String), ApiError> {
    let token = session::stored()
        .map(|p| p.access_token)
        .unwrap_or_default();
    let (status, text) = send(verb, path, &token, body).await?;
    if status != 401 {
        return Ok((status, text));
    }
    match refresh(&token).await {
        Ok(pair) => send(verb, path, &pair.access_token, body).await,
        Err(e) if e.status == 401 => {
            session::expired();
            Ok((status, text))
        }
        Err(e) => Err(e),
    }
}

/// An authenticated `GET` of a text document (a CSV export): its body, or the problem.
pub async fn text(path: &str) -> Result<String, ApiError> {
    let (status, text) = answered(Verb::Get, path, &Payload::Empty).await?;
    if (200..300).contains(&status) {
        Ok(text)
    } else {
        decode_text::<serde_json::Value>(status, text).map(|_| String::new())
    }
}

/// Hands `text` to the browser as a file download named `name`.
pub fn save(name: &str, media_type: &str, text: &str) -> Result<(), ApiError> {
    let fail = |e: JsValue| ApiError::local(format!("The file could not be saved: {e:?}"));
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(media_type);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts).map_err(fail)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(fail)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| ApiError::local("No document to save from."))?;
    let a: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(fail)?
        .dyn_into()
        .map_err(|e| fail(e.into()))?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    web_sys::Url::revoke_object_url(&url).map_err(fail)?;
    Ok(())
}

/// Exchanges the refresh token now if `used` is still the stored access token (the stream
/// said it expired; the server's clock may be ahead of its `exp` leeway). A refused exchange
/// ends the session.
pub async fn renew(used: &str) -> Result<(), ApiError> {
    match refresh(used).await {
        Ok(_) => Ok(()),
        Err(e) => {
            if e.status == 401 {
                session::expired();
            }
            Err(e)
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

pub async fn put<T: DeserializeOwned, B: Serialize>(path: &str, body: &B) -> Result<T, ApiError> {
    call(Verb::Put, path, Some(body)).await
}

/// A query parameter value, percent-encoded.
pub fn encode(value: &str) -> String {
    String::from(js_sys::encode_uri_component(value))
}
