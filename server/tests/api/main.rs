//! Integration tests: the real server on port 0, a real fake target, and a
//! fresh database per test on both backends (Postgres at
//! HALE_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres).

mod alerts;
mod backup;
mod cli;
mod clients;
mod connections;
mod deploy;
mod diagnostics;
mod extremes;
mod gatus;
mod health;
mod helpers;
mod history;
mod history_api;
mod kuma;
mod layers;
mod lifecycle;
mod pages;
mod pipeline;
mod push;
mod reports;
mod roles;
mod store_contract;
mod surface;
mod websocket;
