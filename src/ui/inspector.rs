//! The built-in request inspector ("request bin"): per-app bins whose unguessable URL on this
//! server records every request sent to it; each bin's page lists them live, pretty-prints
//! JSON and, when the bin is linked to a webhook, checks the Standard Webhooks signature.

use crate::error::PanelResult;
use crate::ui::layout::{use_app_slug, DevModeGate};
use crate::ui::widgets::{copy_to_clipboard, ClockSwitch, EmptyState, FormError, When};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};
use serde::{Deserialize, Serialize};

/// Requests kept per bin (older ones are dropped) and bytes kept per body.
pub const MAX_REQUESTS: i64 = 100;
pub const MAX_BODY: usize = 256 * 1024;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BinOut {
    pub id: String,
    pub name: String,
    pub url: String,
    pub webhook_id: Option<String>,
    pub webhook_name: Option<String>,
    pub requests: i64,
    pub created_at: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CapturedOut {
    pub id: i64,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    /// Pretty-printed when it is JSON.
    pub body: String,
    pub truncated: bool,
    pub received_at: i64,
    /// With a linked webhook: `Ok(())` when the signature verifies, else why not.
    pub signature: Option<Result<(), String>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BinDetail {
    pub bin: BinOut,
    pub requests: Vec<CapturedOut>,
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::*;
    use crate::store::inspector as store;
    use crate::store::Db;
    use axum::body::Bytes;
    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, Method, StatusCode, Uri};
    use axum::response::{IntoResponse, Response};

    /// The bin's URL on this server. It is an IP literal of the address the server listens
    /// on, which the delivery client lets through (and nothing else of that address).
    pub fn bin_url(st: &crate::state::AppState, id: &str) -> String {
        format!("http://{}/inspect/{id}", st.inspector_addr)
    }

    pub async fn list(st: &crate::state::AppState, app_id: i64) -> sqlx::Result<Vec<BinOut>> {
        Ok(store::list_bins(&st.db, app_id)
            .await?
            .into_iter()
            .map(|b| BinOut {
                url: bin_url(st, &b.id),
                id: b.id,
                name: b.name,
                webhook_id: b.webhook_id,
                webhook_name: b.webhook_name,
                requests: b.requests,
                created_at: b.created_at,
            })
            .collect())
    }

    pub async fn get(
        st: &crate::state::AppState,
        app_id: i64,
        id: &str,
    ) -> sqlx::Result<Option<BinOut>> {
        Ok(list(st, app_id).await?.into_iter().find(|b| b.id == id))
    }

    /// Records a request to `/inspect/{token}…`; 404 for an unknown token.
    pub async fn capture(
        State(st): State<crate::state::AppState>,
        Path(params): Path<Vec<(String, String)>>,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        let Some(token) = params
            .iter()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.clone())
        else {
            return StatusCode::NOT_FOUND.into_response();
        };
        match record(&st.db, &token, &method, &uri, &headers, &body).await {
            Ok(Some(app_id)) => {
                st.notifier.log_changed([app_id]);
                (
                    StatusCode::OK,
                    axum::Json(serde_json::json!({"received": true})),
                )
                    .into_response()
            }
            Ok(None) => (
                StatusCode::NOT_FOUND,
                axum::Json(
                    serde_json::json!({"error": {"code": "not_found", "message": "No such bin."}}),
                ),
            )
                .into_response(),
            Err(e) => {
                tracing::error!(error = %e, "recording an inspected request failed");
                StatusCode::SERVICE_UNAVAILABLE.into_response()
            }
        }
    }

    async fn record(
        db: &Db,
        token: &str,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> sqlx::Result<Option<i64>> {
        let hdrs: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let headers = serde_json::to_string(&hdrs).unwrap_or_default();
        let capture = store::NewCapture {
            method: method.as_str(),
            path: uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"),
            headers: &headers,
            body: &body[..body.len().min(MAX_BODY)],
            truncated: body.len() > MAX_BODY,
            received_at: crate::store::now_ms(),
        };
        store::capture(db, token, &capture, MAX_REQUESTS).await
    }

    pub async fn requests(
        db: &Db,
        bin: &str,
        secrets: &[String],
    ) -> sqlx::Result<Vec<CapturedOut>> {
        let rows = store::captures(db, bin).await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let headers: Vec<(String, String)> =
                    serde_json::from_str(&r.headers).unwrap_or_default();
                let raw = r.body;
                let received_at = r.received_at;
                let header = |k: &str| {
                    headers
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(k))
                        .map(|(_, v)| v.clone())
                };
                let signature = (!secrets.is_empty()).then(|| {
                    let (Some(id), Some(ts), Some(sig)) = (
                        header("webhook-id"),
                        header("webhook-timestamp"),
                        header("webhook-signature"),
                    ) else {
                        return Err("no Standard Webhooks headers".to_string());
                    };
                    let ts: i64 = ts
                        .parse()
                        .map_err(|_| "webhook-timestamp is not a number".to_string())?;
                    let mut last = String::new();
                    for secret in secrets {
                        match crate::delivery::signing::verify(
                            secret,
                            &id,
                            ts,
                            &raw,
                            &sig,
                            received_at / 1000,
                        ) {
                            Ok(()) => return Ok(()),
                            Err(e) => last = e.to_string(),
                        }
                    }
                    Err(last)
                });
                let text = String::from_utf8_lossy(&raw).into_owned();
                let body = serde_json::from_slice::<serde_json::Value>(&raw)
                    .and_then(|v| serde_json::to_string_pretty(&v))
                    .unwrap_or(text);
                CapturedOut {
                    id: r.id,
                    method: r.method,
                    path: r.path,
                    headers,
                    body,
                    truncated: r.truncated,
                    received_at,
                    signature,
                }
            })
            .collect())
    }
}

#[server(prefix = "/api", endpoint = "list_bins")]
pub async fn list_bins(app: String) -> PanelResult<Vec<BinOut>> {
    use crate::panel;
    let (st, _, app) = panel::user_and_app(&app).await?;
    Ok(ssr::list(&st, app.id).await?)
}

#[server(prefix = "/api", endpoint = "create_bin")]
pub async fn create_bin(app: String, name: String) -> PanelResult<String> {
    use crate::error::PanelError;
    use crate::panel;
    let (st, _, app) = panel::user_and_app(&app).await?;
    let name = name.trim();
    if name.chars().count() > 100 {
        return Err(PanelError::field(
            "name",
            "Use a name of at most 100 characters.",
        ));
    }
    if crate::store::inspector::count_bins(&st.db, app.id).await? >= 20 {
        return Err(PanelError::conflict(
            None,
            "An app can have at most 20 bins; delete one first.",
        ));
    }
    // 32 alphanumerics (~190 bits): the URL is the only key to the bin.
    let id = crate::auth::generate_api_key(false).plain[13..].to_string();
    let name = if name.is_empty() { "Request bin" } else { name };
    crate::store::inspector::insert_bin(&st.db, &id, app.id, name, crate::store::now_ms()).await?;
    Ok(id)
}

#[server(prefix = "/api", endpoint = "delete_bin")]
pub async fn delete_bin(app: String, bin: String) -> PanelResult<()> {
    use crate::error::PanelError;
    use crate::panel;
    let (st, _, app) = panel::user_and_app(&app).await?;
    if !crate::store::inspector::delete_bin(&st.db, app.id, &bin).await? {
        return Err(PanelError::not_found("The bin"));
    }
    Ok(())
}

#[server(prefix = "/api", endpoint = "get_bin")]
pub async fn get_bin(app: String, bin: String) -> PanelResult<BinDetail> {
    use crate::error::PanelError;
    use crate::panel;
    let (st, _, app) = panel::user_and_app(&app).await?;
    let b = ssr::get(&st, app.id, &bin)
        .await?
        .ok_or_else(|| PanelError::not_found("The bin"))?;
    let mut secrets = vec![];
    if let Some(w) = &b.webhook_id {
        if let Ok(h) = crate::engine::webhooks::get(&st.db, app.id, w).await {
            secrets.push(h.secret.clone());
            secrets.extend(h.previous_secret.clone());
        }
    }
    let requests = ssr::requests(&st.db, &b.id, &secrets).await?;
    Ok(BinDetail { bin: b, requests })
}

/// One click: a webhook for every state of every graph that posts to this bin, linked to it
/// so the bin checks its signatures.
#[server(prefix = "/api", endpoint = "webhook_for_bin")]
pub async fn webhook_for_bin(app: String, bin: String) -> PanelResult<String> {
    use crate::domain::graph::Graph;
    use crate::domain::subscription::EventRef;
    use crate::engine::webhooks::WebhookInput;
    use crate::error::PanelError;
    use crate::panel;
    let (st, _, app) = panel::user_and_app(&app).await?;
    let b = ssr::get(&st, app.id, &bin)
        .await?
        .ok_or_else(|| PanelError::not_found("The bin"))?;
    let events = Graph::ALL
        .iter()
        .flat_map(|g| g.states().into_iter().map(move |s| EventRef::new(*g, s)))
        .collect();
    let h = st
        .engine
        .create_webhook(
            app.id,
            WebhookInput {
                name: Some(format!("Inspector: {}", b.name)),
                url: Some(b.url.clone()),
                events: Some(events),
                ..Default::default()
            },
        )
        .await
        .map_err(panel::from_engine)?;
    crate::store::inspector::link_webhook(&st.db, &b.id, &h.id).await?;
    Ok(h.id)
}

#[component]
pub fn InspectorPage() -> impl IntoView {
    let slug = use_app_slug();
    let create = ServerAction::<CreateBin>::new();
    let bins = Resource::new(
        move || (slug.get(), create.version().get()),
        |(s, _)| list_bins(s),
    );
    let err = Signal::derive(move || create.value().get().and_then(Result::err));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(id)) = create.value().get() {
            navigate(
                &format!("/apps/{}/inspector/{id}", slug.get_untracked()),
                Default::default(),
            );
        }
    });
    view! {
        <Title text="Inspector" />
        <DevModeGate what="The request inspector">
            <div class="page-head">
                <h1>"Request inspector"</h1>
            </div>
            <section class="card">
                <p class="muted">
                    "A bin is a URL on this server that records every request sent to it: method, headers, body "
                    "and time. Point a webhook at it to see exactly what bookhook sends, and whether its signature verifies."
                </p>
                <ActionForm action=create attr:class="form inline">
                    <input type="hidden" name="app" value=move || slug.get() />
                    <label>"Name" <input type="text" name="name" maxlength="100" placeholder="Request bin" /></label>
                    <button type="submit" class="btn primary">"Create bin"</button>
                </ActionForm>
                <FormError err field="name" />
                <FormError err field="" />
            </section>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let list = bins.await.unwrap_or_default();
                    if list.is_empty() {
                        return view! { <EmptyState title="No bins yet"><p>"Create a bin to get a URL that records requests."</p></EmptyState> }.into_any();
                    }
                    view! {
                        <div class="table-wrap">
                            <table class="table">
                                <thead><tr><th>"Bin"</th><th>"URL"</th><th>"Linked webhook"</th><th>"Requests"</th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|b| view! {
                                        <tr>
                                            <td><A href=format!("/apps/{}/inspector/{}", slug.get_untracked(), b.id)>{b.name.clone()}</A></td>
                                            <td class="url-cell"><code>{b.url.clone()}</code></td>
                                            <td>{b.webhook_name.clone().unwrap_or_else(|| "—".into())}</td>
                                            <td>{b.requests}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                })}
            </Transition>
        </DevModeGate>
    }
}

#[component]
pub fn BinPage() -> impl IntoView {
    let slug = use_app_slug();
    let params = use_params_map();
    let bin = Memo::new(move |_| params.read().get("bin").unwrap_or_default());
    let tick = RwSignal::new(0u64);
    let link = ServerAction::<WebhookForBin>::new();
    let delete = ServerAction::<DeleteBin>::new();
    let detail = Resource::new(
        move || (slug.get(), bin.get(), tick.get(), link.version().get()),
        |(s, b, _, _)| get_bin(s, b),
    );
    let live = RwSignal::new(true);
    crate::ui::live::listen(slug, move || live.get_untracked(), tick);
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            navigate(
                &format!("/apps/{}/inspector", slug.get_untracked()),
                Default::default(),
            );
        }
    });
    let err = Signal::derive(move || {
        link.value()
            .get()
            .and_then(Result::err)
            .or_else(|| delete.value().get().and_then(Result::err))
    });
    let copied = RwSignal::new(false);
    view! {
        <Title text="Request bin" />
        <DevModeGate what="The request inspector">
            <div class="page-head">
                <A href=move || format!("/apps/{}/inspector", slug.get())>"← Inspector"</A>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let d = match detail.await {
                        Ok(d) => d,
                        Err(e) => return view! { <EmptyState title="Bin not found"><p>{e.message}</p></EmptyState> }.into_any(),
                    };
                    let url = d.bin.url.clone();
                    let id = d.bin.id.clone();
                    let id2 = d.bin.id.clone();
                    view! {
                        <div class="page-head">
                            <h1>{d.bin.name.clone()}</h1>
                            <div class="spacer"></div>
                            <button class="btn danger" on:click=move |_| {
                                if crate::ui::widgets::confirm("Delete this bin and the requests it recorded?") {
                                    delete.dispatch(DeleteBin { app: slug.get_untracked(), bin: id2.clone() });
                                }
                            }>"Delete bin"</button>
                        </div>
                        <section class="card">
                            <div class="secret-row">
                                <code class="secret" data-testid="bin-url">{url.clone()}</code>
                                <button class="btn small" on:click=move |_| { copy_to_clipboard(&url); copied.set(true); }>
                                    {move || if copied.get() { "Copied" } else { "Copy" }}
                                </button>
                            </div>
                            {match d.bin.webhook_name.clone() {
                                Some(name) => view! {
                                    <p class="muted">"Linked to the webhook " <strong>{name}</strong> ": signatures are checked with its secret."</p>
                                }.into_any(),
                                None => view! {
                                    <p>
                                        <button class="btn primary" on:click=move |_| {
                                            link.dispatch(WebhookForBin { app: slug.get_untracked(), bin: id.clone() });
                                        }>"Create a webhook that points here"</button>
                                        <span class="hint">" Subscribed to every state of every graph, and linked to this bin."</span>
                                    </p>
                                }.into_any(),
                            }}
                            <FormError err field="" />
                            <FormError err field="url" />
                        </section>
                        <div class="page-head">
                            <h2>{format!("Requests ({})", d.requests.len())}</h2>
                            <span class="hint">"newest first, live; the last 100 are kept"</span>
                            <div class="spacer"></div>
                            <ClockSwitch />
                        </div>
                        {if d.requests.is_empty() {
                            view! { <EmptyState title="Nothing received yet"><p>"Send a request to the URL above; it appears here at once."</p></EmptyState> }.into_any()
                        } else {
                            view! {
                                <ol class="attempts" data-testid="captured">
                                    {d.requests.into_iter().map(|r| view! {
                                        <li class:ok=matches!(r.signature, Some(Ok(())))>
                                            <details open=true>
                                                <summary>
                                                    <span class="attempt-no">{r.method.clone()}</span>
                                                    <code>{r.path.clone()}</code>
                                                    <span class="tl-time"><When ms=r.received_at /></span>
                                                    {match r.signature.clone() {
                                                        Some(Ok(())) => view! { <span class="badge ok">"signature valid"</span> }.into_any(),
                                                        Some(Err(e)) => view! { <span class="badge danger" title=e.clone()>{format!("signature invalid: {e}")}</span> }.into_any(),
                                                        None => view! { <span class="badge">"not checked: no linked webhook"</span> }.into_any(),
                                                    }}
                                                </summary>
                                                <div class="exchange">
                                                    <div>
                                                        <h3>"Headers"</h3>
                                                        <table class="headers"><tbody>
                                                            {r.headers.iter().map(|(k, v)| view! { <tr><th>{k.clone()}</th><td>{v.clone()}</td></tr> }).collect_view()}
                                                        </tbody></table>
                                                    </div>
                                                    <div>
                                                        <h3>{if r.truncated { "Body (first 256 KB)" } else { "Body" }}</h3>
                                                        <pre class="code small" tabindex="0">{r.body.clone()}</pre>
                                                    </div>
                                                </div>
                                            </details>
                                        </li>
                                    }).collect_view()}
                                </ol>
                            }.into_any()
                        }}
                    }.into_any()
                })}
            </Transition>
        </DevModeGate>
    }
}
