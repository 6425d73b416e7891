//! What every panel server function starts with: the shared state, the signed-in user and the
//! app named in the URL.

use crate::auth::SESSION_USER_KEY;
use crate::engine::EngineError;
use crate::error::{PanelError, PanelResult};
use crate::state::AppState;
use crate::store::{self, AppRow, UserRow};
use leptos::prelude::use_context;
use tower_sessions::Session;

pub fn state() -> PanelResult<AppState> {
    use_context::<AppState>().ok_or_else(|| PanelError::internal("AppState is not in the context"))
}

pub async fn session() -> PanelResult<Session> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(PanelError::internal)
}

/// The signed-in user, or 401.
pub async fn user() -> PanelResult<(AppState, UserRow)> {
    let st = state()?;
    let uid: Option<i64> = session()
        .await?
        .get(SESSION_USER_KEY)
        .await
        .map_err(PanelError::internal)?;
    let uid = uid.ok_or_else(PanelError::unauthorized)?;
    let user = store::user_by_id(&st.db, uid)
        .await?
        .ok_or_else(PanelError::unauthorized)?;
    Ok((st, user))
}

/// The signed-in user and the app with this slug; 401 first, then 404.
pub async fn user_and_app(slug: &str) -> PanelResult<(AppState, UserRow, AppRow)> {
    let (st, user) = user().await?;
    let app = store::app_by_slug(&st.db, slug)
        .await?
        .ok_or_else(|| PanelError::not_found(&format!("The app '{slug}'")))?;
    Ok((st, user, app))
}

/// Whether the session belongs to an account that still exists (for the routes that are not
/// server functions: the page guard and the live log).
pub async fn is_signed_in(st: &AppState, session: &Session) -> bool {
    let uid: Option<i64> = session.get(SESSION_USER_KEY).await.ok().flatten();
    match uid {
        Some(id) => matches!(store::user_by_id(&st.db, id).await, Ok(Some(_))),
        None => false,
    }
}

/// Where a signed-in person lands: the first app's bookings.
pub async fn landing_path(st: &AppState) -> PanelResult<String> {
    let apps = store::list_apps(&st.db).await?;
    Ok(match apps.first() {
        Some(a) => format!("/apps/{}/bookings", a.slug),
        None => "/apps/_/settings".into(),
    })
}

/// An engine refusal as the panel shows it: the same message, on the same field, as the API's.
pub fn from_engine(e: EngineError) -> PanelError {
    match e {
        EngineError::Invalid { field, message } => PanelError::field(&field, message),
        EngineError::NotFound(what) => PanelError::not_found(what),
        EngineError::Transition(t) => PanelError::field("action", t.to_string()),
        EngineError::Conflict(m) => PanelError::conflict(None, m),
        EngineError::Unavailable => PanelError::unavailable(),
        EngineError::Db(e) => e.into(),
    }
}
