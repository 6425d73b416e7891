//! The Delivery log (Developer Mode only): every message newest first with filters and keyset
//! paging, live while not paused; a message's page with its payload and every attempt, and
//! "Redeliver now".

use crate::domain::delivery::Outcome;
use crate::domain::graph::{Graph, State};
use crate::domain::log::{LogFilter, LogPage, MessageDetail, MessageOut, STATUSES};
use crate::error::PanelResult;
use crate::ui::layout::{use_app_slug, DevModeGate};
use crate::ui::widgets::{
    copy_to_clipboard, delivery_badge, query_href, ClockSwitch, EmptyState, FormError, When,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Form, A};
use leptos_router::hooks::{use_params_map, use_query_map};

pub const PAGE_SIZE: i64 = 50;

#[server(prefix = "/api", endpoint = "list_messages")]
pub async fn list_messages(
    app: String,
    filter: LogFilter,
    before: Option<i64>,
) -> PanelResult<LogPage> {
    use crate::panel;
    let (st, _, app) = panel::user_and_app(&app).await?;
    filter
        .lookup()
        .map_err(|m| crate::error::PanelError::field("q", m))?;
    let mut items =
        crate::store::log::messages(&st.db, app.id, &filter, before, PAGE_SIZE + 1).await?;
    let next_before = if items.len() as i64 > PAGE_SIZE {
        items.truncate(PAGE_SIZE as usize);
        items.last().map(|m| m.id)
    } else {
        None
    };
    Ok(LogPage { items, next_before })
}

#[server(prefix = "/api", endpoint = "get_message")]
pub async fn get_message(app: String, msg_id: String) -> PanelResult<MessageDetail> {
    use crate::error::PanelError;
    use crate::panel;
    let (st, _, app) = panel::user_and_app(&app).await?;
    let (message, payload, attempts) = crate::store::log::message_detail(&st.db, app.id, &msg_id)
        .await?
        .ok_or_else(|| PanelError::not_found("The message"))?;
    let payload = serde_json::from_str::<serde_json::Value>(&payload)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or(payload);
    Ok(MessageDetail {
        message,
        payload,
        attempts,
    })
}

/// One manual attempt now, recorded as such.
#[server(prefix = "/api", endpoint = "redeliver")]
pub async fn redeliver(app: String, msg_id: String) -> PanelResult<MessageDetail> {
    use crate::error::PanelError;
    use crate::panel;
    let (st, user, app_row) = panel::user_and_app(&app).await?;
    match st.worker.redeliver(app_row.id, &msg_id).await {
        Ok(Some(r)) => {
            tracing::info!(app = %app_row.slug, msg = %msg_id, user_id = user.id, outcome = r.outcome.as_str(), "manual redelivery");
        }
        Ok(None) => {
            if crate::store::log::message_detail(&st.db, app_row.id, &msg_id)
                .await?
                .is_none()
            {
                return Err(PanelError::not_found("The message"));
            }
            return Err(PanelError::conflict(
                None,
                "This message is being sent right now; try again in a moment.",
            ));
        }
        Err(e) => {
            return Err(match e.downcast::<sqlx::Error>() {
                Ok(db) => db.into(),
                Err(other) => PanelError::internal(other),
            })
        }
    }
    get_message(app, msg_id).await
}

fn ms_from_local(s: &str) -> i64 {
    crate::domain::booking::parse_time(&format!("{}:00Z", s.trim())).unwrap_or(0)
}

#[component]
pub fn DeliveriesPage() -> impl IntoView {
    let slug = use_app_slug();
    let query = use_query_map();
    let q = move |k: &str| query.read().get(k).unwrap_or_default();
    let filter = Memo::new(move |_| LogFilter {
        webhook: q("webhook"),
        status: q("status"),
        graph: q("graph"),
        state: q("state"),
        booking: q("booking"),
        from: ms_from_local(&q("from")),
        to: ms_from_local(&q("to")),
        text: q("q"),
    });
    let before = Memo::new(move |_| q("before").parse::<i64>().ok());
    let live = RwSignal::new(true);
    let tick = RwSignal::new(0u64);
    let page = Resource::new(
        move || (slug.get(), filter.get(), before.get(), tick.get()),
        |(s, f, b, _)| list_messages(s, f, b),
    );
    let hooks = Resource::new(move || slug.get(), crate::ui::webhooks::list_webhooks);
    crate::ui::live::listen(
        slug,
        move || live.get_untracked() && before.get_untracked().is_none(),
        tick,
    );
    view! {
        <Title text="Delivery log" />
        <DevModeGate what="The Delivery log">
            <div class="page-head">
                <h1>"Delivery log"</h1>
                <div class="spacer"></div>
                <ClockSwitch />
                <button class="btn" aria-pressed=move || (!live.get()).to_string()
                    on:click=move |_| { live.update(|l| *l = !*l); if live.get_untracked() { tick.update(|t| *t += 1) } }>
                    <span class=move || if live.get() { "live-dot on" } else { "live-dot" }></span>
                    {move || if live.get() { "Live" } else { "Paused" }}
                </button>
            </div>
            <Form method="GET" action="" attr:class="filters">
                <label>
                    "Webhook"
                    <select name="webhook" prop:value=move || q("webhook")>
                        <option value="">"All webhooks"</option>
                        <Transition fallback=|| ()>
                            {move || Suspend::new(async move {
                                hooks.await.unwrap_or_default().into_iter()
                                    .map(|w| view! { <option value=w.id.clone()>{w.name.clone()}</option> })
                                    .collect_view()
                            })}
                        </Transition>
                    </select>
                </label>
                <label>
                    "Status"
                    <select name="status" prop:value=move || q("status")>
                        <option value="">"Any status"</option>
                        {STATUSES.iter().map(|s| view! { <option value=*s>{*s}</option> }).collect_view()}
                    </select>
                </label>
                <label>
                    "Graph"
                    <select name="graph" prop:value=move || q("graph")>
                        <option value="">"All graphs"</option>
                        {Graph::ALL.iter().map(|g| view! { <option value=g.as_str()>{g.as_str()}</option> }).collect_view()}
                    </select>
                </label>
                <label>
                    "State"
                    <select name="state" prop:value=move || q("state")>
                        <option value="">"All states"</option>
                        {State::ALL.iter().map(|s| view! { <option value=s.as_str()>{s.as_str()}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Customer email, booking id or message id" <input type="search" name="q" value=q("q") prop:value=move || q("q") placeholder="ada@example.com" /></label>
                <label>"From (UTC)" <input type="datetime-local" name="from" prop:value=move || q("from") /></label>
                <label>"To (UTC)" <input type="datetime-local" name="to" prop:value=move || q("to") /></label>
                <button type="submit" class="btn">"Filter"</button>
            </Form>
            <Transition fallback=|| view! { <p class="muted">"Loading the log…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Err(e) => view! { <p class="form-error">{e.message}</p> }.into_any(),
                        Ok(p) if p.items.is_empty() => view! {
                            <EmptyState title="No deliveries yet">
                                <p>
                                    "Every message bookhook sends to a webhook appears here: when, which webhook, which "
                                    "booking transition, each attempt with its request and response, and whether it was "
                                    "delivered, is being retried or failed."
                                </p>
                                <p class="muted">"Nothing matches for this app so far."</p>
                            </EmptyState>
                        }.into_any(),
                        Ok(p) => view! { <LogTable page=p /> }.into_any(),
                    }
                })}
            </Transition>
        </DevModeGate>
    }
}

#[component]
fn LogTable(page: LogPage) -> impl IntoView {
    let slug = use_app_slug();
    let query = use_query_map();
    // The filters in the URL, to keep them when paging.
    let filters: Vec<(&str, String)> = {
        let q = query.read_untracked();
        [
            "webhook", "status", "graph", "state", "booking", "from", "to", "q",
        ]
        .iter()
        .map(|k| (*k, q.get(k).unwrap_or_default()))
        .collect()
    };
    let older = page.next_before.map(|b| {
        let mut pairs = filters.clone();
        pairs.push(("before", b.to_string()));
        query_href(&pairs)
    });
    let newest = query
        .read_untracked()
        .get("before")
        .map(|_| query_href(&filters));
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="log">
                <thead>
                    <tr>
                        <th>"Time"</th>
                        <th>"Status"</th>
                        <th>"Webhook"</th>
                        <th>"Event"</th>
                        <th>"Booking"</th>
                        <th>"Attempts"</th>
                        <th>"Response"</th>
                        <th>"Duration"</th>
                    </tr>
                </thead>
                <tbody>
                    {page.items.into_iter().map(|m| view! { <LogRow m slug=slug.get_untracked() /> }).collect_view()}
                </tbody>
            </table>
        </div>
        <div class="pager">
            // Plain links: <A> would mark the newest page as the current one on every page.
            {newest.map(|h| view! { <a href=h>"← Newest"</a> })}
            {older.map(|h| view! { <a href=h>"Older →"</a> })}
        </div>
    }
}

#[component]
fn LogRow(m: MessageOut, slug: String) -> impl IntoView {
    let href = format!("/apps/{slug}/deliveries/{}", m.msg_id);
    let booking = format!("/apps/{slug}/bookings/{}", m.booking_id);
    let retry = m.next_attempt_at.filter(|_| m.status == "retrying");
    view! {
        <tr data-msg=m.msg_id.clone()>
            <td><A href=href.clone()><When ms=m.created_at /></A></td>
            <td>
                <span class=delivery_badge(&m.status)>{m.status.clone()}</span>
                {m.is_test.then(|| view! { " " <span class="badge">"test"</span> })}
                {retry.map(|t| view! { <div class="hint">"next " <When ms=t /></div> })}
            </td>
            <td>{m.webhook_name.clone()}</td>
            <td><code>{format!("{} → {}", m.graph, m.state)}</code></td>
            <td>
                {if m.is_test {
                    view! { <span class="muted">"example"</span> }.into_any()
                } else {
                    view! { <A href=booking><code>{m.booking_id.chars().take(8).collect::<String>()}</code></A> }.into_any()
                }}
            </td>
            <td>{m.attempts}</td>
            <td>{m.last_status_code.map(|c| c.to_string()).unwrap_or_else(|| if m.last_error.is_some() { "error".into() } else { "—".into() })}</td>
            <td>{m.last_duration_ms.map(|d| format!("{d} ms")).unwrap_or_else(|| "—".into())}</td>
        </tr>
    }
}

#[component]
pub fn MessagePage() -> impl IntoView {
    let slug = use_app_slug();
    let params = use_params_map();
    let msg = Memo::new(move |_| params.read().get("msg").unwrap_or_default());
    let redeliver = ServerAction::<Redeliver>::new();
    let detail = Resource::new(
        move || (slug.get(), msg.get(), redeliver.version().get()),
        |(s, m, _)| get_message(s, m),
    );
    let err = Signal::derive(move || redeliver.value().get().and_then(Result::err));
    view! {
        <Title text="Message" />
        <DevModeGate what="The Delivery log">
            <div class="page-head">
                <A href=move || format!("/apps/{}/deliveries", slug.get())>"← Delivery log"</A>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match detail.await {
                        Err(e) => view! { <EmptyState title="Message not found"><p>{e.message}</p></EmptyState> }.into_any(),
                        Ok(d) => view! { <MessageView d redeliver err /> }.into_any(),
                    }
                })}
            </Transition>
        </DevModeGate>
    }
}

#[component]
fn MessageView(
    d: MessageDetail,
    redeliver: ServerAction<Redeliver>,
    err: Signal<Option<crate::error::PanelError>>,
) -> impl IntoView {
    let slug = use_app_slug();
    let m = d.message.clone();
    let payload = d.payload.clone();
    let copied = RwSignal::new(false);
    let msg_id = m.msg_id.clone();
    view! {
        <div class="page-head">
            <h1><code>{m.msg_id.clone()}</code></h1>
            <span class=delivery_badge(&m.status) data-testid="message-status">{m.status.clone()}</span>
            <div class="spacer"></div>
            <ClockSwitch />
            <button class="btn primary" disabled=move || redeliver.pending().get()
                on:click=move |_| { redeliver.dispatch(Redeliver { app: slug.get_untracked(), msg_id: msg_id.clone() }); }>
                {move || if redeliver.pending().get() { "Sending…" } else { "Redeliver now" }}
            </button>
        </div>
        <FormError err field="" />
        <section class="card">
            <dl class="facts">
                <dt>"Webhook"</dt>
                <dd><A href=format!("/apps/{}/webhooks/{}", slug.get_untracked(), m.webhook_id)>{m.webhook_name.clone()}</A></dd>
                <dt>"Event"</dt>
                <dd><code>{format!("{} → {} ({})", m.graph, m.state, m.action)}</code></dd>
                <dt>"Booking"</dt>
                <dd>{if m.is_test {
                    view! { "a test event with an example booking" }.into_any()
                } else {
                    view! { <A href=format!("/apps/{}/bookings/{}", slug.get_untracked(), m.booking_id)><code>{m.booking_id.clone()}</code></A> }.into_any()
                }}</dd>
                <dt>"Created"</dt>
                <dd><When ms=m.created_at /></dd>
                <dt>"Attempts"</dt>
                <dd>{m.attempts}{m.next_attempt_at.filter(|_| m.status == "retrying").map(|t| view! { " · next at " <When ms=t /> })}</dd>
            </dl>
        </section>
        <section class="card">
            <div class="page-head">
                <h2>"Payload"</h2>
                <div class="spacer"></div>
                <button class="btn small" on:click={
                    let p = payload.clone();
                    move |_| { copy_to_clipboard(&p); copied.set(true); }
                }>{move || if copied.get() { "Copied" } else { "Copy" }}</button>
            </div>
            <pre class="code" data-testid="payload" tabindex="0">{payload.clone()}</pre>
        </section>
        <section class="card">
            <h2>"Attempts"</h2>
            {if d.attempts.is_empty() {
                view! { <p class="muted">"No attempt yet: the message is waiting for the worker."</p> }.into_any()
            } else {
                view! {
                    <ol class="attempts" data-testid="attempts">
                        {d.attempts.into_iter().rev().map(|a| {
                            let ok = a.outcome == Outcome::Delivered;
                            view! {
                                <li class:ok=ok>
                                    <details open=!ok>
                                        <summary>
                                            <span class="attempt-no">{format!("#{}", a.attempt)}</span>
                                            <span class=if ok { "badge ok" } else { "badge danger" }>{a.outcome.as_str()}</span>
                                            <span>{a.response_status.map(|s| format!("HTTP {s}")).unwrap_or_else(|| "no response".into())}</span>
                                            <span class="muted">{format!("{} ms", a.duration_ms)}</span>
                                            <span class="badge">{a.trigger.as_str()}</span>
                                            <span class="tl-time"><When ms=a.started_at /></span>
                                        </summary>
                                        {a.error.clone().map(|e| view! { <p class="form-error">{e}</p> })}
                                        <div class="exchange">
                                            <div>
                                                <h3>"Request"</h3>
                                                <p><code>{format!("POST {}", a.request_url)}</code></p>
                                                <HeaderTable headers=a.request_headers.clone() />
                                                <p class="hint">"Body: the payload above."</p>
                                            </div>
                                            <div>
                                                <h3>"Response"</h3>
                                                <HeaderTable headers=a.response_headers.clone() />
                                                <pre class="code small" tabindex="0">{a.response_body.clone().filter(|b| !b.is_empty()).unwrap_or_else(|| "(empty)".into())}</pre>
                                            </div>
                                        </div>
                                    </details>
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn HeaderTable(headers: Vec<(String, String)>) -> impl IntoView {
    view! {
        <table class="headers">
            <tbody>
                {headers.into_iter().map(|(k, v)| view! { <tr><th>{k}</th><td>{v}</td></tr> }).collect_view()}
            </tbody>
        </table>
    }
}
