//! The Webhooks tab (Developer Mode only): the list, the create/edit form with its graph × state
//! matrix, the signing secret (reveal, copy, rotate) and deleting.

use crate::domain::graph::Graph;
use crate::domain::payload::PayloadFormat;
use crate::domain::subscription::{EventRef, SecretOut, WebhookOut};
use crate::error::PanelResult;
use crate::ui::layout::{use_app_slug, DevModeGate};
use crate::ui::snippets::{Snippet, SNIPPETS};
use crate::ui::widgets::{copy_to_clipboard, delivery_badge, EmptyState, FormError, When};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};
use std::collections::BTreeSet;

#[server(prefix = "/api", endpoint = "list_webhooks")]
pub async fn list_webhooks(app: String) -> PanelResult<Vec<WebhookOut>> {
    use crate::panel;
    let (st, _, app) = panel::user_and_app(&app).await?;
    Ok(crate::store::webhooks::list(&st.db, app.id)
        .await?
        .into_iter()
        .map(|(h, last)| h.out(last))
        .collect())
}

#[server(prefix = "/api", endpoint = "get_webhook")]
pub async fn get_webhook(app: String, id: String) -> PanelResult<WebhookOut> {
    use crate::panel;
    let (st, _, app) = panel::user_and_app(&app).await?;
    let h = crate::engine::webhooks::get(&st.db, app.id, &id)
        .await
        .map_err(panel::from_engine)?;
    Ok(h.out(None))
}

/// What the webhook form sends.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WebhookFields {
    pub name: String,
    pub description: String,
    pub url: String,
    pub enabled: bool,
    pub events: Vec<EventRef>,
    pub payload_format: PayloadFormat,
}

/// Creates (empty `id`) or edits a webhook.
#[server(prefix = "/api", endpoint = "save_webhook", input = Json)]
pub async fn save_webhook(
    app: String,
    id: String,
    fields: WebhookFields,
) -> PanelResult<WebhookOut> {
    use crate::engine::webhooks::WebhookInput;
    use crate::panel;
    let (st, user, app) = panel::user_and_app(&app).await?;
    let input = WebhookInput {
        name: Some(fields.name),
        description: Some(fields.description),
        url: Some(fields.url),
        enabled: Some(fields.enabled),
        events: Some(fields.events),
        payload_format: Some(fields.payload_format),
        ..Default::default()
    };
    let h = if id.is_empty() {
        st.engine.create_webhook(app.id, input).await
    } else {
        st.engine.update_webhook(app.id, &id, input).await
    }
    .map_err(panel::from_engine)?;
    tracing::info!(app = %app.slug, webhook = %h.id, user_id = user.id, "webhook saved");
    Ok(h.out(None))
}

/// The webhook form as a browser posts it without JavaScript: the same fields, the matrix as
/// `events[]=graph:state`, the same checks as [`save_webhook`]; then the webhook's page.
#[server(prefix = "/api", endpoint = "save_webhook_form")]
#[allow(clippy::too_many_arguments)]
pub async fn save_webhook_form(
    app: String,
    #[server(default)] id: String,
    #[server(default)] name: String,
    #[server(default)] description: String,
    #[server(default)] url: String,
    #[server(default)] enabled: Option<String>,
    #[server(default)] payload_format: String,
    #[server(default)] events: Vec<String>,
) -> PanelResult<WebhookOut> {
    use crate::error::PanelError;
    // Who asks comes before what they sent (401, 404, then the fields).
    crate::panel::user_and_app(&app).await?;
    let payload_format = PayloadFormat::parse(&payload_format)
        .map_err(|e| PanelError::field("payload_format", e.to_string()))?;
    let events = events
        .iter()
        .map(|e| match e.split_once(':') {
            Some((graph, state)) => Ok(EventRef {
                graph: graph.to_string(),
                state: state.to_string(),
            }),
            None => Err(PanelError::field(
                "events",
                format!("'{e}' is not a graph:state pair."),
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let fields = WebhookFields {
        name,
        description,
        url,
        enabled: enabled.is_some(),
        events,
        payload_format,
    };
    let out = save_webhook(app.clone(), id, fields).await?;
    leptos_axum::redirect(&format!("/apps/{app}/webhooks/{}", out.id));
    Ok(out)
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HealthOut {
    /// `healthy`, `failing` (since `failing_since`) or `disabled` (`disabled_reason`).
    pub state: String,
    pub failing_since: Option<i64>,
    pub disabled_reason: Option<String>,
    /// Messages waiting while the webhook is disabled.
    pub held: i64,
    /// Attempts of the last 24 hours, per hour, oldest first: (delivered, failed).
    pub hours: Vec<(i64, i64)>,
    pub success_rate: Option<f64>,
    pub p50_ms: Option<i64>,
    pub p95_ms: Option<i64>,
    pub replay: Option<ReplayOut>,
    /// The webhook's latest messages, newest first.
    pub recent: Vec<crate::domain::log::MessageOut>,
}

/// How many of a webhook's latest messages its page lists.
#[cfg(feature = "ssr")]
const RECENT: i64 = 5;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReplayOut {
    pub total: i64,
    pub done: i64,
    pub finished: bool,
    pub since: i64,
}

#[server(prefix = "/api", endpoint = "webhook_health")]
pub async fn webhook_health(app: String, id: String) -> PanelResult<HealthOut> {
    use crate::panel;
    use crate::store::{health, replays};
    let (st, _, app) = panel::user_and_app(&app).await?;
    let h = crate::engine::webhooks::get(&st.db, app.id, &id)
        .await
        .map_err(panel::from_engine)?;
    let now = crate::store::now_ms();
    let from = now - 24 * 3_600_000;
    let figures = attempt_figures(&health::attempts_since(&st.db, &id, from).await?, from);
    let failing_since = health::failing_since(&st.db, &id).await?;
    let held = if h.enabled {
        0
    } else {
        health::waiting(&st.db, &id).await?
    };
    let only_this = crate::domain::log::LogFilter {
        webhook: id.clone(),
        ..Default::default()
    };
    let recent = crate::store::log::messages(&st.db, app.id, &only_this, None, RECENT).await?;
    let replay = replays::latest(&st.db, &id).await?.map(|r| ReplayOut {
        total: r.total,
        done: r.done,
        finished: r.finished,
        since: r.since,
    });
    Ok(HealthOut {
        state: if !h.enabled {
            "disabled".into()
        } else if failing_since.is_some() {
            "failing".into()
        } else {
            "healthy".into()
        },
        failing_since,
        disabled_reason: h.disabled_reason.clone(),
        held,
        hours: figures.hours,
        success_rate: figures.success_rate,
        p50_ms: figures.p50_ms,
        p95_ms: figures.p95_ms,
        replay,
        recent,
    })
}

/// What the health page shows of the attempts since `from` (24 hours ago).
#[cfg(feature = "ssr")]
struct AttemptFigures {
    hours: Vec<(i64, i64)>,
    success_rate: Option<f64>,
    p50_ms: Option<i64>,
    p95_ms: Option<i64>,
}

#[cfg(feature = "ssr")]
fn attempt_figures(attempts: &[crate::store::health::AttemptSample], from: i64) -> AttemptFigures {
    let mut hours = vec![(0i64, 0i64); 24];
    let mut durations = Vec::with_capacity(attempts.len());
    let mut ok = 0;
    for a in attempts {
        let slot = (((a.started_at - from) / 3_600_000).clamp(0, 23)) as usize;
        if a.delivered {
            hours[slot].0 += 1;
            ok += 1;
        } else {
            hours[slot].1 += 1;
        }
        durations.push(a.duration_ms);
    }
    durations.sort_unstable();
    let pct = |p: f64| {
        durations
            .get(((durations.len() as f64 - 1.0) * p).round() as usize)
            .copied()
    };
    AttemptFigures {
        hours,
        success_rate: (!attempts.is_empty()).then(|| ok as f64 / attempts.len() as f64),
        p50_ms: pct(0.5),
        p95_ms: pct(0.95),
    }
}

/// Re-enables a disabled webhook; its held messages go out at once.
#[server(prefix = "/api", endpoint = "reenable_webhook")]
pub async fn reenable_webhook(app: String, id: String) -> PanelResult<()> {
    use crate::panel;
    let (st, _, app) = panel::user_and_app(&app).await?;
    st.engine
        .enable_webhook(app.id, &id)
        .await
        .map_err(panel::from_engine)?;
    Ok(())
}

/// Replays every failed message of this webhook created since `since` (a `datetime-local`
/// value read as UTC); the job runs in the background and survives restarts.
#[server(prefix = "/api", endpoint = "replay_failed")]
pub async fn replay_failed(app: String, id: String, since: String) -> PanelResult<i64> {
    use crate::error::PanelError;
    use crate::panel;
    let (st, user, app) = panel::user_and_app(&app).await?;
    match st
        .engine
        .replay_failed(app.id, &id, &since)
        .await
        .map_err(panel::from_engine)?
    {
        Some(job) => {
            tracing::info!(app = %app.slug, webhook = %id, job, user_id = user.id, "bulk replay started");
            Ok(job)
        }
        None => Err(PanelError::conflict(
            Some("since"),
            "No failed deliveries of this webhook since then.",
        )),
    }
}

/// Sends an example booking of this graph/state through the real pipeline, marked as a test.
#[server(prefix = "/api", endpoint = "send_test_event")]
pub async fn send_test_event(
    app: String,
    id: String,
    graph: String,
    state: String,
) -> PanelResult<String> {
    use crate::panel;
    let (st, _, app) = panel::user_and_app(&app).await?;
    let msg = st
        .engine
        .send_test(app.id, &id, &graph, &state)
        .await
        .map_err(panel::from_engine)?;
    Ok(msg)
}

#[server(prefix = "/api", endpoint = "delete_webhook")]
pub async fn delete_webhook(app: String, id: String) -> PanelResult<()> {
    use crate::panel;
    let (st, user, app) = panel::user_and_app(&app).await?;
    st.engine
        .delete_webhook(app.id, &id)
        .await
        .map_err(panel::from_engine)?;
    tracing::info!(app = %app.slug, webhook = %id, user_id = user.id, "webhook deleted");
    Ok(())
}

#[server(prefix = "/api", endpoint = "reveal_webhook_secret")]
pub async fn reveal_webhook_secret(app: String, id: String) -> PanelResult<SecretOut> {
    use crate::panel;
    let (st, _, app) = panel::user_and_app(&app).await?;
    let h = crate::engine::webhooks::get(&st.db, app.id, &id)
        .await
        .map_err(panel::from_engine)?;
    Ok(crate::engine::webhooks::secret_out(
        &h,
        crate::store::now_ms(),
    ))
}

#[server(prefix = "/api", endpoint = "rotate_webhook_secret")]
pub async fn rotate_webhook_secret(app: String, id: String) -> PanelResult<SecretOut> {
    use crate::panel;
    let (st, user, app) = panel::user_and_app(&app).await?;
    let out = st
        .engine
        .rotate_secret(app.id, &id)
        .await
        .map_err(panel::from_engine)?;
    tracing::info!(app = %app.slug, webhook = %id, user_id = user.id, "webhook secret rotated");
    Ok(out)
}

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let slug = use_app_slug();
    let hooks = Resource::new(move || slug.get(), list_webhooks);
    view! {
        <Title text="Webhooks" />
        <DevModeGate what="Webhooks">
            <div class="page-head">
                <h1>"Webhooks"</h1>
                <div class="spacer"></div>
                <A href=move || format!("/apps/{}/webhooks/new", slug.get()) attr:class="btn primary">
                    "New webhook"
                </A>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading webhooks…"</p> }>
                {move || Suspend::new(async move {
                    match hooks.await {
                        Err(e) => view! { <p class="form-error">{e.message}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <NoWebhooks /> }.into_any(),
                        Ok(list) => view! { <WebhookTable list /> }.into_any(),
                    }
                })}
            </Transition>
        </DevModeGate>
    }
}

#[component]
fn NoWebhooks() -> impl IntoView {
    let slug = use_app_slug();
    view! {
        <EmptyState title="No webhooks yet">
            <p>
                "A webhook is a URL of yours that bookhook calls each time a booking of this app "
                <em>"transitions into"</em>
                " a state you subscribe to, for example "
                <code>"confirm_decline → confirmed"</code> " or " <code>"instant_payment → unpaid"</code>
                ". The request is a signed JSON POST of the booking with its customers, event and calendar, "
                "retried on failure and recorded attempt by attempt in the Delivery log."
            </p>
            <A href=move || format!("/apps/{}/webhooks/new", slug.get()) attr:class="btn primary">
                "Create your first webhook"
            </A>
        </EmptyState>
    }
}

fn summary(events: &[EventRef]) -> String {
    let shown: Vec<String> = events
        .iter()
        .take(3)
        .map(|e| format!("{} → {}", e.graph, e.state))
        .collect();
    match events.len() {
        n if n > 3 => format!("{} and {} more", shown.join(", "), n - 3),
        _ => shown.join(", "),
    }
}

#[component]
fn WebhookTable(list: Vec<WebhookOut>) -> impl IntoView {
    let slug = use_app_slug();
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="webhooks">
                <thead>
                    <tr>
                        <th>"Name"</th>
                        <th>"URL"</th>
                        <th>"Status"</th>
                        <th>"Subscribed to"</th>
                        <th>"Last delivery"</th>
                    </tr>
                </thead>
                <tbody>
                    {list
                        .into_iter()
                        .map(|w| {
                            let href = format!("/apps/{}/webhooks/{}", slug.get_untracked(), w.id);
                            let title = w
                                .events
                                .iter()
                                .map(|e| format!("{} → {}", e.graph, e.state))
                                .collect::<Vec<_>>()
                                .join("\n");
                            view! {
                                <tr>
                                    <td><A href=href>{w.name.clone()}</A></td>
                                    <td class="url-cell"><code>{w.url.clone()}</code></td>
                                    <td>
                                        {if w.enabled {
                                            view! { <span class="badge ok">"enabled"</span> }.into_any()
                                        } else {
                                            view! { <span class="badge muted">"disabled"</span> }.into_any()
                                        }}
                                    </td>
                                    <td title=title>
                                        {summary(&w.events)}
                                    </td>
                                    <td>
                                        {match &w.last_delivery {
                                            None => view! { <span class="muted">"none yet"</span> }.into_any(),
                                            Some(d) => view! {
                                                <span class=crate::ui::bookings::state_badge(match d.status.as_str() {
                                                    "delivered" => "completed",
                                                    "failed" => "error",
                                                    _ => "tentative",
                                                })>{d.status.clone()}</span>
                                                " " {d.status_code.map(|c| c.to_string()).unwrap_or_default()}
                                            }.into_any(),
                                        }}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
pub fn NewWebhookPage() -> impl IntoView {
    view! {
        <Title text="New webhook" />
        <DevModeGate what="Webhooks">
            <BackToList />
            <div class="page-head"><h1>"New webhook"</h1></div>
            <WebhookForm initial=None />
        </DevModeGate>
    }
}

#[component]
fn BackToList() -> impl IntoView {
    let slug = use_app_slug();
    view! {
        <div class="page-head">
            <A href=move || format!("/apps/{}/webhooks", slug.get())>"← Webhooks"</A>
        </div>
    }
}

#[component]
pub fn WebhookPage() -> impl IntoView {
    let slug = use_app_slug();
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let hook = Resource::new(move || (slug.get(), id.get()), |(s, i)| get_webhook(s, i));
    view! {
        <Title text="Webhook" />
        <DevModeGate what="Webhooks">
            <BackToList />
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match hook.await {
                        Err(e) => view! { <EmptyState title="Webhook not found"><p>{e.message}</p></EmptyState> }.into_any(),
                        Ok(w) => {
                            let id = w.id.clone();
                            view! {
                                <div class="page-head">
                                    <h1>{w.name.clone()}</h1>
                                    {if w.enabled {
                                        view! { <span class="badge ok">"enabled"</span> }.into_any()
                                    } else {
                                        view! { <span class="badge muted">"disabled"</span> }.into_any()
                                    }}
                                </div>
                                <WebhookForm initial=Some(w) />
                                <TestEventCard id />
                            }
                            .into_any()
                        }
                    }
                })}
            </Transition>
            // Outside the webhook's Transitions: its live refreshes must not re-render the form
            // someone is editing.
            {move || view! { <HealthCard id=id.get() /> }}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    hook.await.ok().map(|w| view! {
                        <SecretCard id=w.id.clone() />
                        <DeleteWebhookCard id=w.id />
                    })
                })}
            </Transition>
        </DevModeGate>
    }
}

#[component]
fn WebhookForm(initial: Option<WebhookOut>) -> impl IntoView {
    let slug = use_app_slug();
    let is_new = initial.is_none();
    let w = initial.unwrap_or(WebhookOut {
        id: String::new(),
        name: String::new(),
        description: String::new(),
        url: String::new(),
        method: "post".into(),
        enabled: true,
        disabled_reason: None,
        events: vec![],
        rate_limit_per_second: None,
        ordered: false,
        payload_format: PayloadFormat::Bookhook,
        last_delivery: None,
        created_at: String::new(),
        updated_at: String::new(),
    });
    let id = w.id.clone();
    let id_field = w.id.clone();
    let name = RwSignal::new(w.name.clone());
    let url = RwSignal::new(w.url.clone());
    let description = RwSignal::new(w.description.clone());
    let enabled = RwSignal::new(w.enabled);
    let format = RwSignal::new(w.payload_format);
    let selected = RwSignal::new(
        w.events
            .iter()
            .map(|e| (e.graph.clone(), e.state.clone()))
            .collect::<BTreeSet<_>>(),
    );
    let save = ServerAction::<SaveWebhook>::new();
    // Without JavaScript the browser posts the form itself; its error comes back in the address.
    let posted = ServerAction::<SaveWebhookForm>::new();
    let err = Signal::derive(move || {
        save.value()
            .get()
            .and_then(Result::err)
            .or_else(|| posted.value().get().and_then(Result::err))
    });
    let saved = RwSignal::new(false);
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(out)) = save.value().get() {
            if is_new {
                navigate(
                    &format!("/apps/{}/webhooks/{}", slug.get_untracked(), out.id),
                    Default::default(),
                );
            } else {
                saved.set(true);
            }
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved.set(false);
        save.dispatch(SaveWebhook {
            app: slug.get_untracked(),
            id: id.clone(),
            fields: WebhookFields {
                name: name.get_untracked(),
                description: description.get_untracked(),
                url: url.get_untracked(),
                enabled: enabled.get_untracked(),
                payload_format: format.get_untracked(),
                events: selected
                    .get_untracked()
                    .into_iter()
                    .map(|(graph, state)| EventRef { graph, state })
                    .collect(),
            },
        });
    };
    view! {
        <form class="card form" method="post" action="/api/save_webhook_form" on:submit=submit>
            <input type="hidden" name="app" value=move || slug.get() />
            <input type="hidden" name="id" value=id_field />
            <div class="form grid">
                <label class="wide">
                    "Endpoint URL"
                    <input type="url" name="url" required placeholder="https://example.com/webhooks/bookings"
                        value=url.get_untracked() prop:value=move || url.get() on:input=move |ev| url.set(event_target_value(&ev)) />
                </label>
                <label>
                    "Name"
                    <input type="text" name="name" maxlength="100" placeholder="from the URL's host"
                        value=name.get_untracked() prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
                </label>
            </div>
            <FormError err field="url" />
            <FormError err field="name" />
            <label>
                "Description"
                <textarea name="description" rows="2" maxlength="1000" placeholder="What this endpoint does with bookings"
                    prop:value=move || description.get() on:input=move |ev| description.set(event_target_value(&ev))>{description.get_untracked()}</textarea>
            </label>
            <FormError err field="description" />
            <label>
                "Payload format"
                <select name="payload_format"
                    on:change=move |ev| {
                        if let Ok(f) = PayloadFormat::parse(&event_target_value(&ev)) {
                            format.set(f);
                        }
                    }>
                    {PayloadFormat::ALL.into_iter().map(|f| view! {
                        <option value=f.as_str() selected=move || format.get() == f>{f.label()}</option>
                    }).collect_view()}
                </select>
                <span class="hint">
                    "Timekit: the booking exactly as Timekit sends it, for receivers written for Timekit. "
                    "bookhook: the same booking as clean JSON."
                </span>
            </label>
            <FormError err field="payload_format" />
            <label class="switch">
                <input type="checkbox" role="switch" name="enabled"
                    checked=enabled.get_untracked() prop:checked=move || enabled.get() on:change=move |ev| enabled.set(event_target_checked(&ev)) />
                <span class="switch-track" aria-hidden="true"></span>
                <span>"Enabled"</span>
            </label>
            <fieldset class="matrix">
                <legend>"Send a booking when it enters"</legend>
                <p class="hint">"Each graph lists only the states its bookings can reach."</p>
                {Graph::ALL.into_iter().map(|g| view! { <MatrixRow graph=g selected /> }).collect_view()}
            </fieldset>
            <FormError err field="events" />
            <FormError err field="" />
            <div class="form-actions">
                <button type="submit" class="btn primary" disabled=move || save.pending().get()>
                    {if is_new { "Create webhook" } else { "Save changes" }}
                </button>
                <Show when=move || saved.get()>
                    <span class="saved" role="status">"Saved."</span>
                </Show>
            </div>
        </form>
    }
}

#[component]
fn MatrixRow(graph: Graph, selected: RwSignal<BTreeSet<(String, String)>>) -> impl IntoView {
    let g = graph.as_str().to_string();
    let states: Vec<String> = graph
        .states()
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    let all_states = states.clone();
    let g_all = g.clone();
    let all_checked = move || {
        let sel = selected.read();
        all_states
            .iter()
            .all(|s| sel.contains(&(g_all.clone(), s.clone())))
    };
    let all_states = states.clone();
    let g_toggle = g.clone();
    view! {
        <div class="matrix-row" data-graph=g.clone()>
            <div class="matrix-graph"><code>{g.clone()}</code></div>
            <label class="chip all">
                <input type="checkbox" aria-label=format!("all states of {g}")
                    prop:checked=all_checked
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        selected.update(|sel| {
                            for s in &all_states {
                                let k = (g_toggle.clone(), s.clone());
                                if on { sel.insert(k); } else { sel.remove(&k); }
                            }
                        });
                    } />
                "all"
            </label>
            {states
                .into_iter()
                .map(|s| {
                    let key = (g.clone(), s.clone());
                    let key2 = key.clone();
                    view! {
                        <label class="chip">
                            <input type="checkbox" name="events[]" value=format!("{}:{}", key.0, key.1)
                                checked=selected.read_untracked().contains(&key)
                                aria-label=format!("{} {}", key.0, key.1)
                                prop:checked=move || selected.read().contains(&key)
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    selected.update(|sel| {
                                        if on { sel.insert(key2.clone()); } else { sel.remove(&key2); }
                                    });
                                } />
                            {s.clone()}
                        </label>
                    }
                })
                .collect_view()}
        </div>
    }
}

#[component]
fn HealthCard(id: String) -> impl IntoView {
    let slug = use_app_slug();
    let reenable = ServerAction::<ReenableWebhook>::new();
    let replay = ServerAction::<ReplayFailed>::new();
    let tick = RwSignal::new(0u64);
    let live = RwSignal::new(true);
    crate::ui::live::listen(slug, move || live.get_untracked(), tick);
    let id_r = id.clone();
    let health = Resource::new(
        move || {
            (
                slug.get(),
                tick.get(),
                reenable.version().get(),
                replay.version().get(),
            )
        },
        move |(s, _, _, _)| webhook_health(s, id_r.clone()),
    );
    // A running replay advances without a delivery event of its own: poll while it runs.
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || {
                if let Some(Ok(h)) = health.get_untracked() {
                    if h.replay.is_some_and(|r| !r.finished) {
                        tick.update(|t| *t += 1);
                    }
                }
            },
            std::time::Duration::from_millis(700),
        );
        if let Ok(h) = handle {
            on_cleanup(move || h.clear());
        }
    }
    let err = Signal::derive(move || {
        replay
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| reenable.value().get().and_then(Result::err))
    });
    let since = RwSignal::new(String::new());
    view! {
        <section class="card" data-testid="health">
            <h2>"Health, last 24 hours"</h2>
            <Transition fallback=|| ()>
                {move || {
                    let id = id.clone();
                    Suspend::new(async move {
                        let Ok(h) = health.await else { return ().into_any() };
                        let state = match h.state.as_str() {
                            "healthy" => view! { <span class="badge ok">"healthy"</span> }.into_any(),
                            "failing" => view! {
                                <span class="badge warn">"failing since " {h.failing_since.map(|t| view! { <When ms=t /> })}</span>
                            }.into_any(),
                            _ => view! {
                                <span class="badge danger">{format!("disabled ({})", match h.disabled_reason.as_deref() {
                                    Some("gone") => "the endpoint answered 410 Gone",
                                    Some("failing") => "nothing but failures for too long",
                                    _ => "turned off by hand",
                                })}</span>
                            }.into_any(),
                        };
                        let max = h.hours.iter().map(|(a, b)| a + b).max().unwrap_or(0).max(1);
                        let id2 = id.clone();
                        let all_id = id.clone();
                        view! {
                            <div class="health-row">
                                {state}
                                <span>{h.success_rate.map(|r| format!("{:.1} % delivered", r * 100.0)).unwrap_or_else(|| "no attempts".into())}</span>
                                <span class="muted">{match (h.p50_ms, h.p95_ms) {
                                    (Some(a), Some(b)) => format!("p50 {a} ms · p95 {b} ms"),
                                    _ => String::new(),
                                }}</span>
                            </div>
                            <svg class="chart" viewBox="0 0 240 48" preserveAspectRatio="none" role="img"
                                aria-label="Attempts per hour over the last 24 hours: delivered in green, failed in red">
                                {h.hours.iter().enumerate().map(|(i, (ok, bad))| {
                                    let x = i as f64 * 10.0 + 1.0;
                                    let hok = *ok as f64 / max as f64 * 46.0;
                                    let hbad = *bad as f64 / max as f64 * 46.0;
                                    view! {
                                        <rect x=x y=48.0 - hok width=8 height=hok class="bar-ok" />
                                        <rect x=x y=48.0 - hok - hbad width=8 height=hbad class="bar-bad" />
                                    }
                                }).collect_view()}
                            </svg>
                            {(h.held > 0).then(|| view! {
                                <p>
                                    <button class="btn primary" on:click=move |_| {
                                        reenable.dispatch(ReenableWebhook { app: slug.get_untracked(), id: id2.clone() });
                                    }>{format!("Re-enable and deliver the {} held message{}", h.held, if h.held == 1 { "" } else { "s" })}</button>
                                </p>
                            })}
                            {h.replay.clone().map(|r| view! {
                                <div class="replay" data-testid="replay">
                                    <progress max=r.total.max(1) value=r.done></progress>
                                    <span>{if r.finished {
                                        format!("Replay finished: {} failed message{} re-queued.", r.done, if r.done == 1 { "" } else { "s" })
                                    } else {
                                        format!("Replaying: {} of {}", r.done, r.total)
                                    }}</span>
                                </div>
                            })}
                            <div class="form inline">
                                <label>
                                    "Replay failed deliveries since (UTC)"
                                    <input type="datetime-local" prop:value=move || since.get() on:input=move |ev| since.set(event_target_value(&ev)) />
                                </label>
                                <button class="btn" on:click=move |_| {
                                    replay.dispatch(ReplayFailed { app: slug.get_untracked(), id: id.clone(), since: since.get_untracked() });
                                }>"Replay failed"</button>
                            </div>
                            <h3>"Recent deliveries"</h3>
                            {if h.recent.is_empty() {
                                view! { <p class="muted">"No message yet: send a test event, or move a booking into a subscribed state."</p> }.into_any()
                            } else {
                                let s = slug.get_untracked();
                                view! {
                                    <ul class="recent" data-testid="recent">
                                        {h.recent.into_iter().map(|m| view! {
                                            <li>
                                                <span class=delivery_badge(&m.status)>{m.status.clone()}</span>
                                                " " <code>{format!("{} → {}", m.graph, m.state)}</code>
                                                " " <span class="muted">{m.last_status_code.map(|c| format!("HTTP {c}")).unwrap_or_default()}</span>
                                                " " <A href=format!("/apps/{s}/deliveries/{}", m.msg_id)><When ms=m.created_at /></A>
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                    <p><A href=format!("/apps/{s}/deliveries?webhook={}", all_id)>"All deliveries of this webhook →"</A></p>
                                }.into_any()
                            }}
                        }.into_any()
                    })
                }}
            </Transition>
            <FormError err field="since" />
            <FormError err field="" />
        </section>
    }
}

#[component]
fn TestEventCard(id: String) -> impl IntoView {
    let slug = use_app_slug();
    let send = ServerAction::<SendTestEvent>::new();
    let graph = RwSignal::new("confirm_decline".to_string());
    let state = RwSignal::new("confirmed".to_string());
    let states = move || {
        Graph::parse(&graph.get())
            .map(|g| {
                g.states()
                    .iter()
                    .map(|s| s.as_str().to_string())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let err = Signal::derive(move || send.value().get().and_then(Result::err));
    view! {
        <section class="card">
            <h2>"Send a test event"</h2>
            <p class="muted">
                "Sends an example booking of the chosen graph and state through the real pipeline: signed, "
                "retried on failure and recorded in the Delivery log, marked as a test."
            </p>
            <div class="form inline">
                <label>
                    "Graph"
                    <select prop:value=move || graph.get() on:change=move |ev| {
                        graph.set(event_target_value(&ev));
                        state.set(states().first().cloned().unwrap_or_default());
                    }>
                        {Graph::ALL.iter().map(|g| view! { <option value=g.as_str()>{g.as_str()}</option> }).collect_view()}
                    </select>
                </label>
                <label>
                    "State"
                    <select prop:value=move || state.get() on:change=move |ev| state.set(event_target_value(&ev))>
                        {move || states().into_iter().map(|s| view! { <option value=s.clone()>{s.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <button class="btn" on:click=move |_| {
                    send.dispatch(SendTestEvent { app: slug.get_untracked(), id: id.clone(), graph: graph.get_untracked(), state: state.get_untracked() });
                }>"Send test event"</button>
            </div>
            {move || send.value().get().and_then(Result::ok).map(|msg| view! {
                <p class="callout success" role="status">
                    "Test event queued: "
                    <A href=format!("/apps/{}/deliveries/{}", slug.get_untracked(), msg)><code>{msg.clone()}</code></A>
                </p>
            })}
            <FormError err field="" />
            <FormError err field="state" />
        </section>
    }
}

#[component]
fn SecretCard(id: String) -> impl IntoView {
    let slug = use_app_slug();
    let reveal = ServerAction::<RevealWebhookSecret>::new();
    let rotate = ServerAction::<RotateWebhookSecret>::new();
    let shown = RwSignal::new(None::<SecretOut>);
    Effect::new(move |_| {
        if let Some(Ok(s)) = reveal.value().get() {
            shown.set(Some(s));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(s)) = rotate.value().get() {
            shown.set(Some(s));
        }
    });
    let err = Signal::derive(move || {
        reveal
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| rotate.value().get().and_then(Result::err))
    });
    let copied = RwSignal::new(false);
    let (id_r, id_o) = (id.clone(), id);
    view! {
        <section class="card">
            <h2>"Signing secret"</h2>
            <p class="muted">
                "Every delivery is signed with this secret: Standard Webhooks headers ("
                <code>"webhook-id"</code> ", " <code>"webhook-timestamp"</code> ", " <code>"webhook-signature"</code>
                ") and Timekit's " <code>"x-timekit-signature"</code>
                ". Rotating makes a new secret; the old one keeps signing beside it for 24 hours."
            </p>
            {move || match shown.get() {
                None => view! {
                    <button class="btn" on:click={
                        let id = id_r.clone();
                        move |_| { reveal.dispatch(RevealWebhookSecret { app: slug.get_untracked(), id: id.clone() }); }
                    }>"Reveal secret"</button>
                }.into_any(),
                Some(s) => {
                    let secret = s.secret.clone();
                    view! {
                        <div class="secret-row">
                            <code class="secret" data-testid="webhook-secret">{s.secret.clone()}</code>
                            <button class="btn small" on:click=move |_| { copy_to_clipboard(&secret); copied.set(true); }>
                                {move || if copied.get() { "Copied" } else { "Copy" }}
                            </button>
                        </div>
                        {s.previous_secret.clone().map(|p| view! {
                            <p class="hint">
                                "Previous secret, still signing until " {s.previous_expires_at.clone().unwrap_or_default()} ": "
                                <code>{p}</code>
                            </p>
                        })}
                    }.into_any()
                }
            }}
            <VerifySnippets secret=Signal::derive(move || shown.get().map(|s| s.secret)) />
            <div class="form-actions">
                <button class="btn" on:click=move |_| {
                    if crate::ui::widgets::confirm("Rotate the signing secret? The current one keeps working for 24 hours.") {
                        copied.set(false);
                        rotate.dispatch(RotateWebhookSecret { app: slug.get_untracked(), id: id_o.clone() });
                    }
                }>"Rotate secret"</button>
            </div>
            <FormError err field="" />
        </section>
    }
}

/// A complete receiver per language that checks both signatures; the secret is filled in once
/// revealed.
#[component]
fn VerifySnippets(secret: Signal<Option<String>>) -> impl IntoView {
    let lang = RwSignal::new(SNIPPETS[0].id);
    let snippet = move || Snippet::by_id(lang.get()).unwrap_or(SNIPPETS[0]);
    let text = move || snippet().text(secret.get().as_deref());
    let copied = RwSignal::new(false);
    view! {
        <h3>"Verify deliveries"</h3>
        <p class="hint">
            "A complete receiver to paste, with its language's Standard Webhooks library; it also checks Timekit's signature. "
            {move || if secret.get().is_some() { "Your secret is filled in." } else { "Reveal the secret to fill it in." }}
        </p>
        <div class="tabs" role="tablist" aria-label="Language">
            {SNIPPETS.into_iter().map(|s| view! {
                <button type="button" role="tab" class="tab"
                    aria-selected=move || (lang.get() == s.id).to_string()
                    on:click=move |_| { lang.set(s.id); copied.set(false); }>
                    {s.label}
                </button>
            }).collect_view()}
        </div>
        <p class="hint"><code>{move || snippet().library}</code></p>
        <div class="snippet">
            <button class="btn small copy" on:click=move |_| { copy_to_clipboard(&text()); copied.set(true); }>
                {move || if copied.get() { "Copied" } else { "Copy" }}
            </button>
            <pre data-testid="snippet" tabindex="0"><code>{text}</code></pre>
        </div>
    }
}

#[component]
fn DeleteWebhookCard(id: String) -> impl IntoView {
    let slug = use_app_slug();
    let delete = ServerAction::<DeleteWebhook>::new();
    let err = Signal::derive(move || delete.value().get().and_then(Result::err));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            navigate(
                &format!("/apps/{}/webhooks", slug.get_untracked()),
                Default::default(),
            );
        }
    });
    view! {
        <section class="card danger-zone">
            <h2>"Delete this webhook"</h2>
            <p class="muted">"Stops all deliveries to this URL, including retries still waiting. This cannot be undone."</p>
            <button class="btn danger" on:click=move |_| {
                if crate::ui::widgets::confirm("Delete this webhook? Deliveries still waiting are dropped.") {
                    delete.dispatch(DeleteWebhook { app: slug.get_untracked(), id: id.clone() });
                }
            }>"Delete webhook"</button>
            <FormError err field="" />
        </section>
    }
}
