//! `DATABASE_URL`: rows kept in PostgreSQL, the way a catalogue app keeps its state in the
//! database beside it. The table is created at start; each request opens its own connection
//! (on a small current-thread runtime), so a database restart costs the requests made while
//! it is down and nothing more.

use std::time::Duration;
use tokio_postgres::{Config, NoTls};

const TABLE: &str = "fixture_rows";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the database is: the URL's settings and the password from `DATABASE_PASSWORD_FILE`
/// (a swarm secret) or `DATABASE_PASSWORD`.
pub struct Db {
    config: Config,
    /// The URL without a password, for messages.
    pub shown: String,
}

/// One request on the rows.
pub enum RowOp {
    List,
    Get(String),
    Put(String, String),
    Delete(String),
}

impl Db {
    pub fn from_env(url: &str, password: Option<String>) -> Result<Db, String> {
        let mut config: Config = url
            .parse()
            .map_err(|e| format!("DATABASE_URL {url:?} is not a postgres:// URL: {e}"))?;
        if let Some(pw) = password {
            config.password(pw);
        }
        config.connect_timeout(CONNECT_TIMEOUT);
        config.application_name("fixture-app");
        Ok(Db {
            config,
            shown: hide_password(url),
        })
    }

    /// Connects once and creates the table: an app that cannot reach its database at start
    /// says so and exits (swarm restarts it).
    pub fn init(&self) -> Result<(), String> {
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {TABLE} (key text PRIMARY KEY, value text NOT NULL)"
        );
        self.block_on(async {
            let client = self.connect().await?;
            client.batch_execute(&sql).await
        })
    }

    /// Runs one row operation: `(HTTP status, body)`.
    pub fn rows(&self, op: RowOp) -> Result<(u16, String), String> {
        self.block_on(async {
            let client = self.connect().await?;
            Ok(match op {
                RowOp::List => {
                    let rows = client
                        .query(
                            &*format!("SELECT key, value FROM {TABLE} ORDER BY key"),
                            &[],
                        )
                        .await?;
                    let body = rows
                        .iter()
                        .map(|r| format!("{}={}\n", r.get::<_, String>(0), r.get::<_, String>(1)))
                        .collect();
                    (200, body)
                }
                RowOp::Get(key) => {
                    let row = client
                        .query_opt(
                            &*format!("SELECT value FROM {TABLE} WHERE key = $1"),
                            &[&key],
                        )
                        .await?;
                    match row {
                        Some(r) => (200, r.get(0)),
                        None => (404, "no such row\n".into()),
                    }
                }
                RowOp::Put(key, value) => {
                    client
                        .execute(
                            &*format!(
                                "INSERT INTO {TABLE} (key, value) VALUES ($1, $2) \
                                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
                            ),
                            &[&key, &value],
                        )
                        .await?;
                    (200, "stored\n".into())
                }
                RowOp::Delete(key) => {
                    let n = client
                        .execute(&*format!("DELETE FROM {TABLE} WHERE key = $1"), &[&key])
                        .await?;
                    if n == 0 {
                        (404, "no such row\n".into())
                    } else {
                        (200, "deleted\n".into())
                    }
                }
            })
        })
    }

    async fn connect(&self) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let (client, connection) = self.config.connect(NoTls).await?;
        // The connection drives the socket; it ends when the client is dropped.
        tokio::spawn(connection);
        Ok(client)
    }

    fn block_on<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("starting a runtime: {e}"))?;
        rt.block_on(work).map_err(describe)
    }
}

/// tokio-postgres' message plus its cause (the part that says what went wrong).
fn describe(e: tokio_postgres::Error) -> String {
    use std::error::Error as _;
    match e.source() {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

fn hide_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((user, host)) if user.contains(':') => {
            format!(
                "{scheme}://{}:***@{host}",
                user.split(':').next().unwrap_or("")
            )
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_their_password() {
        assert_eq!(
            hide_password("postgres://u:secret@db/x"),
            "postgres://u:***@db/x"
        );
        assert_eq!(hide_password("postgres://u@db/x"), "postgres://u@db/x");
        assert!(Db::from_env("mysql:/nope", None).is_err());
        assert!(Db::from_env("postgres://fixture@db:5432/fixture", Some("pw".into())).is_ok());
    }
}
