//! The Settings page: the app's name, its API keys (created, shown once, revoked), new apps
//! and deleting an app.

use crate::domain::zone::utc_text;
#[cfg(feature = "ssr")]
use crate::error::PanelError;
use crate::error::PanelResult;
use crate::ui::layout::{use_app_slug, PanelInfo};
use crate::ui::widgets::{confirm, copy_to_clipboard, FormError, When};
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyOut {
    pub id: i64,
    pub mode: String,
    pub label: String,
    pub hint: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A key just created: the only time its whole value leaves the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreatedKey {
    pub key: String,
    pub label: String,
}

#[server(prefix = "/api", endpoint = "list_api_keys")]
pub async fn list_api_keys(app: String) -> PanelResult<Vec<ApiKeyOut>> {
    use crate::{panel, store};
    let (st, _, app) = panel::user_and_app(&app).await?;
    Ok(store::list_api_keys(&st.db, app.id)
        .await?
        .into_iter()
        .map(|k| ApiKeyOut {
            id: k.id,
            mode: k.mode,
            label: k.label,
            hint: k.key_hint,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        })
        .collect())
}

#[server(prefix = "/api", endpoint = "create_api_key")]
pub async fn create_api_key(app: String, mode: String, label: String) -> PanelResult<CreatedKey> {
    use crate::{auth, panel, store};
    let (st, user, app) = panel::user_and_app(&app).await?;
    let live = match mode.as_str() {
        "test" => false,
        "live" => true,
        _ => return Err(PanelError::field("mode", "Choose test or live.")),
    };
    let label = label.trim().to_string();
    if label.chars().count() > 100 {
        return Err(PanelError::field(
            "label",
            "Use a label of at most 100 characters.",
        ));
    }
    let label = if label.is_empty() {
        format!("{mode} key")
    } else {
        label
    };
    let key = auth::generate_api_key(live);
    let id = store::insert_api_key(&st.db, app.id, &mode, &label, &key.hash, &key.hint).await?;
    tracing::info!(app = %app.slug, key_id = id, user_id = user.id, "API key created");
    Ok(CreatedKey {
        key: key.plain,
        label,
    })
}

#[server(prefix = "/api", endpoint = "revoke_api_key")]
pub async fn revoke_api_key(app: String, id: i64) -> PanelResult<()> {
    use crate::{panel, store};
    let (st, user, app) = panel::user_and_app(&app).await?;
    if !store::revoke_api_key(&st.db, app.id, id).await? {
        return Err(PanelError::not_found("That active API key"));
    }
    tracing::info!(app = %app.slug, key_id = id, user_id = user.id, "API key revoked");
    Ok(())
}

#[server(prefix = "/api", endpoint = "create_app")]
pub async fn create_app(name: String, slug: String) -> PanelResult<String> {
    use crate::domain::app::{parse_name, parse_slug, slug_from_name};
    use crate::{panel, store};
    let (st, _) = panel::user().await?;
    let name = parse_name(&name).map_err(|m| PanelError::field("name", m))?;
    let slug = if slug.trim().is_empty() {
        slug_from_name(&name)
    } else {
        slug
    };
    let slug = parse_slug(&slug).map_err(|m| PanelError::field("slug", m))?;
    if store::create_app(&st.db, &name, &slug).await?.is_none() {
        return Err(PanelError::conflict(
            Some("slug"),
            format!("An app with the slug '{slug}' already exists; choose another."),
        ));
    }
    let path = format!("/apps/{slug}/settings");
    leptos_axum::redirect(&path);
    Ok(path)
}

#[server(prefix = "/api", endpoint = "rename_app")]
pub async fn rename_app(app: String, name: String) -> PanelResult<()> {
    use crate::domain::app::parse_name;
    use crate::{panel, store};
    let (st, _, app) = panel::user_and_app(&app).await?;
    let name = parse_name(&name).map_err(|m| PanelError::field("name", m))?;
    store::rename_app(&st.db, app.id, &name).await?;
    Ok(())
}

/// Deletes an app with everything it owns; `confirm` must repeat the slug.
#[server(prefix = "/api", endpoint = "delete_app")]
pub async fn delete_app(app: String, confirm: String) -> PanelResult<()> {
    use crate::{panel, store};
    let (st, user, app) = panel::user_and_app(&app).await?;
    if confirm.trim() != app.slug {
        return Err(PanelError::field(
            "confirm",
            format!("Type the app's slug, {}, to confirm.", app.slug),
        ));
    }
    if store::list_apps(&st.db).await?.len() <= 1 {
        return Err(PanelError::conflict(
            None,
            "This is the only app; create another before deleting it.",
        ));
    }
    store::delete_app(&st.db, app.id).await?;
    tracing::info!(app = %app.slug, user_id = user.id, "app deleted");
    leptos_axum::redirect(&panel::landing_path(&st).await?);
    Ok(())
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    let slug = use_app_slug();
    view! {
        <Title text="Settings" />
        <div class="page-head">
            <h1>"Settings"</h1>
        </div>
        {move || {
            let s = slug.get();
            view! {
                <AppDetails slug=s.clone() />
                <ApiKeys slug=s.clone() />
                <NewApp />
                <DeleteAppCard slug=s />
            }
        }}
    }
}

#[component]
fn AppDetails(slug: String) -> impl IntoView {
    let ctx = use_context::<Resource<PanelResult<PanelInfo>>>();
    let rename = ServerAction::<RenameApp>::new();
    let err = Signal::derive(move || rename.value().get().and_then(Result::err));
    Effect::new(move |_| {
        if let (Some(Ok(())), Some(ctx)) = (rename.value().get(), ctx) {
            ctx.refetch();
        }
    });
    let name = move || {
        ctx.and_then(|c| c.get())
            .and_then(Result::ok)
            .map(|c| c.current.name)
            .unwrap_or_default()
    };
    view! {
        <section class="card">
            <h2>"App"</h2>
            <p class="muted">
                "Bookings, webhooks and API keys belong to an app. This app's slug is "
                <code>{slug.clone()}</code> "."
            </p>
            <ActionForm action=rename attr:class="form inline">
                <input type="hidden" name="app" value=slug.clone() />
                <label>
                    "Name" <input type="text" name="name" required maxlength="100" prop:value=name />
                </label>
                <button type="submit" class="btn">"Save name"</button>
            </ActionForm>
            <FormError err field="name" />
            <FormError err field="" />
        </section>
    }
}

#[component]
fn ApiKeys(slug: String) -> impl IntoView {
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let s = slug.clone();
    let keys = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        move |_| list_api_keys(s.clone()),
    );
    let create_err = Signal::derive(move || create.value().get().and_then(Result::err));
    let revoke_err = Signal::derive(move || revoke.value().get().and_then(Result::err));
    let created = move || create.value().get().and_then(Result::ok);
    let copied = RwSignal::new(false);
    let slug_for_rows = slug.clone();
    view! {
        <section class="card" id="api-keys">
            <h2>"API keys"</h2>
            <p class="muted">
                "Call the API with HTTP Basic auth: an empty user name and the key as the password ("
                <code>"curl --user :test_api_key_…"</code>
                "). Test and live keys work the same; the prefix tells them apart in your code."
            </p>
            {move || {
                created()
                    .map(|k| {
                        let key = k.key.clone();
                        view! {
                            <div class="callout success" role="status">
                                <strong>"New key “" {k.label.clone()} "”. "</strong>
                                "Copy it now: it is shown only once."
                                <div class="secret-row">
                                    <code class="secret" data-testid="new-api-key">{k.key.clone()}</code>
                                    <button
                                        class="btn small"
                                        on:click=move |_| {
                                            copy_to_clipboard(&key);
                                            copied.set(true);
                                        }
                                    >
                                        {move || if copied.get() { "Copied" } else { "Copy" }}
                                    </button>
                                </div>
                            </div>
                        }
                    })
            }}
            <ActionForm action=create attr:class="form inline">
                <input type="hidden" name="app" value=slug.clone() />
                <label>
                    "Label" <input type="text" name="label" maxlength="100" placeholder="e.g. production server" />
                </label>
                <label>
                    "Kind"
                    <select name="mode">
                        <option value="test">"test"</option>
                        <option value="live">"live"</option>
                    </select>
                </label>
                <button type="submit" class="btn primary" on:click=move |_| copied.set(false)>
                    "Create API key"
                </button>
            </ActionForm>
            <FormError err=create_err field="label" />
            <FormError err=create_err field="mode" />
            <FormError err=create_err field="" />
            <FormError err=revoke_err field="" />
            <Transition fallback=|| view! { <p class="muted">"Loading keys…"</p> }>
                {move || {
                    let slug = slug_for_rows.clone();
                    Suspend::new(async move {
                        match keys.await {
                            Err(e) => view! { <p class="form-error">{e.message}</p> }.into_any(),
                            Ok(list) if list.is_empty() => {
                                view! {
                                    <p class="empty-inline">
                                        "This app has no API keys yet. Create one to call the Bookings and Webhooks API."
                                    </p>
                                }
                                    .into_any()
                            }
                            Ok(list) => view! { <KeyTable list slug revoke /> }.into_any(),
                        }
                    })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn KeyTable(
    list: Vec<ApiKeyOut>,
    slug: String,
    revoke: ServerAction<RevokeApiKey>,
) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table">
                <thead>
                    <tr>
                        <th>"Label"</th>
                        <th>"Key"</th>
                        <th>"Created"</th>
                        <th>"Last used"</th>
                        <th>"Status"</th>
                        <th><span class="sr-only">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {list
                        .into_iter()
                        .map(|k| {
                            let active = k.revoked_at.is_none();
                            let slug = slug.clone();
                            view! {
                                <tr class:revoked=!active>
                                    <td>{k.label.clone()}</td>
                                    <td>
                                        <code>{format!("{}_api_key_…{}", k.mode, k.hint)}</code>
                                    </td>
                                    <td><When ms=k.created_at /></td>
                                    <td>{match k.last_used_at {
                                        Some(t) => view! { <When ms=t /> }.into_any(),
                                        None => "never".into_any(),
                                    }}</td>
                                    <td>
                                        {match k.revoked_at {
                                            None => view! { <span class="badge ok">"active"</span> }.into_any(),
                                            Some(t) => {
                                                view! {
                                                    <span class="badge muted" title=utc_text(t)>
                                                        "revoked"
                                                    </span>
                                                }
                                                    .into_any()
                                            }
                                        }}
                                    </td>
                                    <td class="actions">
                                        {active
                                            .then(|| {
                                                view! {
                                            <ActionForm action=revoke>
                                                <input type="hidden" name="app" value=slug.clone() />
                                                <input type="hidden" name="id" value=k.id />
                                                <button
                                                    type="submit"
                                                    class="btn small danger"
                                                    on:click=move |ev| {
                                                        if !confirm(
                                                            "Revoke this key? Requests that use it will be refused at once.",
                                                        ) {
                                                            ev.prevent_default();
                                                        }
                                                    }
                                                >
                                                    "Revoke"
                                                </button>
                                            </ActionForm>
                                                }
                                            })}
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
fn NewApp() -> impl IntoView {
    let create = ServerAction::<CreateApp>::new();
    let err = Signal::derive(move || create.value().get().and_then(Result::err));
    view! {
        <section class="card" id="new-app">
            <h2>"New app"</h2>
            <p class="muted">
                "An app is a separate space with its own bookings, webhooks and API keys (for example one per customer or environment)."
            </p>
            <ActionForm action=create attr:class="form inline">
                <label>
                    "Name" <input type="text" name="name" required maxlength="100" placeholder="Yoga Studio" />
                </label>
                <label>
                    "Slug" <input type="text" name="slug" maxlength="40" placeholder="from the name" />
                </label>
                <button type="submit" class="btn">"Create app"</button>
            </ActionForm>
            <FormError err field="name" />
            <FormError err field="slug" />
            <FormError err field="" />
        </section>
    }
}

#[component]
fn DeleteAppCard(slug: String) -> impl IntoView {
    let delete = ServerAction::<DeleteApp>::new();
    let err = Signal::derive(move || delete.value().get().and_then(Result::err));
    view! {
        <section class="card danger-zone">
            <h2>"Delete this app"</h2>
            <p class="muted">
                "Deletes the app with its API keys and everything it owns. This cannot be undone. Type "
                <code>{slug.clone()}</code> " to confirm."
            </p>
            <ActionForm action=delete attr:class="form inline">
                <input type="hidden" name="app" value=slug.clone() />
                <label>
                    "Slug" <input type="text" name="confirm" required autocomplete="off" />
                </label>
                <button type="submit" class="btn danger">"Delete app"</button>
            </ActionForm>
            <FormError err field="confirm" />
            <FormError err field="" />
        </section>
    }
}
