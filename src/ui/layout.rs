//! The frame of every signed-in page: header with the app switcher and the profile dropdown
//! (Developer Mode, sign out), the navigation, and the Developer Mode gate.

use crate::error::{PanelError, PanelResult};
use crate::ui::auth::SignOut;
use leptos::prelude::*;
use leptos_router::components::{Outlet, A};
use leptos_router::hooks::{use_location, use_params_map};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppSummary {
    pub name: String,
    pub slug: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PanelInfo {
    pub email: String,
    pub developer_mode: bool,
    pub apps: Vec<AppSummary>,
    pub current: AppSummary,
}

/// Developer Mode as the pages see it; flipped at once, saved on the server.
#[derive(Clone, Copy)]
pub struct DevMode(pub RwSignal<bool>);

/// The slug of the app in the URL, for the pages under `/apps/:app`.
pub fn use_app_slug() -> Memo<String> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get("app").unwrap_or_default())
}

#[server(prefix = "/api", endpoint = "panel_context")]
pub async fn panel_context(app: String) -> PanelResult<PanelInfo> {
    use crate::{panel, store};
    let (st, user) = panel::user().await?;
    let apps: Vec<AppSummary> = store::list_apps(&st.db)
        .await?
        .into_iter()
        .map(|a| AppSummary {
            name: a.name,
            slug: a.slug,
        })
        .collect();
    let current = apps
        .iter()
        .find(|a| a.slug == app)
        .cloned()
        .ok_or_else(|| PanelError::not_found(&format!("The app '{app}'")))?;
    Ok(PanelInfo {
        email: user.email,
        developer_mode: user.developer_mode,
        apps,
        current,
    })
}

/// Saves Developer Mode for the signed-in user; returns the saved value.
#[server(prefix = "/api", endpoint = "set_developer_mode")]
pub async fn set_developer_mode(on: bool) -> PanelResult<bool> {
    use crate::{panel, store};
    let (st, user) = panel::user().await?;
    store::set_developer_mode(&st.db, user.id, on).await?;
    Ok(on)
}

#[component]
pub fn PanelLayout() -> impl IntoView {
    let slug = use_app_slug();
    let ctx = Resource::new(move || slug.get(), panel_context);
    let dev_mode = RwSignal::new(false);
    provide_context(DevMode(dev_mode));
    provide_context(ctx);
    view! {
        <Transition fallback=|| view! { <div class="loading">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match ctx.await {
                    Ok(c) => {
                        dev_mode.set(c.developer_mode);
                        view! { <PanelFrame ctx=c /> }.into_any()
                    }
                    Err(e) => view! { <PanelFailure err=e /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn PanelFailure(err: PanelError) -> impl IntoView {
    let (title, body, link, label) = if err.is_unauthorized() {
        (
            "You are signed out",
            "Your session has ended. Sign in again to continue.",
            "/login",
            "Sign in",
        )
    } else {
        ("Something is wrong", "", "/", "Go to the panel")
    };
    let msg = if body.is_empty() {
        err.message.clone()
    } else {
        body.to_string()
    };
    view! {
        <div class="auth-page">
            <div class="auth-card">
                <h1>{title}</h1>
                <p class="muted">{msg}</p>
                <a class="btn primary" href=link rel="external">
                    {label}
                </a>
            </div>
        </div>
    }
}

#[component]
fn PanelFrame(ctx: PanelInfo) -> impl IntoView {
    let slug = ctx.current.slug.clone();
    view! {
        <div class="panel">
            <header class="topbar">
                <a class="brand" href=format!("/apps/{slug}/bookings")>
                    <span class="brand-mark">"◆"</span>
                    " bookhook"
                </a>
                <AppSwitcher apps=ctx.apps.clone() current=ctx.current.clone() />
                <div class="spacer"></div>
                <ProfileMenu email=ctx.email.clone() />
            </header>
            <div class="panel-body">
                <SideNav slug=slug.clone() />
                <main class="content">
                    <Outlet />
                </main>
            </div>
        </div>
    }
}

/// The section of the current URL (`bookings`, `settings`, …), kept when switching apps.
fn current_section() -> Memo<String> {
    let loc = use_location();
    Memo::new(move |_| {
        loc.pathname
            .get()
            .split('/')
            .nth(3)
            .filter(|s| !s.is_empty())
            .unwrap_or("bookings")
            .to_string()
    })
}

/// Escape closes an open header menu and gives the focus back to the control that opened it.
fn close_on_escape(
    ev: &leptos::ev::KeyboardEvent,
    open: RwSignal<bool>,
    summary: NodeRef<leptos::html::Summary>,
) {
    if ev.key() == "Escape" && open.get_untracked() {
        open.set(false);
        if let Some(s) = summary.get_untracked() {
            let _ = s.focus();
        }
    }
}

#[component]
fn AppSwitcher(apps: Vec<AppSummary>, current: AppSummary) -> impl IntoView {
    let section = current_section();
    let open = RwSignal::new(false);
    let summary = NodeRef::<leptos::html::Summary>::new();
    let current_slug = current.slug.clone();
    view! {
        <details class="dropdown app-switcher" prop:open=move || open.get()
            on:keydown=move |ev| close_on_escape(&ev, open, summary)>
            // The accessible name holds the visible text (WCAG 2.5.3, "label in name").
            <summary node_ref=summary
                aria-label=format!("Switch app: {} {}", current.name, current.slug)
                on:click=move |ev| {
                    ev.prevent_default();
                    open.update(|o| *o = !*o);
                }
            >
                <span class="app-name">{current.name.clone()}</span>
                " "
                <span class="app-slug">{current.slug.clone()}</span>
            </summary>
            <div class="menu">
                <div class="menu-title">"Apps"</div>
                {apps
                    .into_iter()
                    .map(|a| {
                        let is_current = a.slug == current_slug;
                        let slug = a.slug.clone();
                        view! {
                            <a
                                class="menu-item"
                                class:current=is_current
                                href=move || format!("/apps/{}/{}", slug, section.get())
                                on:click=move |_| open.set(false)
                            >
                                {a.name}
                                <span class="app-slug">{a.slug.clone()}</span>
                            </a>
                        }
                    })
                    .collect_view()}
                <a
                    class="menu-item new"
                    href=format!("/apps/{current_slug}/settings#new-app")
                    on:click=move |_| open.set(false)
                >
                    "+ New app"
                </a>
            </div>
        </details>
    }
}

#[component]
fn ProfileMenu(email: String) -> impl IntoView {
    let DevMode(dev) = expect_context::<DevMode>();
    let toggle = ServerAction::<SetDeveloperMode>::new();
    let sign_out = ServerAction::<SignOut>::new();
    let open = RwSignal::new(false);
    // The switch moves at once; if saving fails it moves back and says so.
    let failed = RwSignal::new(None::<String>);
    Effect::new(move |_| match toggle.value().get() {
        Some(Ok(v)) => {
            failed.set(None);
            dev.set(v);
        }
        Some(Err(e)) => {
            dev.update(|d| *d = !*d);
            failed.set(Some(e.message));
        }
        None => {}
    });
    let initial = email.chars().next().unwrap_or('?').to_ascii_uppercase();
    let summary = NodeRef::<leptos::html::Summary>::new();
    view! {
        <details class="dropdown profile" prop:open=move || open.get()
            on:keydown=move |ev| close_on_escape(&ev, open, summary)>
            <summary node_ref=summary
                aria-label=format!("Profile: {email}")
                on:click=move |ev| {
                    ev.prevent_default();
                    open.update(|o| *o = !*o);
                }
            >
                // The initial is drawn by CSS, so the visible text is the email, as the name says.
                <span class="avatar" aria-hidden="true" data-initial=initial.to_string()></span>
                <span class="profile-email">{email.clone()}</span>
            </summary>
            <div class="menu menu-right">
                <div class="menu-title">"Signed in as"</div>
                <div class="menu-email">{email.clone()}</div>
                <label class="switch">
                    <input
                        type="checkbox"
                        role="switch"
                        name="developer_mode"
                        prop:checked=move || dev.get()
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            dev.set(on);
                            toggle.dispatch(SetDeveloperMode { on });
                        }
                    />
                    <span class="switch-track" aria-hidden="true"></span>
                    <span>"Developer Mode"</span>
                </label>
                <p class="hint">"Shows the Webhooks tab and the Delivery log."</p>
                {move || failed.get().map(|m| view! { <p class="form-error">{m}</p> })}
                <ActionForm action=sign_out>
                    <button type="submit" class="menu-item danger">
                        "Sign out"
                    </button>
                </ActionForm>
            </div>
        </details>
    }
}

#[component]
fn SideNav(slug: String) -> impl IntoView {
    let DevMode(dev) = expect_context::<DevMode>();
    let href = move |section: &str| format!("/apps/{slug}/{section}");
    let (webhooks, deliveries, inspector, reference) = (
        href("webhooks"),
        href("deliveries"),
        href("inspector"),
        href("reference"),
    );
    view! {
        <nav class="sidenav" aria-label="Sections">
            <A href=href("bookings")>"Bookings"</A>
            <Show when=move || dev.get()>
                <A href=webhooks.clone()>"Webhooks"</A>
                <A href=deliveries.clone()>"Delivery log"</A>
                <A href=inspector.clone()>"Inspector"</A>
                // Loaded as a document of its own: its policy allows RapiDoc's inline styles,
                // and no other page's does (see `security::allows_inline_styles`).
                <A href=reference.clone() attr:rel="external">"API reference"</A>
            </Show>
            <A href=href("settings")>"Settings"</A>
        </nav>
    }
}

/// Shows its children only with Developer Mode on; otherwise says how to turn it on.
#[component]
pub fn DevModeGate(what: &'static str, children: ChildrenFn) -> impl IntoView {
    let DevMode(dev) = expect_context::<DevMode>();
    let toggle = ServerAction::<SetDeveloperMode>::new();
    Effect::new(move |_| {
        if let Some(Ok(v)) = toggle.value().get() {
            dev.set(v);
        }
    });
    view! {
        <Show
            when=move || dev.get()
            fallback=move || {
                view! {
                    <div class="gate">
                        <h1>{what}</h1>
                        <div class="empty-state">
                            <h2>"Developer Mode is off"</h2>
                            <p>
                                {what}
                                " is a developer tool, so it is shown only with Developer Mode on. "
                                "Open the profile menu (your email, top right) and switch "
                                <strong>"Developer Mode"</strong>
                                " on: the Webhooks tab and the Delivery log appear in the navigation. "
                                "The setting is saved to your account."
                            </p>
                            <button
                                class="btn primary"
                                on:click=move |_| {
                                    toggle.dispatch(SetDeveloperMode { on: true });
                                }
                            >
                                "Turn on Developer Mode"
                            </button>
                        </div>
                    </div>
                }
            }
        >
            {children()}
        </Show>
    }
}
