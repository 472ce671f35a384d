//! What these tests share: replicas built on one database, and SQL.

use bytes::Bytes;
use moderato::config::Config;
use moderato::http::{self, AppState};
use moderato::startup;
use tempfile::TempDir;
use warp::filters::BoxedFilter;
use warp::http::Response;
use warp::reply::Response as WarpResponse;

use crate::helpers::{ADMIN_TOKEN, test_config};

/// One replica: a service's state and routes on a shared database.
pub struct Replica {
    pub state: AppState,
    pub routes: BoxedFilter<(WarpResponse,)>,
    pub notifier: moderato::notify::Notifier,
}

impl Replica {
    /// A replica of the service `config` describes.
    pub fn of(config: &Config) -> Replica {
        let parts = startup::build(config.clone()).expect("start a replica");
        Replica {
            routes: http::routes(parts.state.clone()),
            state: parts.state,
            notifier: parts.notifier,
        }
    }

    pub async fn get(&self, path: &str) -> Response<Bytes> {
        warp::test::request().path(path).reply(&self.routes).await
    }

    pub async fn post_json(&self, body: &serde_json::Value) -> Response<Bytes> {
        warp::test::request()
            .method("POST")
            .path("/api/comments")
            .json(body)
            .reply(&self.routes)
            .await
    }

    pub async fn admin(&self, method: &str, path: &str) -> Response<Bytes> {
        warp::test::request()
            .method(method)
            .path(path)
            .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
            .reply(&self.routes)
            .await
    }
}

/// A configuration on a fresh database with a key file in `dir` (whatever
/// `TEST_MODERATO_BACKEND` says: these tests are PostgreSQL's).
pub fn postgres_config(dir: &TempDir) -> Config {
    let mut config = test_config(dir);
    if config.database_url.is_empty() {
        config.database_url = crate::backend::fresh_database();
        config.master_key_file = crate::backend::key_file(dir.path()).display().to_string();
    }
    // Every replica behind one address would share its rate limits here;
    // these tests are about storage.
    config.rate_limits_enabled = false;
    config
}

/// Rows of one query, every column as text (`NULL` as `None`).
pub fn query(url: &str, statement: &str) -> Vec<Vec<Option<String>>> {
    let (url, statement) = (url.to_owned(), statement.to_owned());
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(async {
                let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .expect("connect to the test server");
                tokio::spawn(connection);
                let mut rows = Vec::new();
                for message in client
                    .simple_query(&statement)
                    .await
                    .unwrap_or_else(|e| panic!("{statement}: {e:?}"))
                {
                    if let tokio_postgres::SimpleQueryMessage::Row(row) = message {
                        rows.push(
                            (0..row.len())
                                .map(|i| row.get(i).map(str::to_owned))
                                .collect(),
                        );
                    }
                }
                rows
            })
    })
    .join()
    .expect("sql thread")
}
