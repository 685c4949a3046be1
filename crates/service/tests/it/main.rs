//! The service's integration tests, in one binary: real SQLite files, a real PostgreSQL
//! server (`CCCI_TEST_PG_URL`, see `scripts/start-postgres.sh`), a real HTTP server and a
//! real headless Chromium.

mod approval;
mod browser;
mod cancel;
mod cdp;
mod dashboard;
mod harness;
mod hooks;
mod live;
mod retention;
mod support;

mod serve;
mod store;
mod swarm;
