//! tower-sessions' store in Hale's own database (SQLite or Postgres): a
//! session lives in the `sessions` table under the SHA-256 of its id, and
//! expires by Hale's clock, which tests move.

use super::{tokens, ACCOUNT_KEY};
use crate::clock::WallClock;
use crate::store::Store;
use async_trait::async_trait;
use std::sync::Arc;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

#[derive(Clone)]
pub struct DbSessions {
    store: Arc<dyn Store>,
    clock: WallClock,
}

impl std::fmt::Debug for DbSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbSessions").finish_non_exhaustive()
    }
}

impl DbSessions {
    pub fn new(store: Arc<dyn Store>, clock: WallClock) -> DbSessions {
        DbSessions { store, clock }
    }
}

fn backend(error: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

#[async_trait]
impl SessionStore for DbSessions {
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = serde_json::to_string(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        // tower-sessions sets the expiry by the real clock; it is kept as
        // the same time from now by Hale's.
        let left = record.expiry_date - time::OffsetDateTime::now_utc();
        let now = self.clock.now_ms();
        let expires = now.saturating_add(i64::try_from(left.whole_milliseconds()).unwrap_or(0));
        let account = record.data.get(ACCOUNT_KEY).and_then(|v| v.as_i64());
        self.store
            .accounts()
            .save_session(
                &tokens::hash(&record.id.to_string()),
                &data,
                account,
                expires,
                now,
            )
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let found = self
            .store
            .accounts()
            .load_session(&tokens::hash(&id.to_string()), self.clock.now_ms())
            .await
            .map_err(backend)?;
        let Some(data) = found else {
            return Ok(None);
        };
        let data =
            serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            // The table's expiry decides whether it loads; tower-sessions
            // sets a new one (its lifetime from now) before any save, and
            // Hale saves a session only when signing in.
            expiry_date: time::OffsetDateTime::now_utc(),
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.store
            .accounts()
            .delete_session(&tokens::hash(&id.to_string()))
            .await
            .map_err(backend)
    }
}
