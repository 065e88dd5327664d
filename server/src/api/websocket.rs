//! `GET /api/websocket`: the snapshot, then every live message.

use super::AppState;
use app::model::LiveMessage;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use std::time::Duration;
use tokio::sync::broadcast;

pub async fn upgrade(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    ws.on_upgrade(move |socket: WebSocket| async move {
        let _guard = state.hub.client_guard();
        // Subscribe before taking the snapshot, so nothing falls between.
        let events = state.hub.subscribe();
        let snapshot = LiveMessage::Snapshot {
            timestamp: crate::probe::now(),
            services: state.board.views(),
        };
        let snapshot = serde_json::to_string(&snapshot).expect("snapshot serializes");
        let (sink, stream) = socket.split();
        let end = serve_client(sink, stream, snapshot.into(), events, state.send_timeout).await;
        tracing::debug!(?end, "websocket client left");
    })
}

/// Why a client's connection ended.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientEnd {
    /// The client closed, or its connection failed.
    Left,
    /// A send blocked past the timeout: the client stopped reading.
    TooSlow,
    /// The client fell more than the hub's backlog behind.
    Lagged,
    /// The hub shut down.
    HubClosed,
}

/// Sends `snapshot`, then relays hub messages until the client leaves or
/// stops keeping up. Written over any sink and stream so it can be tested
/// without a socket.
pub async fn serve_client<S, R, E>(
    mut sink: S,
    mut stream: R,
    snapshot: Utf8Bytes,
    mut events: broadcast::Receiver<Utf8Bytes>,
    send_timeout: Duration,
) -> ClientEnd
where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, E>> + Unpin,
{
    let send = async |sink: &mut S, text: Utf8Bytes| match tokio::time::timeout(
        send_timeout,
        sink.send(Message::Text(text)),
    )
    .await
    {
        Ok(Ok(())) => None,
        Ok(Err(_)) => Some(ClientEnd::Left),
        Err(_) => Some(ClientEnd::TooSlow),
    };
    if let Some(end) = send(&mut sink, snapshot).await {
        return end;
    }
    let end = loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(text) => {
                    if let Some(end) = send(&mut sink, text).await {
                        break end;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => break ClientEnd::Lagged,
                Err(broadcast::error::RecvError::Closed) => break ClientEnd::HubClosed,
            },
            incoming = stream.next() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break ClientEnd::Left,
                // Pings are answered by the socket layer; clients say nothing else.
                Some(Ok(_)) => {}
            },
        }
    };
    if end != ClientEnd::Left {
        let _ = tokio::time::timeout(Duration::from_millis(100), sink.close()).await;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::Hub;
    use futures_util::stream;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::sync::mpsc;

    /// A sink whose reader never reads: every send stays pending.
    struct Stuck;
    impl Sink<Message> for Stuck {
        type Error = ();
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Pending
        }
        fn start_send(self: Pin<&mut Self>, _: Message) -> Result<(), ()> {
            Ok(())
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Pending
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Pending
        }
    }

    /// A sink that hands every message to a channel the test reads.
    fn reader() -> (
        impl Sink<Message, Error = ()> + Unpin,
        mpsc::UnboundedReceiver<Message>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        let sink = futures_util::sink::unfold(tx, |tx, message: Message| async move {
            tx.send(message).map_err(|_| ())?;
            Ok::<_, ()>(tx)
        });
        (Box::pin(sink), rx)
    }

    fn text(message: Message) -> String {
        match message {
            Message::Text(t) => t.to_string(),
            other => panic!("expected text, got {other:?}"),
        }
    }

    fn silent() -> impl Stream<Item = Result<Message, ()>> + Unpin {
        stream::pending()
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_stops_reading_is_dropped_and_others_keep_receiving() {
        let hub = Hub::new(16);
        let stuck = tokio::spawn(serve_client(
            Stuck,
            silent(),
            "{}".into(),
            hub.subscribe(),
            Duration::from_secs(5),
        ));
        let (sink, mut healthy_rx) = reader();
        let healthy = tokio::spawn(serve_client(
            sink,
            silent(),
            r#"{"type":"snapshot"}"#.into(),
            hub.subscribe(),
            Duration::from_secs(5),
        ));
        let _heartbeat = hub.spawn_heartbeat(Duration::from_secs(2));

        // The healthy client gets its snapshot and every heartbeat on time.
        assert!(text(healthy_rx.recv().await.unwrap()).contains("snapshot"));
        let start = tokio::time::Instant::now();
        for i in 1..=5u32 {
            assert!(text(healthy_rx.recv().await.unwrap()).contains("heartbeat"));
            assert_eq!(start.elapsed(), Duration::from_secs(2) * i);
        }
        // The stuck one was cut off at its send timeout.
        assert!(stuck.is_finished());
        assert_eq!(stuck.await.unwrap(), ClientEnd::TooSlow);
        assert!(!healthy.is_finished());
    }

    #[tokio::test]
    async fn a_client_that_falls_behind_the_backlog_is_dropped() {
        let hub = Hub::new(4);
        let events = hub.subscribe();
        for _ in 0..10 {
            hub.publish(&LiveMessage::Heartbeat {
                timestamp: crate::probe::now(),
            });
        }
        let (sink, _rx) = reader();
        let end = serve_client(sink, silent(), "{}".into(), events, Duration::from_secs(1)).await;
        assert_eq!(end, ClientEnd::Lagged);
    }

    #[tokio::test]
    async fn a_client_that_closes_ends_the_relay() {
        let hub = Hub::new(4);
        let (sink, mut rx) = reader();
        let closing = stream::iter(vec![Ok::<_, ()>(Message::Close(None))]);
        let end = serve_client(
            sink,
            closing,
            "{}".into(),
            hub.subscribe(),
            Duration::from_secs(1),
        )
        .await;
        assert_eq!(end, ClientEnd::Left);
        assert_eq!(text(rx.recv().await.unwrap()), "{}");
    }
}
