//! Bookings: creating one (checked against the data, its rows gathered for the group's
//! transaction), applying an action (the one place a booking changes state, with its log row
//! and its outbox), meta and deletion, and the due actions the scheduler applies.

use super::error::EngineError;
use super::handoff::Handoff;
use crate::domain::booking::{
    next_due, rfc3339, ActorKind, BookingOut, BookingSettings, Includes, LogOut,
};
use crate::domain::graph::{Action, Graph, State, TransitionError};
use crate::domain::payload::{render, PayloadFormat};
use crate::store::bookings::{self as sb, BookingRow};
use crate::store::webhooks as sw;
use crate::store::Conn;
use crate::store::{now_ms, AppRow, Batch, Db};
use serde_json::{Map, Value};
use std::collections::hash_map::Entry;
use std::collections::HashMap;

/// Who applied an action, as the booking log records it.
#[derive(Clone, Debug)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<String>,
    pub label: String,
}

impl Actor {
    pub fn engine() -> Self {
        Self {
            kind: ActorKind::Engine,
            id: None,
            label: "bookhook".into(),
        }
    }
    pub fn admin(user_id: i64, email: &str) -> Self {
        Self {
            kind: ActorKind::Admin,
            id: Some(user_id.to_string()),
            label: email.into(),
        }
    }
    pub fn api_key(key_id: i64, label: &str) -> Self {
        Self {
            kind: ActorKind::ApiKey,
            id: Some(key_id.to_string()),
            label: label.into(),
        }
    }
}

pub struct NewCustomer {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub voip: Option<String>,
    pub timezone: Option<String>,
    pub meta: Map<String, Value>,
}

/// A booking to create, already checked for shape (see `check`).
pub struct NewBooking {
    /// `None` (and so for the times, what, where and description) only for a seat, which
    /// takes its class's.
    pub resource_id: Option<String>,
    pub graph: Graph,
    pub action: Action,
    pub start_at: Option<i64>,
    pub end_at: Option<i64>,
    pub what: Option<String>,
    pub where_: Option<String>,
    pub description: Option<String>,
    pub customer: Option<NewCustomer>,
    pub meta: Map<String, Value>,
    pub max_seats: Option<i64>,
    pub owner_booking_id: Option<String>,
    pub auto_complete: bool,
}

/// The booking in the API's shape, with `includes`.
pub async fn booking_out(
    conn: &mut Conn,
    b: &BookingRow,
    includes: Includes,
) -> sqlx::Result<BookingOut> {
    let available = available_actions(b);
    sb::booking_out(conn, b, includes, available).await
}

/// The actions a caller may apply now (engine-only ones left out).
pub fn available_actions(b: &BookingRow) -> Vec<String> {
    b.graph
        .api_actions(b.state)
        .into_iter()
        .map(|a| a.as_str().to_string())
        .collect()
}

async fn payment_window_ms(conn: &mut Conn, app_id: i64) -> sqlx::Result<i64> {
    Ok(sb::payment_window_secs(conn, app_id).await? * 1000)
}

/// Creates a booking in a transaction of its own, its new messages handed to the worker as
/// `handoff` allows.
pub async fn create_booking_handing(
    db: &Db,
    mut handoff: Handoff,
    app: &AppRow,
    nb: NewBooking,
    actor: &Actor,
) -> Result<BookingOut, EngineError> {
    let mut tx = sb::begin_write(db).await?;
    let (batch, out) = prepare_booking(
        &mut tx,
        &mut ReadCache::default(),
        &mut handoff,
        app,
        &nb,
        actor,
    )
    .await?;
    let rows = tx.commit_with(batch.merge_inserts()).await?;
    handoff.committed(&rows);
    Ok(out)
}

/// What creating a booking reads of its resource (with its calendar, the app's payment window
/// and the webhooks subscribed to the state it is created in), kept for the other bookings
/// created in the same transaction. On SQLite nothing else writes meanwhile; on PostgreSQL a
/// change committed meanwhile reaches the next group, as it would a single booking whose
/// transaction had already read.
#[derive(Default)]
pub(crate) struct ReadCache {
    for_booking: HashMap<(i64, String, &'static str, &'static str), Option<sb::ForBooking>>,
}

/// Checks a new booking against the data and returns every write that creates it (nothing is
/// written yet) with the booking as the API shows it. A refusal leaves nothing to undo. Reads
/// see the transaction's earlier writes only once they have run: a seat booking reads its group.
pub(crate) async fn prepare_booking(
    tx: &mut Conn,
    cache: &mut ReadCache,
    handoff: &mut Handoff,
    app: &AppRow,
    nb: &NewBooking,
    actor: &Actor,
) -> Result<(Batch, BookingOut), EngineError> {
    let now = now_ms();
    let state = nb.graph.create(nb.action)?;
    let owner = match (nb.graph, &nb.owner_booking_id) {
        (Graph::GroupCustomer | Graph::GroupCustomerPayment, None) => {
            return Err(EngineError::invalid(
                "related.owner_booking_id",
                "A seat booking needs related.owner_booking_id: the id of its group_owner booking.",
            ))
        }
        (Graph::GroupCustomer | Graph::GroupCustomerPayment, Some(owner_id)) => {
            let owner = sb::booking_for_update(&mut *tx, app.id, owner_id)
                .await?
                .ok_or_else(|| {
                    EngineError::invalid(
                        "related.owner_booking_id",
                        "No booking with this id exists in this app.",
                    )
                })?;
            if owner.graph != Graph::GroupOwner {
                return Err(EngineError::invalid(
                    "related.owner_booking_id",
                    "The related booking is not a group_owner booking.",
                ));
            }
            if owner.completed {
                return Err(EngineError::Conflict(format!(
                    "The group booking is {}; it takes no more seats.",
                    owner.state
                )));
            }
            Some(owner)
        }
        _ => None,
    };
    let place = match &owner {
        Some(owner) => seat_place(&mut *tx, owner, nb).await?,
        None => Place::of(nb)?,
    };
    let key = (
        app.id,
        place.resource_id.clone(),
        nb.graph.as_str(),
        state.as_str(),
    );
    let found = match cache.for_booking.get(&key) {
        Some(found) => found.clone(),
        None => {
            let found = sb::resource_for_booking(
                &mut *tx,
                app.id,
                &place.resource_id,
                nb.graph.as_str(),
                state.as_str(),
            )
            .await?;
            cache.for_booking.insert(key, found.clone());
            found
        }
    };
    let sb::ForBooking {
        resource,
        calendar,
        payment_window_secs: window_secs,
        hooks,
    } = found.ok_or_else(|| {
        EngineError::invalid(
            "resource_id",
            "No resource with this id exists in this app.",
        )
    })?;

    if nb.graph == Graph::GroupCustomer {
        if let Some(owner) = &owner {
            ensure_free_seat(&mut *tx, owner).await?;
        }
    }

    let due = next_due(
        nb.graph,
        state,
        nb.auto_complete,
        place.end_at,
        now,
        window_secs * 1000,
    );
    let b = BookingRow {
        id: sb::new_id(),
        app_id: app.id,
        resource_id: resource.id.clone(),
        graph: nb.graph,
        state,
        completed: nb.graph.is_final(state),
        start_at: place.start_at,
        end_at: place.end_at,
        meta: Value::Object(nb.meta.clone()).to_string(),
        max_seats: nb.max_seats,
        owner_booking_id: owner.map(|o| o.id),
        auto_complete: nb.auto_complete,
        due_action: due.map(|d| d.0),
        due_at: due.map(|d| d.1),
        created_at: now,
        updated_at: now,
    };
    // Every write of the booking goes in one batch: on SQLite one hand-off to the database.
    let mut batch = Batch::default();
    sb::push_booking(&mut batch, &b);
    // The booking as the API shows it is built from what is written, not read back: a new
    // booking's parts are exactly these.
    let mut customers = Vec::new();
    if let Some(c) = &nb.customer {
        let customer = sb::push_customer(
            &mut batch,
            &b.id,
            &c.name,
            &c.email,
            c.phone.as_deref(),
            c.voip.as_deref(),
            c.timezone.as_deref(),
            &c.meta,
            now,
        );
        customers.push(customer);
    }
    let event = sb::push_event(
        &mut batch,
        &b.id,
        &resource.calendar_id,
        &place.what,
        &place.where_,
        &place.description,
        place.start_at,
        place.end_at,
        now,
    );
    sb::push_log(
        &mut batch,
        &b.id,
        None,
        nb.action.as_str(),
        b.state.as_str(),
        actor.kind,
        actor.id.as_deref(),
        &actor.label,
        &Map::new(),
        now,
    );
    let mut payload = sb::booking_shell(&b, Includes::PAYLOAD, vec![]);
    if let Some(max) = b.max_seats {
        // A group is created with no seats taken.
        payload.settings = Some(BookingSettings {
            max_seats: max,
            seats_taken: 0,
        });
    }
    payload.customers = Some(customers);
    payload.event = Some(event);
    payload.calendar = Some(calendar);
    enqueue(
        &mut *tx,
        &mut batch,
        &b,
        nb.action,
        Some((&payload, &resource.timezone, hooks)),
        Some(handoff),
    )
    .await?;
    let mut out = payload;
    out.available_actions = Some(available_actions(&b));
    out.logs = Some(vec![LogOut {
        from: None,
        action: nb.action.as_str().to_string(),
        to: b.state.as_str().into(),
        actor: actor.kind.as_str().to_string(),
        actor_label: actor.label.clone(),
        details: Map::new(),
        created_at: rfc3339(now),
    }]);
    Ok((batch, out))
}

/// The outbox: one delivery per enabled webhook of the app subscribed to the state the booking
/// has just entered, with the booking as `GET /v2/bookings/:id?include=customers,event,calendar`
/// shows it now. Runs inside the transition's transaction, so both commit or neither does.
/// `known`: the booking with customers, event and calendar, its resource's time zone, and the
/// webhooks subscribed to its state, when the caller has them at hand.
/// `handoff`: where messages to webhooks that are neither ordered nor rate-limited are claimed
/// for this process's worker as they are written, when it has room for them.
async fn enqueue(
    conn: &mut Conn,
    batch: &mut Batch,
    b: &BookingRow,
    action: Action,
    known: Option<(&BookingOut, &str, Vec<sb::Subscriber>)>,
    mut handoff: Option<&mut Handoff>,
) -> Result<usize, EngineError> {
    let (read, read_zone);
    let (booking, zone, hooks) = match known {
        Some(k) => k,
        None => {
            let hooks = sw::matching(conn, b.app_id, b.graph.as_str(), b.state.as_str()).await?;
            if hooks.is_empty() {
                return Ok(0);
            }
            read = sb::booking_out(conn, b, Includes::PAYLOAD, vec![]).await?;
            read_zone = if hooks.iter().any(|(_, f)| *f == PayloadFormat::Timekit) {
                sb::resource_timezone(conn, &b.resource_id).await?
            } else {
                String::new()
            };
            let hooks = hooks
                .into_iter()
                .map(|(id, format)| sb::Subscriber {
                    id,
                    unpaced: false,
                    format,
                })
                .collect();
            (&read, read_zone.as_str(), hooks)
        }
    };
    if hooks.is_empty() {
        return Ok(0);
    }
    // Each format the subscribers ask for is written once.
    let mut payloads: HashMap<PayloadFormat, String> = HashMap::new();
    for hook in &hooks {
        let payload = match payloads.entry(hook.format) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(render(hook.format, booking, zone).map_err(|e| {
                EngineError::Conflict(format!("the payload could not be written: {e}"))
            })?),
        };
        let payload = payload.as_str();
        let msg_id = crate::auth::generate_msg_id();
        let claimed_until = match (&mut handoff, hook.unpaced) {
            (Some(h), true) => h.take(&msg_id, b.app_id, &hook.id, payload),
            _ => None,
        };
        sw::push_delivery(
            batch,
            &sw::NewDelivery {
                msg_id: &msg_id,
                app_id: b.app_id,
                webhook_id: &hook.id,
                booking_id: &b.id,
                graph: b.graph.as_str(),
                state: b.state.as_str(),
                action: action.as_str(),
                payload,
                is_test: false,
                now: b.updated_at,
                claimed_until,
            },
        );
    }
    Ok(hooks.len())
}

/// Where and when a new booking is, and what it says.
struct Place {
    resource_id: String,
    start_at: i64,
    end_at: i64,
    what: String,
    where_: String,
    description: String,
}

impl Place {
    /// A booking that is not a seat names its own (`check` made sure of it).
    fn of(nb: &NewBooking) -> Result<Place, EngineError> {
        let missing = |field: &str| EngineError::invalid(field, format!("{field} is required."));
        Ok(Place {
            resource_id: nb
                .resource_id
                .clone()
                .ok_or_else(|| missing("resource_id"))?,
            start_at: nb.start_at.ok_or_else(|| missing("start"))?,
            end_at: nb.end_at.ok_or_else(|| missing("end"))?,
            what: nb.what.clone().ok_or_else(|| missing("what"))?,
            where_: nb.where_.clone().unwrap_or_default(),
            description: nb.description.clone().unwrap_or_default(),
        })
    }
}

/// A seat is a place in its class: it takes the class's resource (so its calendar), times,
/// what and where. A seat that names any of them must name the class's own; its description
/// may be its own.
async fn seat_place(
    conn: &mut Conn,
    owner: &BookingRow,
    nb: &NewBooking,
) -> Result<Place, EngineError> {
    let (what, where_, description) = sb::event_texts(conn, &owner.id).await?.unwrap_or_default();
    let differs = |field: &str, of: &str| {
        EngineError::invalid(
            field,
            format!("A seat takes its class's {of}: leave {field} out, or give the class's own."),
        )
    };
    if nb
        .resource_id
        .as_ref()
        .is_some_and(|r| *r != owner.resource_id)
    {
        return Err(differs("resource_id", "resource"));
    }
    if nb.start_at.is_some_and(|t| t != owner.start_at) {
        return Err(differs("start", "start time"));
    }
    if nb.end_at.is_some_and(|t| t != owner.end_at) {
        return Err(differs("end", "end time"));
    }
    if nb.what.as_ref().is_some_and(|w| *w != what) {
        return Err(differs("what", "title (what)"));
    }
    if nb.where_.as_ref().is_some_and(|w| *w != where_) {
        return Err(differs("where", "place (where)"));
    }
    Ok(Place {
        resource_id: owner.resource_id.clone(),
        start_at: owner.start_at,
        end_at: owner.end_at,
        what,
        where_,
        description: nb.description.clone().unwrap_or(description),
    })
}

async fn ensure_free_seat(conn: &mut Conn, owner: &BookingRow) -> Result<(), EngineError> {
    let max = owner.max_seats.unwrap_or(0);
    let taken = sb::seats_taken(conn, &owner.id).await?;
    if taken >= max {
        return Err(EngineError::Conflict(format!(
            "No free seat: all {max} seats of this group booking are taken."
        )));
    }
    Ok(())
}

pub(super) async fn apply_action(
    db: &Db,
    app_id: i64,
    booking_id: &str,
    action: Action,
    details: Map<String, Value>,
    actor: &Actor,
) -> Result<BookingOut, EngineError> {
    let mut tx = sb::begin_write(db).await?;
    let now = now_ms();
    // Rows are locked owner first, then seat, everywhere (cancelling a group locks the owner,
    // then its seats), so a seat's payment and its group's cancellation never deadlock on
    // PostgreSQL: a seat's owner is locked before the seat itself.
    if crate::store::Backend::of_conn(&tx) == crate::store::Backend::Postgres {
        if let Some(owner_id) = sb::booking(&mut tx, app_id, booking_id)
            .await?
            .and_then(|seat| seat.owner_booking_id)
        {
            sb::booking_for_update(&mut tx, app_id, &owner_id).await?;
        }
    }
    let b = sb::booking_for_update(&mut tx, app_id, booking_id)
        .await?
        .ok_or(EngineError::NotFound("The booking"))?;
    let (graph, state) = (b.graph, b.state);
    let to = if action.is_engine_only() && actor.kind != ActorKind::Engine {
        // The engine applies it by itself; callers get the same refusal as for any
        // action the state does not allow, listing what they may do.
        Err(TransitionError {
            graph,
            from: Some(state),
            action,
            allowed: graph.api_actions(state),
        })
    } else {
        graph.apply(state, action)
    }?;
    if graph == Graph::GroupCustomerPayment && action == Action::Pay {
        if let Some(owner_id) = &b.owner_booking_id {
            if let Some(owner) = sb::booking_for_update(&mut tx, app_id, owner_id).await? {
                ensure_free_seat(&mut tx, &owner).await?;
            }
        }
    }
    let window = payment_window_ms(&mut tx, app_id).await?;
    transition(&mut tx, &b, action, to, &details, actor, now, window).await?;
    if graph == Graph::GroupOwner && to == State::Cancelled {
        for seat in sb::open_seats(&mut tx, &b.id).await? {
            if let Ok(seat_to) = seat.graph.apply(seat.state, Action::CancelByOwner) {
                transition(
                    &mut tx,
                    &seat,
                    Action::CancelByOwner,
                    seat_to,
                    &Map::new(),
                    actor,
                    now,
                    window,
                )
                .await?;
            }
        }
    }
    let b = sb::booking_for_update(&mut tx, app_id, booking_id)
        .await?
        .ok_or(EngineError::NotFound("The booking"))?;
    let out = booking_out(&mut tx, &b, Includes::ALL).await?;
    tx.commit().await?;
    Ok(out)
}

/// The one place a booking changes state: the row, its next due action, the log row and the
/// outbox.
#[allow(clippy::too_many_arguments)]
async fn transition(
    conn: &mut Conn,
    b: &BookingRow,
    action: Action,
    to: State,
    details: &Map<String, Value>,
    actor: &Actor,
    now: i64,
    payment_window_ms: i64,
) -> Result<(), EngineError> {
    let (graph, from) = (b.graph, b.state);
    let due = next_due(graph, to, b.auto_complete, b.end_at, now, payment_window_ms);
    let moved = sb::update_state(
        conn,
        &b.id,
        from.as_str(),
        to.as_str(),
        graph.is_final(to),
        due.map(|(a, t)| (a.as_str(), t)),
        now,
    )
    .await?;
    if !moved {
        return Err(EngineError::Conflict(
            "The booking changed while this action was applied; try again.".into(),
        ));
    }
    let mut batch = Batch::default();
    sb::push_log(
        &mut batch,
        &b.id,
        Some(from.as_str()),
        action.as_str(),
        to.as_str(),
        actor.kind,
        actor.id.as_deref(),
        &actor.label,
        details,
        now,
    );
    let after = BookingRow {
        state: to,
        completed: graph.is_final(to),
        due_action: due.map(|(a, _)| a),
        due_at: due.map(|(_, t)| t),
        updated_at: now,
        ..b.clone()
    };
    enqueue(conn, &mut batch, &after, action, None, None).await?;
    batch.run(conn).await?;
    Ok(())
}

pub(super) async fn update_meta(
    db: &Db,
    app_id: i64,
    booking_id: &str,
    meta: Map<String, Value>,
) -> Result<BookingOut, EngineError> {
    let mut tx = sb::begin_write(db).await?;
    let now = now_ms();
    let mut b = sb::booking_for_update(&mut tx, app_id, booking_id)
        .await?
        .ok_or(EngineError::NotFound("The booking"))?;
    sb::update_meta(&mut tx, booking_id, &meta, now).await?;
    b.meta = Value::Object(meta).to_string();
    b.updated_at = now;
    let out = booking_out(&mut tx, &b, Includes::ALL).await?;
    tx.commit().await?;
    Ok(out)
}

pub(super) async fn delete_booking(
    db: &Db,
    app_id: i64,
    booking_id: &str,
) -> Result<(), EngineError> {
    let mut tx = sb::begin_write(db).await?;
    let b = sb::booking_for_update(&mut tx, app_id, booking_id)
        .await?
        .ok_or(EngineError::NotFound("The booking"))?;
    if !b.completed {
        return Err(EngineError::Conflict(format!(
            "Only bookings in a final state can be deleted; this one is {}.",
            b.state
        )));
    }
    sb::delete_booking(&mut tx, booking_id).await?;
    tx.commit().await?;
    Ok(())
}

/// Applies every engine action due at `now` (at most `limit`), each in its own transaction. A
/// booking whose due action no longer fits its state only loses the due mark. Returns the app
/// of each action applied.
pub(super) async fn run_due(db: &Db, now: i64, limit: i64) -> Result<Vec<i64>, EngineError> {
    let mut applied = Vec::new();
    for (app_id, id) in sb::due(db, now, limit).await? {
        let mut tx = sb::begin_write(db).await?;
        let Some(b) = sb::booking_for_update(&mut tx, app_id, &id).await? else {
            continue;
        };
        // Re-read under the write lock: another instance or step may have applied it.
        let (Some(action), Some(due_at)) = (b.due_action, b.due_at) else {
            continue;
        };
        if due_at > now {
            continue;
        }
        match b.graph.apply(b.state, action) {
            Ok(to) => {
                let window = payment_window_ms(&mut tx, app_id).await?;
                transition(
                    &mut tx,
                    &b,
                    action,
                    to,
                    &Map::new(),
                    &Actor::engine(),
                    now,
                    window,
                )
                .await?;
                applied.push(app_id);
            }
            Err(_) => {
                sb::clear_due(&mut tx, &b.id).await?;
            }
        }
        tx.commit().await?;
    }
    Ok(applied)
}
