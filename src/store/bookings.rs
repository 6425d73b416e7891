//! SQL of the booking engine: resources and calendars, bookings, customers, events and the
//! booking log. Writers take a connection inside the caller's transaction.

use super::{now_ms, Db};
use crate::domain::booking::{
    rfc3339, ActorKind, BookingCursor, BookingOut, BookingSettings, CalendarOut, CustomerMatch,
    CustomerOut, EventOut, Includes, LogOut, Related, ResourceOut, Search,
};
use crate::domain::graph::{Action, Graph, State};
use crate::domain::payload::PayloadFormat;
use crate::store::{number_marks, Batch, Conn, DbRow, Val};
use serde_json::{Map, Value};
use sqlx::Row;

/// A UUID that starts with its creation time (version 7): rows of one table are written next
/// to the rows written just before them, in every index on the id, instead of at a random
/// place in it.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn json_map(s: &str) -> Map<String, Value> {
    serde_json::from_str(s).unwrap_or_default()
}

pub use super::begin_write;

// ---------------------------------------------------------------------------------------------
// Resources

fn resource_out(r: &DbRow) -> ResourceOut {
    ResourceOut {
        id: r.get("id"),
        name: r.get("name"),
        email: r.get("email"),
        timezone: r.get("timezone"),
        calendar_id: r.get("calendar_id"),
        created_at: rfc3339(r.get("created_at")),
        updated_at: rfc3339(r.get("updated_at")),
    }
}

const RESOURCE_COLS: &str = "r.id, r.name, r.email, r.timezone, r.created_at, r.updated_at, \
     (SELECT c.id FROM calendars c WHERE c.resource_id = r.id ORDER BY c.created_at LIMIT 1) AS calendar_id";

/// Creates a resource with its calendar.
pub async fn insert_resource(
    conn: &mut Conn,
    app_id: i64,
    name: &str,
    email: Option<&str>,
    timezone: &str,
) -> sqlx::Result<ResourceOut> {
    let now = now_ms();
    let id = new_id();
    let cal = new_id();
    sqlx::query(
        "INSERT INTO resources (id, app_id, name, email, timezone, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(app_id)
    .bind(name)
    .bind(email)
    .bind(timezone)
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO calendars (id, app_id, resource_id, name, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&cal)
    .bind(app_id)
    .bind(&id)
    .bind(name)
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(ResourceOut {
        id,
        name: name.into(),
        email: email.map(str::to_string),
        timezone: timezone.into(),
        calendar_id: cal,
        created_at: rfc3339(now),
        updated_at: rfc3339(now),
    })
}

pub async fn list_resources(db: &Db, app_id: i64) -> sqlx::Result<Vec<ResourceOut>> {
    let rows = sqlx::query(&format!(
        "SELECT {RESOURCE_COLS} FROM resources r WHERE r.app_id = $1 ORDER BY r.created_at, r.id"
    ))
    .bind(app_id)
    .fetch_all(db)
    .await?;
    Ok(rows.iter().map(resource_out).collect())
}

pub async fn resource(conn: &mut Conn, app_id: i64, id: &str) -> sqlx::Result<Option<ResourceOut>> {
    let row = sqlx::query(&format!(
        "SELECT {RESOURCE_COLS} FROM resources r WHERE r.app_id = $1 AND r.id = $2"
    ))
    .bind(app_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(resource_out))
}

/// The resource's IANA time zone, in which the Timekit format writes a booking's times.
pub async fn resource_timezone(conn: &mut Conn, resource_id: &str) -> sqlx::Result<String> {
    let zone: Option<String> = sqlx::query_scalar("SELECT timezone FROM resources WHERE id = $1")
        .bind(resource_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(zone.unwrap_or_else(|| "UTC".into()))
}

/// A calendar's columns (as `c`) under names that do not clash with a resource's.
const CALENDAR_COLS: &str = "c.id AS calendar_id, c.name AS c_name, c.description AS c_description, \
     c.foregroundcolor, c.backgroundcolor, c.created_at AS c_created_at, c.updated_at AS c_updated_at";

fn calendar_out(r: &DbRow) -> CalendarOut {
    CalendarOut {
        id: r.get("calendar_id"),
        provider_id: None,
        provider_access: "owner".into(),
        provider_primary: true,
        provider_sync: None,
        name: r.get("c_name"),
        description: r.get("c_description"),
        foregroundcolor: r.get("foregroundcolor"),
        backgroundcolor: r.get("backgroundcolor"),
        created_at: rfc3339(r.get("c_created_at")),
        updated_at: rfc3339(r.get("c_updated_at")),
    }
}

/// What creating a booking needs, in one statement: the resource, the calendar its event goes
/// into (as the payload shows it), the app's payment window and the webhooks to call.
pub async fn resource_for_booking(
    conn: &mut Conn,
    app_id: i64,
    id: &str,
    graph: &str,
    state: &str,
) -> sqlx::Result<Option<ForBooking>> {
    let hook = "w.payload_format || ':' || w.id || CASE WHEN w.ordered = 0 AND w.rate_limit_per_second IS NULL \
                THEN '' ELSE '!' END";
    let concat = match crate::store::Backend::of_conn(conn) {
        crate::store::Backend::Sqlite => format!("group_concat({hook}, ',')"),
        crate::store::Backend::Postgres => format!("string_agg({hook}, ',')"),
    };
    let row = sqlx::query(&format!(
        "SELECT r.id, r.name, r.email, r.timezone, r.created_at, r.updated_at, {CALENDAR_COLS}, a.payment_window_seconds, \
         (SELECT {concat} FROM webhook_events e JOIN webhooks w ON w.id = e.webhook_id \
          WHERE e.graph = $3 AND e.state = $4 AND w.app_id = $1 AND w.enabled = 1) AS hooks \
         FROM resources r JOIN apps a ON a.id = r.app_id \
         JOIN calendars c ON c.id = (SELECT c2.id FROM calendars c2 WHERE c2.resource_id = r.id \
                                     ORDER BY c2.created_at LIMIT 1) \
         WHERE r.app_id = $1 AND r.id = $2"
    ))
    .bind(app_id)
    .bind(id)
    .bind(graph)
    .bind(state)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    // Each webhook is `format:id`, followed by `!` when it is ordered or rate-limited.
    let mut hooks = r
        .get::<Option<String>, _>("hooks")
        .unwrap_or_default()
        .split(',')
        .filter(|h| !h.is_empty())
        .map(|h| {
            let (format, id) = h.split_once(':').unwrap_or(("", h));
            Ok(Subscriber {
                id: id.trim_end_matches('!').to_string(),
                unpaced: !id.ends_with('!'),
                format: PayloadFormat::parse(format).map_err(|e| sqlx::Error::ColumnDecode {
                    index: "payload_format".into(),
                    source: Box::new(e),
                })?,
            })
        })
        .collect::<sqlx::Result<Vec<Subscriber>>>()?;
    hooks.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Some(ForBooking {
        resource: resource_out(&r),
        calendar: calendar_out(&r),
        payment_window_secs: r.get("payment_window_seconds"),
        hooks,
    }))
}

/// What creating a booking reads before it writes.
#[derive(Clone, Debug)]
pub struct ForBooking {
    pub resource: ResourceOut,
    pub calendar: CalendarOut,
    pub payment_window_secs: i64,
    /// The enabled webhooks of the app subscribed to the state the booking is created in.
    pub hooks: Vec<Subscriber>,
}

/// A webhook subscribed to the state a booking enters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscriber {
    pub id: String,
    /// Neither ordered nor rate-limited: its new messages may go straight to the worker.
    pub unpaced: bool,
    pub format: PayloadFormat,
}

// ---------------------------------------------------------------------------------------------
// Bookings

/// A booking as stored, for the engine.
#[derive(Clone, Debug)]
pub struct BookingRow {
    pub id: String,
    pub app_id: i64,
    pub resource_id: String,
    pub graph: Graph,
    pub state: State,
    pub completed: bool,
    pub start_at: i64,
    pub end_at: i64,
    pub meta: String,
    pub max_seats: Option<i64>,
    pub owner_booking_id: Option<String>,
    pub auto_complete: bool,
    pub due_action: Option<Action>,
    pub due_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const BOOKING_COLS: &str = "id, app_id, resource_id, graph, state, completed, start_at, end_at, \
     meta, max_seats, owner_booking_id, auto_complete, due_action, due_at, created_at, updated_at";

/// A name the database holds, read back as the type it names; a name no version of bookhook
/// wrote is a decoding error, not a booking in an unknown state.
fn named<T, E: std::error::Error + Send + Sync + 'static>(
    r: &DbRow,
    column: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> sqlx::Result<T> {
    parse(r.try_get::<&str, _>(column)?).map_err(|e| sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: Box::new(e),
    })
}

fn booking_row(r: &DbRow) -> sqlx::Result<BookingRow> {
    Ok(BookingRow {
        id: r.get("id"),
        app_id: r.get("app_id"),
        resource_id: r.get("resource_id"),
        graph: named(r, "graph", Graph::parse)?,
        state: named(r, "state", State::parse)?,
        completed: r.get::<i64, _>("completed") != 0,
        start_at: r.get("start_at"),
        end_at: r.get("end_at"),
        meta: r.get("meta"),
        max_seats: r.get("max_seats"),
        owner_booking_id: r.get("owner_booking_id"),
        auto_complete: r.get::<i64, _>("auto_complete") != 0,
        due_action: match r.try_get::<Option<&str>, _>("due_action")? {
            Some(a) => Some(Action::parse(a).map_err(|e| sqlx::Error::ColumnDecode {
                index: "due_action".into(),
                source: Box::new(e),
            })?),
            None => None,
        },
        due_at: r.get("due_at"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    })
}

pub async fn booking(conn: &mut Conn, app_id: i64, id: &str) -> sqlx::Result<Option<BookingRow>> {
    booking_locked(conn, app_id, id, "").await
}

/// The booking, locked until the write transaction ends (on PostgreSQL; SQLite's write
/// transaction already excludes other writers): a transition by another instance waits and
/// then sees the state this one leaves.
pub async fn booking_for_update(
    conn: &mut Conn,
    app_id: i64,
    id: &str,
) -> sqlx::Result<Option<BookingRow>> {
    let lock = crate::store::for_update(conn);
    booking_locked(conn, app_id, id, lock).await
}

async fn booking_locked(
    conn: &mut Conn,
    app_id: i64,
    id: &str,
    lock: &str,
) -> sqlx::Result<Option<BookingRow>> {
    let row = sqlx::query(&format!(
        "SELECT {BOOKING_COLS} FROM bookings WHERE app_id = $1 AND id = $2{lock}"
    ))
    .bind(app_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(booking_row).transpose()
}

pub fn push_booking(batch: &mut Batch, b: &BookingRow) {
    batch.push(
        format!(
            "INSERT INTO bookings ({BOOKING_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ),
        vec![
            (&b.id).into(),
            b.app_id.into(),
            (&b.resource_id).into(),
            b.graph.as_str().into(),
            b.state.as_str().into(),
            b.completed.into(),
            b.start_at.into(),
            b.end_at.into(),
            (&b.meta).into(),
            b.max_seats.into(),
            (&b.owner_booking_id).into(),
            b.auto_complete.into(),
            b.due_action.map(Action::as_str).into(),
            b.due_at.into(),
            b.created_at.into(),
            b.updated_at.into(),
        ],
    );
}

/// Moves a booking from `from` to `to`; false when its state is no longer `from`.
#[allow(clippy::too_many_arguments)]
pub async fn update_state(
    conn: &mut Conn,
    id: &str,
    from: &str,
    to: &str,
    completed: bool,
    due: Option<(&str, i64)>,
    now: i64,
) -> sqlx::Result<bool> {
    let res = sqlx::query(
        "UPDATE bookings SET state = $1, completed = $2, due_action = $3, due_at = $4, updated_at = $5 \
         WHERE id = $6 AND state = $7",
    )
    .bind(to)
    .bind(completed as i64)
    .bind(due.map(|d| d.0))
    .bind(due.map(|d| d.1))
    .bind(now)
    .bind(id)
    .bind(from)
    .execute(&mut *conn)
    .await?;
    Ok(res.rows_affected() == 1)
}

pub async fn update_meta(
    conn: &mut Conn,
    id: &str,
    meta: &Map<String, Value>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE bookings SET meta = $1, updated_at = $2 WHERE id = $3")
        .bind(Value::Object(meta.clone()).to_string())
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes a booking with its customers, event and log (and its seats' link to it).
pub async fn delete_booking(conn: &mut Conn, id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE bookings SET owner_booking_id = NULL WHERE owner_booking_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM bookings WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Seats that hold a place in this owner booking.
pub async fn seats_taken(conn: &mut Conn, owner_id: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM bookings WHERE owner_booking_id = $1 AND \
         ((graph = 'group_customer' AND state IN ('confirmed', 'completed')) OR \
          (graph = 'group_customer_payment' AND state IN ('paid', 'completed')))",
    )
    .bind(owner_id)
    .fetch_one(&mut *conn)
    .await
}

/// Which of these bookings are seats on another resource or at other times than their class, in
/// one query. Seats take their class's place since #16; older seats that did not are left as
/// they were (no migration can know which of the two places the customer meant) and the panel
/// shows them as such.
pub async fn seats_out_of_place(conn: &mut Conn, ids: &[String]) -> sqlx::Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let marks = (1..=ids.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT s.id FROM bookings s JOIN bookings o ON o.id = s.owner_booking_id \
         WHERE s.id IN ({marks}) AND (s.resource_id <> o.resource_id OR s.start_at <> o.start_at \
                                      OR s.end_at <> o.end_at)"
    );
    let mut q = sqlx::query_scalar(&sql);
    for id in ids {
        q = q.bind(id);
    }
    q.fetch_all(&mut *conn).await
}

/// Seat bookings of this owner that are still open (for cancelling them with it).
pub async fn open_seats(conn: &mut Conn, owner_id: &str) -> sqlx::Result<Vec<BookingRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {BOOKING_COLS} FROM bookings WHERE owner_booking_id = $1 AND completed = 0 ORDER BY created_at, id"
    ))
    .bind(owner_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(booking_row).collect()
}

/// Bookings with an engine action due at or before `now`: (app id, booking id).
pub async fn due(db: &Db, now: i64, limit: i64) -> sqlx::Result<Vec<(i64, String)>> {
    let rows = sqlx::query(
        "SELECT app_id, id FROM bookings WHERE due_at IS NOT NULL AND due_at <= $1 \
         ORDER BY due_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("app_id"), r.get("id")))
        .collect())
}

pub async fn next_due_at(db: &Db) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT MIN(due_at) FROM bookings WHERE due_at IS NOT NULL")
        .fetch_one(db)
        .await
}

/// A customer of a new booking, as the API shows it.
#[allow(clippy::too_many_arguments)]
pub fn push_customer(
    batch: &mut Batch,
    booking_id: &str,
    name: &str,
    email: &str,
    phone: Option<&str>,
    voip: Option<&str>,
    timezone: Option<&str>,
    meta: &Map<String, Value>,
    now: i64,
) -> CustomerOut {
    let id = new_id();
    batch.push(
        "INSERT INTO customers (id, booking_id, name, email, phone, voip, timezone, meta, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        vec![
            (&id).into(),
            booking_id.into(),
            name.into(),
            email.into(),
            phone.into(),
            voip.into(),
            timezone.into(),
            Value::Object(meta.clone()).to_string().into(),
            now.into(),
            now.into(),
        ],
    );
    CustomerOut {
        id,
        name: name.to_string(),
        email: email.to_string(),
        phone: phone.map(str::to_string),
        voip: voip.map(str::to_string),
        timezone: timezone.map(str::to_string),
        meta: meta.clone(),
    }
}

/// The event of a new booking, as the API shows it.
#[allow(clippy::too_many_arguments)]
pub fn push_event(
    batch: &mut Batch,
    booking_id: &str,
    calendar_id: &str,
    what: &str,
    where_: &str,
    description: &str,
    start_at: i64,
    end_at: i64,
    now: i64,
) -> EventOut {
    let id = new_id();
    batch.push(
        "INSERT INTO events (id, booking_id, calendar_id, what, \"where\", description, start_at, end_at, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        vec![
            (&id).into(),
            booking_id.into(),
            calendar_id.into(),
            what.into(),
            where_.into(),
            description.into(),
            start_at.into(),
            end_at.into(),
            now.into(),
            now.into(),
        ],
    );
    EventOut {
        id,
        what: what.to_string(),
        where_: where_.to_string(),
        description: description.to_string(),
        rsvp: None,
        all_day: false,
        start: rfc3339(start_at),
        end: rfc3339(end_at),
        created_at: rfc3339(now),
        updated_at: rfc3339(now),
    }
}

#[allow(clippy::too_many_arguments)]
pub fn push_log(
    batch: &mut Batch,
    booking_id: &str,
    from: Option<&str>,
    action: &str,
    to: &str,
    actor_kind: ActorKind,
    actor_id: Option<&str>,
    actor_label: &str,
    details: &Map<String, Value>,
    now: i64,
) {
    batch.push(
        "INSERT INTO booking_logs (booking_id, from_state, action, to_state, actor_kind, actor_id, actor_label, details, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        vec![
            booking_id.into(),
            from.into(),
            action.into(),
            to.into(),
            actor_kind.as_str().into(),
            actor_id.into(),
            actor_label.into(),
            Value::Object(details.clone()).to_string().into(),
            now.into(),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Reading bookings in the API's shape

/// The booking's own fields in the API's shape; the included parts and seats are left empty
/// for the caller to fill.
pub fn booking_shell(b: &BookingRow, includes: Includes, available: Vec<String>) -> BookingOut {
    BookingOut {
        id: b.id.clone(),
        state: b.state.as_str().into(),
        graph: b.graph.as_str().into(),
        completed: b.completed,
        resource_id: b.resource_id.clone(),
        start: rfc3339(b.start_at),
        end: rfc3339(b.end_at),
        meta: json_map(&b.meta),
        settings: None,
        related: b
            .owner_booking_id
            .clone()
            .map(|owner_booking_id| Related { owner_booking_id }),
        created_at: rfc3339(b.created_at),
        updated_at: rfc3339(b.updated_at),
        customers: None,
        event: None,
        calendar: None,
        available_actions: includes.available_actions.then_some(available),
        logs: None,
    }
}

/// The booking with what `includes` asks for; `available` lists its available actions.
pub async fn booking_out(
    conn: &mut Conn,
    b: &BookingRow,
    includes: Includes,
    available: Vec<String>,
) -> sqlx::Result<BookingOut> {
    let mut out = booking_shell(b, includes, available);
    if let Some(max) = b.max_seats {
        out.settings = Some(BookingSettings {
            max_seats: max,
            seats_taken: seats_taken(conn, &b.id).await?,
        });
    }
    if includes.customers {
        let rows = sqlx::query(
            "SELECT id, name, email, phone, voip, timezone, meta FROM customers \
             WHERE booking_id = $1 ORDER BY created_at, id",
        )
        .bind(&b.id)
        .fetch_all(&mut *conn)
        .await?;
        out.customers = Some(
            rows.iter()
                .map(|r| CustomerOut {
                    id: r.get("id"),
                    name: r.get("name"),
                    email: r.get("email"),
                    phone: r.get("phone"),
                    voip: r.get("voip"),
                    timezone: r.get("timezone"),
                    meta: json_map(r.get::<&str, _>("meta")),
                })
                .collect(),
        );
    }
    if includes.event || includes.calendar {
        let ev = sqlx::query(
            "SELECT id, calendar_id, what, \"where\", description, all_day, start_at, end_at, created_at, updated_at \
             FROM events WHERE booking_id = $1",
        )
        .bind(&b.id)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(ev) = ev {
            let calendar_id: String = ev.get("calendar_id");
            if includes.event {
                out.event = Some(EventOut {
                    id: ev.get("id"),
                    what: ev.get("what"),
                    where_: ev.get("where"),
                    description: ev.get("description"),
                    rsvp: None,
                    all_day: ev.get::<i64, _>("all_day") != 0,
                    start: rfc3339(ev.get("start_at")),
                    end: rfc3339(ev.get("end_at")),
                    created_at: rfc3339(ev.get("created_at")),
                    updated_at: rfc3339(ev.get("updated_at")),
                });
            }
            if includes.calendar {
                let c = sqlx::query(&format!(
                    "SELECT {CALENDAR_COLS} FROM calendars c WHERE c.id = $1"
                ))
                .bind(&calendar_id)
                .fetch_optional(&mut *conn)
                .await?;
                out.calendar = c.as_ref().map(calendar_out);
            }
        }
    }
    if includes.logs {
        let rows = sqlx::query(
            "SELECT from_state, action, to_state, actor_kind, actor_label, details, created_at \
             FROM booking_logs WHERE booking_id = $1 ORDER BY id",
        )
        .bind(&b.id)
        .fetch_all(&mut *conn)
        .await?;
        out.logs = Some(
            rows.iter()
                .map(|r| LogOut {
                    from: r.get("from_state"),
                    action: r.get("action"),
                    to: r.get("to_state"),
                    actor: r.get("actor_kind"),
                    actor_label: r.get("actor_label"),
                    details: json_map(r.get::<&str, _>("details")),
                    created_at: rfc3339(r.get("created_at")),
                })
                .collect(),
        );
    }
    Ok(out)
}

/// Which of the bookings that match to read, newest first by (created, id).
#[derive(Clone, Copy, Debug)]
pub enum Window<'a> {
    /// Page `page` (from 1) of `per_page`: the API's paging, as Timekit's.
    Page { page: i64, per_page: i64 },
    /// Up to `limit` rows after the cursor (keyset paging, the panel's): a deep page costs
    /// what the first does.
    After {
        cursor: Option<&'a BookingCursor>,
        limit: i64,
    },
}

/// The condition a search puts on `bookings b`, with `?` marks and their values. Only the
/// parts in use reach the SQL, so the planner can pick the index that fits them.
fn search_condition(app_id: i64, s: &Search) -> (Vec<String>, Vec<Val>) {
    let mut cond = vec!["b.app_id = ?".to_string()];
    let mut args: Vec<Val> = vec![app_id.into()];
    let mut eq = |column: &str, v: Option<&str>| {
        if let Some(v) = v {
            cond.push(format!("{column} = ?"));
            args.push(v.into());
        }
    };
    eq("b.graph", s.graph.map(Graph::as_str));
    eq("b.state", s.state.map(State::as_str));
    eq("b.id", s.id.as_deref());
    eq("b.resource_id", s.resource.as_deref());
    if let Some(m) = &s.message {
        cond.push(
            "b.id IN (SELECT d.booking_id FROM deliveries d WHERE d.msg_id = ? AND d.app_id = ?)"
                .into(),
        );
        args.push(m.into());
        args.push(app_id.into());
    }
    match &s.customer {
        None => {}
        // customers_email (lower(email), booking_id) answers this from the index.
        Some(CustomerMatch::Email(e)) => {
            cond.push(
                "b.id IN (SELECT c.booking_id FROM customers c WHERE lower(c.email) = ?)".into(),
            );
            args.push(e.into());
        }
        Some(CustomerMatch::Text(t)) => {
            cond.push(
                "EXISTS (SELECT 1 FROM customers c WHERE c.booking_id = b.id AND \
                 (lower(c.name) LIKE ? ESCAPE '\\' OR lower(c.email) LIKE ? ESCAPE '\\'))"
                    .into(),
            );
            let pattern = format!("%{}%", like_escape(t));
            args.push((&pattern).into());
            args.push(pattern.into());
        }
    }
    let (from, to) = s.start_bounds();
    if let Some(from) = from {
        cond.push("b.start_at >= ?".into());
        args.push(from.into());
    }
    if let Some(to) = to {
        cond.push("b.start_at < ?".into());
        args.push(to.into());
    }
    (cond, args)
}

/// `50%_off` → `50\%\_off`: the text matched as it is inside a LIKE pattern.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    args: Vec<Val>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for a in args {
        q = match a {
            Val::Int(i) => q.bind(i),
            Val::Text(t) => q.bind(t),
        };
    }
    q
}

/// The app's bookings that match the search, newest first, in the window asked for.
pub async fn find_bookings(
    db: &Db,
    app_id: i64,
    search: &Search,
    window: Window<'_>,
) -> sqlx::Result<Vec<BookingRow>> {
    let (mut cond, mut args) = search_condition(app_id, search);
    let (limit, offset) = match window {
        Window::Page { page, per_page } => (per_page, (page - 1) * per_page),
        Window::After { cursor, limit } => {
            if let Some(c) = cursor {
                // bookings_app_created (app_id, created_at DESC, id DESC) walks on from here.
                cond.push("(b.created_at, b.id) < (?, ?)".into());
                args.push(c.created_at.into());
                args.push((&c.id).into());
            }
            (limit, 0)
        }
    };
    let cols = BOOKING_COLS
        .split(", ")
        .map(|c| format!("b.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    args.push(limit.into());
    args.push(offset.into());
    let sql = number_marks(&format!(
        "SELECT {cols} FROM bookings b WHERE {} \
         ORDER BY b.created_at DESC, b.id DESC LIMIT ? OFFSET ?",
        cond.join(" AND ")
    ));
    let rows = bind_all(sqlx::query(&sql), args).fetch_all(db).await?;
    rows.iter().map(booking_row).collect()
}

/// How many of the app's bookings match the search (the API's `total`).
pub async fn count_bookings(db: &Db, app_id: i64, search: &Search) -> sqlx::Result<i64> {
    let (cond, args) = search_condition(app_id, search);
    let sql = number_marks(&format!(
        "SELECT COUNT(*) FROM bookings b WHERE {}",
        cond.join(" AND ")
    ));
    let row = bind_all(sqlx::query(&sql), args).fetch_one(db).await?;
    row.try_get(0)
}

/// A booking's event texts: what, where and description (a seat takes its class's).
pub async fn event_texts(
    conn: &mut Conn,
    booking_id: &str,
) -> sqlx::Result<Option<(String, String, String)>> {
    let r = sqlx::query("SELECT what, \"where\", description FROM events WHERE booking_id = $1")
        .bind(booking_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(r.map(|r| (r.get("what"), r.get("where"), r.get("description"))))
}

/// The app's payment window: how long an unpaid booking waits for its payment.
pub async fn payment_window_secs(conn: &mut Conn, app_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT payment_window_seconds FROM apps WHERE id = $1")
        .bind(app_id)
        .fetch_one(&mut *conn)
        .await
}

/// Forgets a booking's due action (it no longer fits the booking's state).
pub async fn clear_due(conn: &mut Conn, booking_id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE bookings SET due_action = NULL, due_at = NULL WHERE id = $1")
        .bind(booking_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
