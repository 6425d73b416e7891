//! First-run setup (the first admin account), sign-in and sign-out.

use crate::error::PanelResult;
use crate::ui::widgets::FormError;
use leptos::prelude::*;
use leptos_meta::Title;

#[cfg(feature = "ssr")]
mod ssr {
    use crate::auth::SESSION_USER_KEY;
    use crate::error::{PanelError, PanelResult};
    use crate::panel;
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;

    /// Starts a fresh session for this user: a new id, so a session id planted before
    /// sign-in is worthless after it.
    pub async fn begin_session(user_id: i64) -> PanelResult<()> {
        let session = panel::session().await?;
        session.cycle_id().await.map_err(PanelError::internal)?;
        session
            .insert(SESSION_USER_KEY, user_id)
            .await
            .map_err(PanelError::internal)?;
        Ok(())
    }

    pub async fn client_ip() -> std::net::IpAddr {
        leptos_axum::extract::<ConnectInfo<SocketAddr>>()
            .await
            .map(|ConnectInfo(a)| a.ip())
            .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]))
    }
}

/// Creates the first admin account (and the Demo app); refused once any account exists.
#[server(prefix = "/api", endpoint = "create_first_admin")]
pub async fn create_first_admin(email: String, password: String) -> PanelResult<()> {
    use crate::error::PanelError;
    use crate::{auth, panel, store};
    let st = panel::state()?;
    if store::count_users(&st.db).await? > 0 {
        return Err(PanelError::conflict(
            None,
            "This installation already has an admin account. Sign in instead.",
        ));
    }
    let email = auth::validate_email(&email).map_err(|m| PanelError::field("email", m))?;
    auth::validate_new_password(&password).map_err(|m| PanelError::field("password", m))?;
    let hash = auth::hash_password(password)
        .await
        .map_err(PanelError::internal)?;
    match store::create_first_admin(&st.db, &email, &hash).await? {
        store::FirstAdmin::Created { user_id } => {
            tracing::info!(user_id, "first admin account created");
            ssr::begin_session(user_id).await?;
            leptos_axum::redirect(&panel::landing_path(&st).await?);
            Ok(())
        }
        store::FirstAdmin::AlreadySetUp => Err(PanelError::conflict(
            None,
            "This installation already has an admin account. Sign in instead.",
        )),
    }
}

#[server(prefix = "/api", endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String) -> PanelResult<()> {
    use crate::error::PanelError;
    use crate::{auth, panel, store};
    let st = panel::state()?;
    let ip = ssr::client_ip().await;
    if let Err(wait) = st.throttle.check(ip) {
        return Err(PanelError::too_many(format!(
            "Too many failed sign-in attempts. Try again in {wait} seconds."
        )));
    }
    let email = email.trim().to_lowercase();
    let found = store::credentials_by_email(&st.db, &email).await?;
    let (user_id, hash) = match found {
        Some((id, h)) => (Some(id), Some(h)),
        None => (None, None),
    };
    let ok = auth::verify_password(password, hash).await;
    match (ok, user_id) {
        (true, Some(user_id)) => {
            st.throttle.succeeded(ip);
            ssr::begin_session(user_id).await?;
            leptos_axum::redirect(&panel::landing_path(&st).await?);
            Ok(())
        }
        _ => {
            st.throttle.failed(ip);
            tracing::info!(%ip, "failed sign-in");
            Err(PanelError::field(
                "password",
                "Incorrect email or password.",
            ))
        }
    }
}

#[server(prefix = "/api", endpoint = "sign_out")]
pub async fn sign_out() -> PanelResult<()> {
    use crate::error::PanelError;
    use crate::panel;
    let session = panel::session().await?;
    session.flush().await.map_err(PanelError::internal)?;
    leptos_axum::redirect("/login");
    Ok(())
}

#[component]
fn AuthCard(title: &'static str, lead: &'static str, children: Children) -> impl IntoView {
    view! {
        <Title text=title />
        <div class="auth-page">
            <div class="auth-card">
                <div class="brand brand-large">
                    <span class="brand-mark">"◆"</span>
                    " bookhook"
                </div>
                <h1>{title}</h1>
                <p class="muted">{lead}</p>
                {children()}
            </div>
        </div>
    }
}

#[component]
pub fn SetupPage() -> impl IntoView {
    let action = ServerAction::<CreateFirstAdmin>::new();
    let err = Signal::derive(move || action.value().get().and_then(Result::err));
    view! {
        <AuthCard
            title="Create the first admin account"
            lead="Welcome to bookhook. This account manages every app, booking and webhook of this installation. You can add more apps later."
        >
            <ActionForm action attr:class="form">
                <label>
                    "Email" <input type="email" name="email" required autocomplete="username" autofocus />
                </label>
                <FormError err field="email" />
                <label>
                    "Password"
                    <input type="password" name="password" required minlength="10" autocomplete="new-password" />
                    <span class="hint">"At least 10 characters."</span>
                </label>
                <FormError err field="password" />
                <FormError err field="" />
                <button type="submit" class="btn primary" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Creating…" } else { "Create account" }}
                </button>
            </ActionForm>
        </AuthCard>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let err = Signal::derive(move || action.value().get().and_then(Result::err));
    view! {
        <AuthCard title="Sign in" lead="Sign in to manage your apps, bookings and webhooks.">
            <ActionForm action attr:class="form">
                <label>
                    "Email" <input type="email" name="email" required autocomplete="username" autofocus />
                </label>
                <label>
                    "Password" <input type="password" name="password" required autocomplete="current-password" />
                </label>
                <FormError err field="password" />
                <FormError err field="" />
                <button type="submit" class="btn primary" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
        </AuthCard>
    }
}
