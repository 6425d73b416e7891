//! The Bookings page (list, filters, new booking, new resource) and a booking's own page
//! (details, one button per available action, the transition timeline).

use crate::domain::booking::{BookingOut, ResourceOut};
use crate::domain::graph::{Graph, State};
use crate::domain::zone::ZonedTime;
#[cfg(feature = "ssr")]
use crate::error::PanelError;
use crate::error::PanelResult;
use crate::ui::layout::use_app_slug;
use crate::ui::widgets::{query_href, Clock, EmptyState, FormError, When, ZonedWhen};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Form, A};
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

pub const PER_PAGE: i64 = 25;

/// One page of the Bookings list, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BookingPage {
    pub items: Vec<ListedBooking>,
    /// The `before` of the next (older) page, if any.
    pub next_before: Option<String>,
    /// Seats of this page on another resource or at other times than their class.
    pub out_of_place: Vec<String>,
}

/// A booking in the list: as the API shows it, and its start on its resource's clock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ListedBooking {
    #[serde(flatten)]
    pub booking: BookingOut,
    pub start_local: ZonedTime,
}

/// The Bookings page's filters, as its address names them (and the pager keeps).
pub const FILTERS: [&str; 6] = ["q", "resource", "from", "to", "graph", "state"];

/// A booking as its page shows it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BookingView {
    pub booking: BookingOut,
    /// Its start and end on its resource's wall clock.
    pub start: ZonedTime,
    pub end: ZonedTime,
    /// A seat on another resource or at other times than its class (made before seats took
    /// their class's place).
    pub out_of_place: bool,
}

/// What the panel says of a seat that is not in its class's place.
const OUT_OF_PLACE: &str = "This seat was created before seats took their class's resource and \
     times, and it names another resource or other times than its class. It still holds a seat \
     in the class; its own resource and times are shown here as they were booked.";

/// The bookings that match the filters (see `Search::from_form`), a page at a time after the
/// cursor `before` (`<created ms>_<id>` of the last row shown; empty: the newest).
#[server(prefix = "/api", endpoint = "list_bookings")]
#[allow(clippy::too_many_arguments)]
pub async fn list_bookings(
    app: String,
    #[server(default)] q: String,
    #[server(default)] resource: String,
    #[server(default)] from: String,
    #[server(default)] to: String,
    #[server(default)] graph: String,
    #[server(default)] state: String,
    #[server(default)] before: String,
) -> PanelResult<BookingPage> {
    use crate::domain::booking::{BookingCursor, Includes, Search};
    use crate::store::bookings as sb;
    use crate::{engine, panel};
    let (st, _, app) = panel::user_and_app(&app).await?;
    let search = Search::from_form(&q, &resource, &from, &to, &graph, &state)
        .map_err(|(field, m)| PanelError::field(field, m))?;
    let cursor = match before.trim() {
        "" => None,
        b => Some(BookingCursor::parse(b).ok_or_else(|| {
            PanelError::field("before", "This page's place in the list is not one bookhook wrote; start again from the newest.")
        })?),
    };
    let window = sb::Window::After {
        cursor: cursor.as_ref(),
        limit: PER_PAGE + 1,
    };
    let mut rows = sb::find_bookings(&st.db, app.id, &search, window).await?;
    let next_before = if rows.len() as i64 > PER_PAGE {
        rows.truncate(PER_PAGE as usize);
        rows.last().map(|b| {
            BookingCursor {
                created_at: b.created_at,
                id: b.id.clone(),
            }
            .to_string()
        })
    } else {
        None
    };
    let mut conn = st.db.acquire().await?;
    let inc = Includes {
        customers: true,
        event: true,
        ..Includes::default()
    };
    let zones: std::collections::HashMap<String, String> = sb::list_resources(&st.db, app.id)
        .await?
        .into_iter()
        .map(|r| (r.id, r.timezone))
        .collect();
    let mut items = Vec::with_capacity(rows.len());
    for b in &rows {
        let zone = zones.get(&b.resource_id).map_or("UTC", String::as_str);
        items.push(ListedBooking {
            booking: engine::booking_out(&mut conn, b, inc).await?,
            start_local: crate::domain::zone::zoned(b.start_at, zone),
        });
    }
    let seats: Vec<String> = rows
        .iter()
        .filter(|b| b.owner_booking_id.is_some())
        .map(|b| b.id.clone())
        .collect();
    let out_of_place = sb::seats_out_of_place(&mut conn, &seats).await?;
    Ok(BookingPage {
        items,
        next_before,
        out_of_place,
    })
}

#[server(prefix = "/api", endpoint = "list_resources")]
pub async fn list_resources(app: String) -> PanelResult<Vec<ResourceOut>> {
    use crate::panel;
    let (st, _, app) = panel::user_and_app(&app).await?;
    Ok(crate::store::bookings::list_resources(&st.db, app.id).await?)
}

/// Every IANA time zone with its UTC offset today, for the resource form's searchable list.
#[server(prefix = "/api", endpoint = "time_zones")]
pub async fn time_zones() -> PanelResult<Vec<(String, String)>> {
    crate::panel::user().await?;
    Ok(crate::domain::zone::all_zones())
}

#[server(prefix = "/api", endpoint = "create_resource")]
pub async fn create_resource(
    app: String,
    name: String,
    timezone: String,
) -> PanelResult<ResourceOut> {
    use crate::panel;
    use crate::store::bookings as sb;
    let (st, _, app) = panel::user_and_app(&app).await?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 500 {
        return Err(PanelError::field(
            "name",
            "Give the resource a name of at most 500 characters.",
        ));
    }
    let timezone = crate::engine::check::time_zone(Some(&timezone), "timezone")
        .map_err(crate::panel::from_engine)?;
    let mut tx = sb::begin_write(&st.db).await?;
    let out = sb::insert_resource(&mut tx, app.id, name, None, &timezone).await?;
    tx.commit().await?;
    Ok(out)
}

/// Creates a booking from the panel's form; times are `datetime-local` values on the wall clock
/// of the resource's time zone.
#[server(prefix = "/api", endpoint = "create_booking")]
#[allow(clippy::too_many_arguments)]
pub async fn create_booking(
    app: String,
    resource_id: String,
    graph: String,
    start: String,
    end: String,
    what: String,
    #[server(default)] r#where: String,
    #[server(default)] customer_name: String,
    #[server(default)] customer_email: String,
    #[server(default)] max_seats: String,
    #[server(default)] owner_booking_id: String,
) -> PanelResult<String> {
    use crate::domain::{booking::rfc3339, zone};
    use crate::engine::check::{check_booking, BookingIn, CustomerIn, RelatedIn, SettingsIn};
    use crate::engine::Actor;
    use crate::panel;
    let (st, user, app) = panel::user_and_app(&app).await?;
    // The resource's zone; an unknown resource is the engine's to refuse, by its field.
    let zone_name = {
        let mut conn = st.db.acquire().await?;
        crate::store::bookings::resource(&mut conn, app.id, resource_id.trim())
            .await?
            .map(|r| r.timezone)
            .unwrap_or_else(|| "UTC".into())
    };
    let instant = |s: &str, field: &str| -> PanelResult<Option<String>> {
        if s.trim().is_empty() {
            return Ok(None);
        }
        zone::from_local(s, &zone_name)
            .map(|ms| Some(rfc3339(ms)))
            .map_err(|e| PanelError::field(field, e.message(s, &zone_name)))
    };
    let (start, end) = (instant(&start, "start")?, instant(&end, "end")?);
    let opt = |s: String| Some(s).filter(|s| !s.trim().is_empty());
    let max_seats = match max_seats.trim() {
        "" => None,
        n => Some(n.parse::<i64>().map_err(|_| {
            PanelError::field("settings.max_seats", "Seats must be a whole number.")
        })?),
    };
    let has_customer = !customer_name.trim().is_empty() || !customer_email.trim().is_empty();
    let input = BookingIn {
        resource_id: opt(resource_id),
        graph: opt(graph),
        action: None,
        start,
        end,
        what: opt(what),
        where_: opt(r#where),
        customer: has_customer.then(|| CustomerIn {
            name: opt(customer_name),
            email: opt(customer_email),
            ..Default::default()
        }),
        settings: max_seats.map(|n| SettingsIn { max_seats: Some(n) }),
        related: opt(owner_booking_id).map(|id| RelatedIn {
            owner_booking_id: Some(id),
        }),
        ..Default::default()
    };
    let nb = check_booking(input).map_err(crate::panel::from_engine)?;
    let out = st
        .engine
        .create_booking(&app, nb, &Actor::admin(user.id, &user.email))
        .await
        .map_err(crate::panel::from_engine)?;
    let path = format!("/apps/{}/bookings/{}", app.slug, out.id);
    leptos_axum::redirect(&path);
    Ok(out.id)
}

#[server(prefix = "/api", endpoint = "get_booking")]
pub async fn get_booking(app: String, id: String) -> PanelResult<BookingView> {
    use crate::domain::booking::Includes;
    use crate::store::bookings as sb;
    use crate::{engine, panel};
    let (st, _, app) = panel::user_and_app(&app).await?;
    let mut conn = st.db.acquire().await?;
    let b = sb::booking(&mut conn, app.id, &id)
        .await?
        .ok_or_else(|| PanelError::not_found("The booking"))?;
    let out_of_place = !sb::seats_out_of_place(&mut conn, std::slice::from_ref(&b.id))
        .await?
        .is_empty();
    let zone_name = sb::resource_timezone(&mut conn, &b.resource_id).await?;
    Ok(BookingView {
        booking: engine::booking_out(&mut conn, &b, Includes::ALL).await?,
        start: crate::domain::zone::zoned(b.start_at, &zone_name),
        end: crate::domain::zone::zoned(b.end_at, &zone_name),
        out_of_place,
    })
}

/// Applies an action from the panel; `message` goes with decline, `payment_id` with pay.
#[server(prefix = "/api", endpoint = "apply_booking_action")]
pub async fn apply_booking_action(
    app: String,
    id: String,
    action: String,
    #[server(default)] message: String,
    #[server(default)] payment_id: String,
) -> PanelResult<BookingOut> {
    use crate::domain::graph::Action;
    use crate::engine::Actor;
    use crate::panel;
    use serde_json::{Map, Value};
    let (st, user, app) = panel::user_and_app(&app).await?;
    let action = Action::parse(&action).map_err(|e| PanelError::field("action", e.to_string()))?;
    let mut details = Map::new();
    if !message.trim().is_empty() {
        details.insert(
            "message".into(),
            Value::String(message.trim().chars().take(2000).collect()),
        );
    }
    if !payment_id.trim().is_empty() {
        details.insert(
            "payment_id".into(),
            Value::String(payment_id.trim().chars().take(200).collect()),
        );
    }
    let out = st
        .engine
        .apply_action(
            app.id,
            &id,
            action,
            details,
            &Actor::admin(user.id, &user.email),
        )
        .await
        .map_err(crate::panel::from_engine)?;
    Ok(out)
}

pub fn state_badge(state: &str) -> &'static str {
    match state {
        "confirmed" | "paid" | "completed" => "badge ok",
        "tentative" => "badge accent",
        "rescheduled_by_customer" => "badge warn",
        "cancelled"
        | "cancelled_by_customer"
        | "cancelled_by_owner"
        | "declined"
        | "unpaid"
        | "error" => "badge danger",
        _ => "badge",
    }
}

#[component]
pub fn BookingsPage() -> impl IntoView {
    let slug = use_app_slug();
    let query = use_query_map();
    let filter = move |k: &str| query.read().get(k).unwrap_or_default();
    let create_resource = ServerAction::<CreateResource>::new();
    let create = ServerAction::<CreateBooking>::new();
    let resources = Resource::new(
        // Only a resource made refreshes the list: a refused one keeps the form as it was typed.
        move || {
            let made = create_resource.value().with(|v| {
                v.as_ref()
                    .and_then(|r| r.as_ref().ok())
                    .map(|r| r.id.clone())
            });
            (slug.get(), made)
        },
        |(s, _)| list_resources(s),
    );
    let bookings = Resource::new(
        move || {
            (
                slug.get(),
                FILTERS.map(filter),
                filter("before"),
                create.version().get(),
            )
        },
        |(s, [q, r, f, t, g, st], b, _)| list_bookings(s, q, r, f, t, g, st, b),
    );
    let filtered = move || FILTERS.iter().any(|k| !filter(k).is_empty());
    // The new-booking forms open with `?new` in the address, so the link works without JavaScript.
    let show_new = Signal::derive(move || query.read().get("new").is_some());
    view! {
        <Title text="Bookings" />
        <div class="page-head">
            <h1>"Bookings"</h1>
            <div class="spacer"></div>
            <A href=move || if show_new.get() { "?".to_string() } else { "?new".to_string() }
                attr:class="btn primary" attr:aria-expanded=move || show_new.get().to_string()>
                "New booking"
            </A>
        </div>
        // `resources` is read in this one Transition only: Leptos may never finish a server
        // render that reads one resource in two (leptos-rs/leptos#4851), and this page is
        // rendered whole before it is sent.
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let res = resources.await.unwrap_or_default();
                let no_resources = res.is_empty();
                let choices = res.clone();
                view! {
                    <Show when=move || show_new.get() || no_resources>
                        <NewResourceCard action=create_resource first=no_resources />
                    </Show>
                    <Show when=move || show_new.get() && !no_resources>
                        <NewBookingCard action=create resources=res.clone() />
                    </Show>
                    <BookingFilters resources=choices />
                }
            })}
        </Transition>
        <Transition fallback=|| view! { <p class="muted">"Loading bookings…"</p> }>
            {move || Suspend::new(async move {
                match bookings.await {
                    Err(e) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
                    Ok(p) if p.items.is_empty() && filtered() => {
                        view! {
                            <EmptyState title="No booking matches">
                                <p>
                                    "No booking of this app matches these filters"
                                    {(!filter("before").is_empty()).then_some(" further down the list")}
                                    ". A customer is found by part of the name or email, or by the whole email; "
                                    "a booking by its whole id."
                                </p>
                            </EmptyState>
                        }
                            .into_any()
                    }
                    Ok(p) if p.items.is_empty() => {
                        view! {
                            <EmptyState title="No bookings here">
                                <p>
                                    "Bookings move through the states of their graph; each transition into a state "
                                    "that a webhook subscribes to sends that webhook a signed POST. Create one with "
                                    "“New booking”, or through the API with one of this app's keys ("
                                    <code>"POST /v2/bookings"</code> ")."
                                </p>
                            </EmptyState>
                        }
                            .into_any()
                    }
                    Ok(p) => view! { <BookingTable page=p slug=slug.get_untracked() /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The Bookings page's filters: a GET form, so the address holds the search and the pager keeps
/// it; each field shows the address's value.
#[component]
fn BookingFilters(resources: Vec<ResourceOut>) -> impl IntoView {
    let query = use_query_map();
    let filter = move |k: &str| query.read().get(k).unwrap_or_default();
    view! {
        <Form method="GET" action="" attr:class="filters">
            <label>
                "Customer name, email or booking id"
                <input type="search" name="q" value=filter("q") prop:value=move || filter("q") placeholder="ada@example.com" />
            </label>
            <label>
                "Resource"
                <select name="resource">
                    <option value="">"All resources"</option>
                    {resources.into_iter()
                        .map(|r| {
                            let selected = filter("resource") == r.id;
                            view! { <option value=r.id.clone() selected=selected>{r.name.clone()}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
            <label>
                "Starts from (UTC day)"
                <input type="date" name="from" value=filter("from") prop:value=move || filter("from") />
            </label>
            <label>
                "Starts until (UTC day)"
                <input type="date" name="to" value=filter("to") prop:value=move || filter("to") />
            </label>
            <label>
                "Graph"
                <select name="graph" prop:value=move || filter("graph")>
                    <option value="">"All graphs"</option>
                    {Graph::ALL
                        .iter()
                        .map(|g| view! { <option value=g.as_str()>{g.as_str()}</option> })
                        .collect_view()}
                </select>
            </label>
            <label>
                "State"
                <select name="state" prop:value=move || filter("state")>
                    <option value="">"All states"</option>
                    {State::ALL
                        .iter()
                        .map(|s| view! { <option value=s.as_str()>{s.as_str()}</option> })
                        .collect_view()}
                </select>
            </label>
            <button type="submit" class="btn">"Filter"</button>
        </Form>
    }
}

#[component]
fn BookingTable(page: BookingPage, slug: String) -> impl IntoView {
    let query = use_query_map();
    // Paging keeps the filters in the address.
    let filters: Vec<(&str, String)> = {
        let q = query.read_untracked();
        FILTERS
            .iter()
            .map(|k| (*k, q.get(k).unwrap_or_default()))
            .collect()
    };
    let older = page.next_before.clone().map(|b| {
        let mut pairs = filters.clone();
        pairs.push(("before", b));
        query_href(&pairs)
    });
    let newest = query
        .read_untracked()
        .get("before")
        .filter(|b| !b.is_empty())
        .map(|_| query_href(&filters));
    view! {
        <div class="table-wrap">
            <table class="table">
                <thead>
                    <tr>
                        <th>"State"</th>
                        <th>"What"</th>
                        <th>"Customer"</th>
                        <th>"Graph"</th>
                        <th>"Start"</th>
                        <th>"Created"</th>
                    </tr>
                </thead>
                <tbody>
                    {page
                        .items
                        .into_iter()
                        .map(|ListedBooking { booking: b, start_local }| {
                            let out_of_place = page.out_of_place.contains(&b.id);
                            let href = format!("/apps/{slug}/bookings/{}", b.id);
                            let customer = b
                                .customers
                                .as_ref()
                                .and_then(|c| c.first())
                                .map(|c| c.name.clone())
                                .unwrap_or_else(|| "—".into());
                            let what = b.event.as_ref().map(|e| e.what.clone()).unwrap_or_default();
                            view! {
                                <tr>
                                    <td>
                                        <span class=state_badge(&b.state)>{b.state.clone()}</span>
                                    </td>
                                    <td>
                                        <A href=href>{what}</A>
                                        {out_of_place.then(|| view! {
                                            " " <span class="badge warn" title=OUT_OF_PLACE>"not in its class's place"</span>
                                        })}
                                    </td>
                                    <td>{customer}</td>
                                    <td>
                                        <code>{b.graph.clone()}</code>
                                    </td>
                                    <td><ZonedWhen t=start_local /></td>
                                    <td>{crate::domain::booking::parse_time(&b.created_at).map(|ms| view! { <When ms /> })}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
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
fn NewResourceCard(action: ServerAction<CreateResource>, first: bool) -> impl IntoView {
    let slug = use_app_slug();
    let err = Signal::derive(move || action.value().get().and_then(Result::err));
    // The list of zones is fetched by the browser once the page runs (without JavaScript the
    // field is plain text, checked by the server), so the page itself stays small.
    let zones = RwSignal::new(Vec::<(String, String)>::new());
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            if let Ok(list) = time_zones().await {
                zones.set(list);
            }
        });
    });
    // The browser's zone is the likeliest answer: offered once the page knows it.
    let zone = RwSignal::new(String::new());
    if let Some(clock) = use_context::<Clock>() {
        Effect::new(move |_| {
            if let Some(z) = clock.browser_zone() {
                if zone.get_untracked().is_empty() {
                    zone.set(z);
                }
            }
        });
    }
    view! {
        <section class="card">
            <h2>"New resource"</h2>
            <p class="muted">
                {if first {
                    "Bookings are made with a resource: the person, room or class that is booked. This app has none yet; create the first."
                } else {
                    "A resource is the person, room or class that is booked; each has its own calendar."
                }}
            </p>
            <ActionForm action attr:class="form inline">
                <input type="hidden" name="app" value=move || slug.get() />
                <label>"Name" <input type="text" name="name" required maxlength="500" placeholder="Studio A" /></label>
                <label>
                    "Time zone"
                    <input type="text" name="timezone" list="time-zones" autocomplete="off" spellcheck="false"
                        placeholder="UTC" aria-describedby="time-zone-hint"
                        prop:value=move || zone.get() on:input=move |ev| zone.set(event_target_value(&ev)) />
                </label>
                <button type="submit" class="btn">"Create resource"</button>
            </ActionForm>
            <FormError err field="name" />
            <datalist id="time-zones">
                {move || zones.get().into_iter()
                    .map(|(name, offset)| view! { <option value=name label=offset></option> })
                    .collect_view()}
            </datalist>
            <p class="hint" id="time-zone-hint">
                "The IANA zone of the resource's clock: type a city or region to search (Copenhagen, New_York). "
                "Its bookings are entered and shown on that clock."
            </p>
            <FormError err field="timezone" />
            <FormError err field="" />
        </section>
    }
}

#[component]
fn NewBookingCard(
    action: ServerAction<CreateBooking>,
    resources: Vec<ResourceOut>,
) -> impl IntoView {
    let slug = use_app_slug();
    let err = Signal::derive(move || action.value().get().and_then(Result::err));
    // Start and end are typed on the chosen resource's clock.
    let zones: Vec<(String, String)> = resources
        .iter()
        .map(|r| (r.id.clone(), r.timezone.clone()))
        .collect();
    let resource = RwSignal::new(resources.first().map(|r| r.id.clone()).unwrap_or_default());
    let zone = move || {
        let id = resource.get();
        zones
            .iter()
            .find(|(r, _)| *r == id)
            .map(|(_, z)| z.clone())
            .unwrap_or_else(|| "UTC".into())
    };
    let graph = RwSignal::new("confirm_decline".to_string());
    let is_owner = move || graph.get() == "group_owner";
    let is_seat = move || graph.get().starts_with("group_customer");
    view! {
        <section class="card">
            <h2>"New booking"</h2>
            <ActionForm action attr:class="form grid">
                <input type="hidden" name="app" value=move || slug.get() />
                <label>
                    "Resource"
                    <select name="resource_id" on:change=move |ev| resource.set(event_target_value(&ev))>
                        {resources
                            .into_iter()
                            .map(|r| view! { <option value=r.id>{r.name}</option> })
                            .collect_view()}
                    </select>
                </label>
                <label>
                    "Graph"
                    <select name="graph" on:change=move |ev| graph.set(event_target_value(&ev)) prop:value=move || graph.get()>
                        {Graph::ALL
                            .iter()
                            .map(|g| view! { <option value=g.as_str()>{g.as_str()}</option> })
                            .collect_view()}
                    </select>
                </label>
                <label>"What" <input type="text" name="what" required maxlength="500" placeholder="Yoga class" /></label>
                <label>"Where" <input type="text" name="where" maxlength="500" placeholder="Studio A" /></label>
                <label>"Start" <span class="zone">{zone.clone()}</span> <input type="datetime-local" name="start" required /></label>
                <label>"End" <span class="zone">{zone}</span> <input type="datetime-local" name="end" required /></label>
                <label>"Customer name" <input type="text" name="customer_name" maxlength="500" /></label>
                <label>"Customer email" <input type="email" name="customer_email" /></label>
                <Show when=is_owner>
                    <label>"Seats" <input type="number" name="max_seats" min="1" value="10" /></label>
                </Show>
                <Show when=is_seat>
                    <label>"Owner booking id" <input type="text" name="owner_booking_id" placeholder="the group_owner booking" /></label>
                </Show>
                <div class="form-actions">
                    <button type="submit" class="btn primary">"Create booking"</button>
                </div>
            </ActionForm>
            {["resource_id", "graph", "action", "what", "where", "start", "end", "customer", "customer.name",
                "customer.email", "settings.max_seats", "related.owner_booking_id", ""]
                .into_iter()
                .map(|f| view! { <FormError err field=f /> })
                .collect_view()}
        </section>
    }
}

#[component]
pub fn BookingPage() -> impl IntoView {
    let slug = use_app_slug();
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let act = ServerAction::<ApplyBookingAction>::new();
    let booking = Resource::new(
        move || (slug.get(), id.get(), act.version().get()),
        |(s, i, _)| get_booking(s, i),
    );
    let err = Signal::derive(move || act.value().get().and_then(Result::err));
    view! {
        <Title text="Booking" />
        <div class="page-head">
            <A href=move || format!("/apps/{}/bookings", slug.get())>"← Bookings"</A>
        </div>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match booking.await {
                    Err(e) => view! { <EmptyState title="Booking not found"><p>{e.message}</p></EmptyState> }.into_any(),
                    Ok(v) => view! { <BookingDetail v act err /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn BookingDetail(
    v: BookingView,
    act: ServerAction<ApplyBookingAction>,
    err: Signal<Option<crate::error::PanelError>>,
) -> impl IntoView {
    let BookingView {
        booking: b,
        start,
        end,
        out_of_place,
    } = v;
    let slug = use_app_slug();
    let event = b.event.clone();
    let customer = b.customers.clone().unwrap_or_default().into_iter().next();
    let actions = b.available_actions.clone().unwrap_or_default();
    let logs = b.logs.clone().unwrap_or_default();
    let id = b.id.clone();
    view! {
        <div class="page-head">
            <h1>{event.as_ref().map(|e| e.what.clone()).unwrap_or_else(|| "Booking".into())}</h1>
            <span class=state_badge(&b.state) data-testid="booking-state">{b.state.clone()}</span>
        </div>
        {out_of_place.then(|| view! {
            <p class="callout warn" role="note" data-testid="out-of-place">{OUT_OF_PLACE}</p>
        })}
        <div class="detail-grid">
            <section class="card">
                <h2>"Details"</h2>
                <dl class="facts">
                    <dt>"Id"</dt>
                    <dd><code>{b.id.clone()}</code></dd>
                    <dt>"Graph"</dt>
                    <dd><code>{b.graph.clone()}</code></dd>
                    <dt>"Start"</dt>
                    <dd data-testid="booking-start"><ZonedWhen t=start /></dd>
                    <dt>"End"</dt>
                    <dd data-testid="booking-end"><ZonedWhen t=end /></dd>
                    <dt>"Where"</dt>
                    <dd>{event.as_ref().map(|e| e.where_.clone()).filter(|w| !w.is_empty()).unwrap_or_else(|| "—".into())}</dd>
                    <dt>"Customer"</dt>
                    <dd>{customer.map(|c| format!("{} <{}>", c.name, c.email)).unwrap_or_else(|| "—".into())}</dd>
                    {b.settings.clone().map(|s| view! {
                        <dt>"Seats"</dt>
                        <dd>{format!("{} of {} taken", s.seats_taken, s.max_seats)}</dd>
                    })}
                    {b.related.clone().map(|r| {
                        let href = format!("/apps/{}/bookings/{}", slug.get_untracked(), r.owner_booking_id);
                        view! {
                            <dt>"Group"</dt>
                            <dd><A href=href>"owner booking"</A></dd>
                        }
                    })}
                    <dt>"Completed"</dt>
                    <dd>{if b.completed { "yes (final state)" } else { "no" }}</dd>
                </dl>
            </section>
            <section class="card">
                <h2>"Actions"</h2>
                {if actions.is_empty() {
                    view! { <p class="muted">"This booking is in a final state; no action applies."</p> }.into_any()
                } else {
                    actions
                        .into_iter()
                        .map(|a| {
                            let id = id.clone();
                            let extra = match a.as_str() {
                                "decline" => Some(("message", "Message to the customer")),
                                "pay" => Some(("payment_id", "Payment id")),
                                _ => None,
                            };
                            let danger = a.starts_with("cancel") || a == "decline";
                            view! {
                                <ActionForm action=act attr:class="form inline action-form">
                                    <input type="hidden" name="app" value=move || slug.get() />
                                    <input type="hidden" name="id" value=id.clone() />
                                    <input type="hidden" name="action" value=a.clone() />
                                    {extra.map(|(name, placeholder)| view! {
                                        <input type="text" name=name placeholder=placeholder aria-label=placeholder />
                                    })}
                                    <button type="submit" class=if danger { "btn danger" } else { "btn primary" }>
                                        {a.replace('_', " ")}
                                    </button>
                                </ActionForm>
                            }
                        })
                        .collect_view()
                        .into_any()
                }}
                <FormError err field="" />
                <FormError err field="action" />
            </section>
        </div>
        <section class="card">
            <h2>"Timeline"</h2>
            <ol class="timeline" data-testid="timeline">
                {logs
                    .into_iter()
                    .map(|l| {
                        let detail = l
                            .details
                            .iter()
                            .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default()))
                            .collect::<Vec<_>>()
                            .join(", ");
                        view! {
                            <li>
                                <span class="tl-time">{crate::domain::booking::parse_time(&l.created_at).map(|ms| view! { <When ms /> })}</span>
                                <span class="tl-move">
                                    {l.from.clone().map(|f| view! { <span class=state_badge(&f)>{f.clone()}</span> " → " })}
                                    <span class=state_badge(&l.to)>{l.to.clone()}</span>
                                </span>
                                <span class="muted">
                                    <code>{l.action.clone()}</code>
                                    " by " {l.actor.replace('_', " ")} " " {l.actor_label.clone()}
                                </span>
                                {(!detail.is_empty()).then(|| view! { <span class="tl-detail">{detail}</span> })}
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
        </section>
    }
}
