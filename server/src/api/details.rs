//! The data of a service's detail page, for the Leptos server function:
//! its view, its windows, the last day's latency and its newest results.

use super::history::standard_windows;
use super::range::at;
use crate::engine::board::StatusBoard;
use crate::history::{figures, floor_to, DAY_MS, HOUR_MS};
use crate::store::History;
use app::detail_page::ssr::{DetailFuture, DetailSource};
use std::sync::Arc;
use wire::ServiceDetail;

/// The detail page's data, for the Leptos server function.
pub struct Details {
    pub board: Arc<StatusBoard>,
    pub history: History,
}

/// Results the detail page lists.
const RECENT_RESULTS: u32 = 20;

impl DetailSource for Details {
    fn detail(&self, slug: Option<String>, service: String) -> DetailFuture {
        let board = self.board.clone();
        let history = self.history.clone();
        Box::pin(async move {
            let Some((page_slug, page_title, view)) = board.page_service(slug.as_deref(), &service)
            else {
                return Ok(None);
            };
            let now = crate::clock::now_ms();
            let (windows, hours) = standard_windows(&history, &service, now)
                .await
                .map_err(unavailable)?;
            let day_ago = floor_to(now - DAY_MS, HOUR_MS);
            let latency = figures::latency_points(
                hours
                    .iter()
                    .map(|(_, b)| b)
                    .filter(|b| b.start_ms >= day_ago),
            );
            let recent = history
                .store
                .recent_results(&service, RECENT_RESULTS)
                .await
                .map_err(unavailable)?
                .iter()
                .map(|r| r.to_event())
                .collect();
            let slo = match super::history::service_slo(&board, &service) {
                Some(slo) => Some(
                    super::history::slo_figures(&history, &service, &slo, now, now)
                        .await
                        .map_err(unavailable)?,
                ),
                None => None,
            };
            Ok(Some(ServiceDetail {
                page_slug,
                page_title,
                service: view,
                windows,
                latency,
                recent,
                generated_at: at(now),
                slo,
            }))
        })
    }
}

/// What the page shows when history can't be read: no database internals.
fn unavailable(error: crate::store::StoreError) -> String {
    tracing::warn!(%error, "the detail page could not read history");
    "history is unavailable right now; try again shortly".into()
}
