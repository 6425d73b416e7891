//! The live delivery log: the server-sent events that say an app's deliveries changed, and the
//! browser side that refetches a page when they come.

use leptos::prelude::*;

/// Bumps `tick` whenever the server says this app's log changed (server-sent events) and
/// `active()` allows it, so the page refetches.
pub fn listen(
    slug: Memo<String>,
    active: impl Fn() -> bool + Send + Sync + 'static,
    tick: RwSignal<u64>,
) {
    #[cfg(feature = "hydrate")]
    {
        let active = std::sync::Arc::new(active);
        Effect::new(move |_| {
            use wasm_bindgen::prelude::*;
            use wasm_bindgen::JsCast;
            let url = format!("/apps/{}/deliveries/live", slug.get());
            let Ok(es) = web_sys::EventSource::new(&url) else {
                return;
            };
            let active = active.clone();
            let cb = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| {
                if active() {
                    tick.update(|t| *t += 1);
                }
            });
            es.set_onmessage(Some(cb.as_ref().unchecked_ref()));
            let holder = send_wrapper::SendWrapper::new((es, cb));
            on_cleanup(move || {
                let (es, _cb) = holder.take();
                es.close();
            });
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (slug, active, tick);
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use crate::panel;
    use crate::state::AppState;
    use crate::store;
    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    use axum::response::sse::{Event, KeepAlive, Sse};
    use axum::response::{IntoResponse, Response};
    use std::convert::Infallible;
    use std::time::Duration;
    use tower_sessions::Session;

    /// `GET /apps/{app}/deliveries/live`: one `changed` event whenever this app's messages
    /// change (at most every 250 ms), and a keep-alive comment.
    pub async fn stream(
        State(st): State<AppState>,
        session: Session,
        Path(slug): Path<String>,
    ) -> Response {
        if !panel::is_signed_in(&st, &session).await {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        let app = match store::app_by_slug(&st.db, &slug).await {
            Ok(Some(a)) => a,
            Ok(None) => return StatusCode::NOT_FOUND.into_response(),
            Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        };
        let rx = st.notifier.subscribe();
        let stream = futures::stream::unfold(rx, move |mut rx| async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                match rx.recv().await {
                    Ok(id) if id == app.id => {
                        // Coalesce a burst into one event.
                        tokio::time::sleep(Duration::from_millis(250)).await;
                        while rx.try_recv().is_ok() {}
                        let ev: Result<Event, Infallible> =
                            Ok(Event::default().event("message").data("changed"));
                        return Some((ev, rx));
                    }
                    Ok(_) => continue,
                    Err(RecvError::Lagged(_)) => {
                        let ev: Result<Event, Infallible> = Ok(Event::default().data("changed"));
                        return Some((ev, rx));
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        });
        Sse::new(stream)
            .keep_alive(KeepAlive::default())
            .into_response()
    }
}
