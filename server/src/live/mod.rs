//! The live side of a status page: the [`hub`] fans every live message out
//! to the WebSocket clients, serialized once for all of them. The
//! WebSocket handler in `api` subscribes to it; nothing here knows of
//! `api`.

pub mod hub;
