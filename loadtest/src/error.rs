/// Why a scenario could not run. Lost or duplicated deliveries are not
/// errors: they are results, and go into the report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what}: {source}")]
    Http {
        what: String,
        #[source]
        source: reqwest::Error,
    },
    #[error(
        "{what}: the server answered 429 Too Many Requests; \
         run it with `--rate-limits off` for load tests"
    )]
    RateLimited { what: String },
    #[error("{what}: HTTP {status}: {body}")]
    Status {
        what: String,
        status: u16,
        body: String,
    },
    #[error("{what}: unexpected reply: {body}")]
    Shape { what: String, body: String },
    #[error("gateway: {0}")]
    Gateway(String),
    #[error("{0}")]
    Config(String),
}
