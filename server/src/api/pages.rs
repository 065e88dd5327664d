//! What the Leptos pages read from the server: each status page's
//! snapshot, from the board.

use crate::engine::board::StatusBoard;
use app::status_page::ssr::SnapshotSource;
use std::sync::Arc;
use wire::PageSnapshot;

pub struct BoardPages(pub Arc<StatusBoard>);

impl SnapshotSource for BoardPages {
    fn page(&self, slug: Option<&str>) -> Option<PageSnapshot> {
        self.0.page(slug)
    }
}
