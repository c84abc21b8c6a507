//! The few REST calls a simulated client makes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::Error;

/// A request that takes longer than this failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A registered user.
#[derive(Clone, Debug)]
pub struct Account {
    pub id: String,
    pub token: String,
}

pub struct Rest {
    http: reqwest::Client,
    api: String,
    /// Every 429 the server answered, so the report can say so.
    pub rate_limited: AtomicU64,
}

impl Rest {
    /// A client for the node at `base` (`http://127.0.0.1:PORT`), keeping up
    /// to `connections` connections open for reuse.
    pub fn new(base: &str, connections: usize) -> Result<Rest, Error> {
        let http = crate::http_client()
            .no_proxy()
            .timeout(REQUEST_TIMEOUT)
            .pool_max_idle_per_host(connections)
            .tcp_nodelay(true)
            .build()
            .map_err(|source| Error::Http {
                what: "building the HTTP client".into(),
                source,
            })?;
        Ok(Rest {
            http,
            api: format!("{}/api/v10", base.trim_end_matches('/')),
            rate_limited: AtomicU64::new(0),
        })
    }

    async fn call(
        &self,
        what: &str,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<Value, Error> {
        let mut req = self.http.request(method, format!("{}{path}", self.api));
        if let Some(t) = token {
            req = req.header("Authorization", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|source| Error::Http {
            what: what.into(),
            source,
        })?;
        let status = resp.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
            return Err(Error::RateLimited { what: what.into() });
        }
        let text = resp.text().await.map_err(|source| Error::Http {
            what: what.into(),
            source,
        })?;
        if !status.is_success() {
            return Err(Error::Status {
                what: what.into(),
                status: status.as_u16(),
                body: text,
            });
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|_| Error::Shape {
            what: what.into(),
            body: text,
        })
    }

    fn field(what: &str, body: &Value, name: &str) -> Result<String, Error> {
        body[name]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| Error::Shape {
                what: what.into(),
                body: body.to_string(),
            })
    }

    /// `GET /gateway` → the WebSocket URL.
    pub async fn gateway_url(&self) -> Result<String, Error> {
        let what = "GET /gateway";
        let body = self.call(what, Method::GET, "/gateway", None, None).await?;
        Self::field(what, &body, "url")
    }

    pub async fn register(&self, username: &str, password: &str) -> Result<Account, Error> {
        let what = "POST /auth/register";
        let body = self
            .call(
                what,
                Method::POST,
                "/auth/register",
                None,
                Some(json!({ "username": username, "password": password })),
            )
            .await?;
        Ok(Account {
            id: Self::field(what, &body, "user_id")?,
            token: Self::field(what, &body, "token")?,
        })
    }

    /// Creates a guild; returns its id.
    pub async fn create_guild(&self, token: &str, name: &str) -> Result<String, Error> {
        let what = "POST /guilds";
        let body = self
            .call(
                what,
                Method::POST,
                "/guilds",
                Some(token),
                Some(json!({ "name": name })),
            )
            .await?;
        Self::field(what, &body, "id")
    }

    /// The guild's first text channel.
    pub async fn text_channel(&self, token: &str, guild: &str) -> Result<String, Error> {
        let what = "GET /guilds/{id}/channels";
        let path = format!("/guilds/{guild}/channels");
        let body = self
            .call(what, Method::GET, &path, Some(token), None)
            .await?;
        body.as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"].as_u64() == Some(0)))
            .and_then(|c| c["id"].as_str())
            .map(str::to_string)
            .ok_or_else(|| Error::Shape {
                what: what.into(),
                body: body.to_string(),
            })
    }

    /// The guild's first voice channel.
    pub async fn voice_channel(&self, token: &str, guild: &str) -> Result<String, Error> {
        let what = "GET /guilds/{id}/channels";
        let path = format!("/guilds/{guild}/channels");
        let body = self
            .call(what, Method::GET, &path, Some(token), None)
            .await?;
        body.as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"].as_u64() == Some(2)))
            .and_then(|c| c["id"].as_str())
            .map(str::to_string)
            .ok_or_else(|| Error::Shape {
                what: what.into(),
                body: body.to_string(),
            })
    }

    /// `GET /metrics` (outside `/api/v10`): the node's Prometheus text.
    pub async fn metrics(&self) -> Result<String, Error> {
        let what = "GET /metrics";
        let url = format!("{}/metrics", self.api.trim_end_matches("/api/v10"));
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|source| Error::Http {
                what: what.into(),
                source,
            })?;
        let status = resp.status();
        let text = resp.text().await.map_err(|source| Error::Http {
            what: what.into(),
            source,
        })?;
        if !status.is_success() {
            return Err(Error::Status {
                what: what.into(),
                status: status.as_u16(),
                body: text,
            });
        }
        Ok(text)
    }

    /// An invite to the channel that never expires and has no use limit.
    pub async fn create_invite(&self, token: &str, channel: &str) -> Result<String, Error> {
        let what = "POST /channels/{id}/invites";
        let path = format!("/channels/{channel}/invites");
        let body = self
            .call(
                what,
                Method::POST,
                &path,
                Some(token),
                Some(json!({ "max_age": 0, "max_uses": 0 })),
            )
            .await?;
        Self::field(what, &body, "code")
    }

    pub async fn join(&self, token: &str, code: &str) -> Result<(), Error> {
        let path = format!("/invites/{code}");
        self.call(
            "POST /invites/{code}",
            Method::POST,
            &path,
            Some(token),
            None,
        )
        .await
        .map(|_| ())
    }

    /// Posts a message; its id.
    pub async fn post_message(
        &self,
        token: &str,
        channel: &str,
        content: &str,
    ) -> Result<String, Error> {
        let path = format!("/channels/{channel}/messages");
        let made = self
            .call(
                "POST /channels/{id}/messages",
                Method::POST,
                &path,
                Some(token),
                Some(json!({ "content": content })),
            )
            .await?;
        Ok(made["id"].as_str().unwrap_or_default().to_owned())
    }

    /// Marks the channel read up to the message, as a client showing it does.
    pub async fn ack(&self, token: &str, channel: &str, message: &str) -> Result<(), Error> {
        let path = format!("/channels/{channel}/messages/{message}/ack");
        self.call(
            "POST /channels/{id}/messages/{id}/ack",
            Method::POST,
            &path,
            Some(token),
            Some(json!({ "token": null })),
        )
        .await
        .map(|_| ())
    }
}
